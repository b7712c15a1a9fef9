/**
 * Token verification by TokenReview, with istiod's acceptance rules (kubeauth/kube_jwt.go,
 * security/pkg/k8s/tokenreview/k8sauthn.go; ISTIO-CONTRACT.md §4.3): no error, authenticated,
 * member of `system:serviceaccounts`, username `system:serviceaccount:<ns>:<sa>`; pod name and
 * UID from `user.extra` when the token is pod-bound.
 *
 * @module
 */
import { decodeJwt } from 'jose';
import { UnauthenticatedError } from '../errors.js';
import type { TokenReviewApi, TokenReviewStatus } from '../kube/index.js';
import type { ServiceAccountToken, TokenVerifier } from './caller.js';

const SERVICE_ACCOUNTS_GROUP = 'system:serviceaccounts';
const EXTRA_POD_NAME = 'authentication.kubernetes.io/pod-name';
const EXTRA_POD_UID = 'authentication.kubernetes.io/pod-uid';

/** Verifies tokens with the API server. */
export class TokenReviewVerifier implements TokenVerifier {
  readonly method = 'token-review' as const;
  readonly #api: TokenReviewApi;
  readonly #audiences: readonly string[];

  /**
   * @param audiences Sent in the review (Istio's `TOKEN_AUDIENCES`, default `istio-ca`): a token
   * minted for another audience is refused by the API server itself.
   */
  constructor(api: TokenReviewApi, audiences: readonly string[]) {
    this.#api = api;
    this.#audiences = audiences;
  }

  async verify(token: string, signal: AbortSignal): Promise<ServiceAccountToken> {
    const status = await this.#api.review(token, this.#audiences, signal);
    return { ...serviceAccountFromReview(status), expiresAt: tokenExpiry(token) };
  }
}

/**
 * Applies the acceptance rules to a TokenReview status.
 *
 * @throws {@link UnauthenticatedError} naming the failed rule (for logs; clients see it opaque).
 */
export function serviceAccountFromReview(
  status: TokenReviewStatus,
): Omit<ServiceAccountToken, 'expiresAt'> {
  if (status.error !== undefined) {
    throw new UnauthenticatedError(
      'ERR_AUTH_TOKEN_INVALID',
      `TokenReview refused the token: ${status.error}`,
    );
  }
  if (!status.authenticated) {
    throw new UnauthenticatedError('ERR_AUTH_TOKEN_INVALID', 'TokenReview: not authenticated');
  }
  if (!status.groups.includes(SERVICE_ACCOUNTS_GROUP)) {
    throw new UnauthenticatedError(
      'ERR_AUTH_TOKEN_NOT_SERVICE_ACCOUNT',
      `TokenReview: the user is not in the ${SERVICE_ACCOUNTS_GROUP} group`,
    );
  }
  const parts = (status.username ?? '').split(':');
  const [system, kind, namespace, serviceAccount] = parts;
  if (
    parts.length !== 4 ||
    system !== 'system' ||
    kind !== 'serviceaccount' ||
    !namespace ||
    !serviceAccount
  ) {
    throw new UnauthenticatedError(
      'ERR_AUTH_TOKEN_NOT_SERVICE_ACCOUNT',
      'TokenReview: username is not system:serviceaccount:<namespace>:<name>',
    );
  }
  return {
    namespace,
    serviceAccount,
    podName: status.extra[EXTRA_POD_NAME]?.[0],
    podUid: status.extra[EXTRA_POD_UID]?.[0],
  };
}

/**
 * The token's `exp`, read without verification: it only ever shortens how long a verified
 * result is cached, so an attacker gains nothing by lying in it.
 */
export function tokenExpiry(token: string): Date | undefined {
  try {
    const { exp } = decodeJwt(token);
    return typeof exp === 'number' ? new Date(exp * 1000) : undefined;
  } catch {
    return undefined;
  }
}

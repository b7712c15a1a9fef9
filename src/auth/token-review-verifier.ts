/**
 * Token verification by TokenReview, with istiod's acceptance rules (kubeauth/kube_jwt.go,
 * security/pkg/k8s/tokenreview/k8sauthn.go; ISTIO-CONTRACT.md §4.3): no error, authenticated,
 * member of `system:serviceaccounts`, username `system:serviceaccount:<ns>:<sa>`; pod name and
 * UID from `user.extra` when the token is pod-bound.
 *
 * @module
 */
import { decodeJwt, type JWTPayload } from 'jose';
import { systemClock, type Clock } from '../clock.js';
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
  readonly #clock: Clock;

  /**
   * @param audiences Sent in the review (Istio's `TOKEN_AUDIENCES`, default `istio-ca`): a token
   * minted for another audience is refused by the API server itself.
   */
  constructor(api: TokenReviewApi, audiences: readonly string[], clock: Clock = systemClock) {
    this.#api = api;
    this.#audiences = audiences;
    this.#clock = clock;
  }

  async verify(token: string, signal: AbortSignal): Promise<ServiceAccountToken> {
    const expiresAt = this.#precheck(token);
    const status = await this.#api.review(token, this.#audiences, signal);
    // Kubernetes' TokenReview API: a client that sets spec.audiences must check that the answer
    // names one of them, or it cannot tell an audience-aware authenticator from one that ignored
    // the audiences.
    if (!status.audiences.some((audience) => this.#audiences.includes(audience))) {
      throw new UnauthenticatedError(
        'ERR_AUTH_TOKEN_INVALID',
        'TokenReview answer names none of the requested audiences',
      );
    }
    return { ...serviceAccountFromReview(status), expiresAt };
  }

  /**
   * Refuses, without asking the API server, what it would refuse anyway: a token that is not a
   * JWT, has expired, or names none of our audiences. Unverified reading, so it can only ever
   * refuse, never accept; it keeps floods of junk tokens away from the API server.
   *
   * @returns the token's `exp`, which bounds how long a verified result may be cached.
   */
  #precheck(token: string): Date | undefined {
    let claims: JWTPayload;
    try {
      claims = decodeJwt(token);
    } catch {
      throw new UnauthenticatedError('ERR_AUTH_TOKEN_INVALID', 'bearer token is not a JWT');
    }
    if (typeof claims.exp === 'number' && claims.exp * 1000 < this.#clock.now().getTime()) {
      throw new UnauthenticatedError('ERR_AUTH_TOKEN_INVALID', 'bearer token has expired');
    }
    const audiences = typeof claims.aud === 'string' ? [claims.aud] : (claims.aud ?? []);
    if (!audiences.some((audience) => this.#audiences.includes(audience))) {
      throw new UnauthenticatedError(
        'ERR_AUTH_TOKEN_INVALID',
        'bearer token names none of the accepted audiences',
      );
    }
    return typeof claims.exp === 'number' ? new Date(claims.exp * 1000) : undefined;
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

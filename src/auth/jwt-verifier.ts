/**
 * Local verification of Kubernetes service-account tokens against the cluster's signing keys
 * (its OIDC JWKS) with jose: signature, issuer, audience, expiry and the `kubernetes.io` claims.
 * No API call per request, at the price of not noticing a deleted pod before the token expires;
 * the just-in-time pod check (GOVERNANCE.md §3) closes that gap where it matters.
 *
 * @module
 */
import { stat, readFile } from 'node:fs/promises';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors as joseErrors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import type { Clock } from '../clock.js';
import { UnauthenticatedError, UnavailableError } from '../errors.js';
import type { ServiceAccountToken, TokenVerifier } from './caller.js';

/** Where the JWKS comes from. */
export type JwksSource =
  { readonly kind: 'file'; readonly path: string } | { readonly kind: 'url'; readonly url: URL };

/** Options of {@link JwtVerifier}. */
export interface JwtVerifierOptions {
  readonly jwks: JwksSource;
  /** Expected `iss`; the cluster's `--service-account-issuer`. */
  readonly issuer: string;
  /** Accepted audiences; the token's `aud` must contain one. */
  readonly audiences: readonly string[];
  /** Tolerated clock skew, seconds. */
  readonly clockToleranceSeconds: number;
}

/** Signature algorithms Kubernetes uses for service-account tokens (RS256, ES256, ...). */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'PS256'];

/**
 * jose errors about the key set rather than the token: a fetch timeout, a malformed set, and the
 * bare `JOSEError` (`ERR_JOSE_GENERIC`) it throws for a non-200 or non-JSON JWKS response.
 */
const KEY_SET_FAILURES: ReadonlySet<string> = new Set([
  'ERR_JWKS_TIMEOUT',
  'ERR_JWKS_INVALID',
  'ERR_JOSE_GENERIC',
]);

/** Verifies Kubernetes service-account JWTs locally. */
export class JwtVerifier implements TokenVerifier {
  readonly method = 'jwt' as const;
  readonly #options: JwtVerifierOptions;
  readonly #clock: Clock;
  readonly #keys: JWTVerifyGetKey;

  constructor(options: JwtVerifierOptions, clock: Clock) {
    this.#options = options;
    this.#clock = clock;
    this.#keys =
      options.jwks.kind === 'url'
        ? createRemoteJWKSet(options.jwks.url, { timeoutDuration: 5000, cooldownDuration: 30_000 })
        : fileKeySet(options.jwks.path);
  }

  async verify(token: string): Promise<ServiceAccountToken> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.#keys, {
        issuer: this.#options.issuer,
        audience: [...this.#options.audiences],
        algorithms: ALGORITHMS,
        requiredClaims: ['exp', 'sub'],
        clockTolerance: this.#options.clockToleranceSeconds,
        currentDate: this.#clock.now(),
      }));
    } catch (error) {
      // Only jose's verdicts on the token are refusals. Anything else (file system, fetch, JSON)
      // and jose's own key-set failures mean validity cannot be decided now.
      if (!(error instanceof joseErrors.JOSEError) || KEY_SET_FAILURES.has(error.code)) {
        throw new UnavailableError('ERR_TOKEN_REVIEW_UNAVAILABLE', 'the JWKS could not be read', {
          cause: error,
        });
      }
      throw new UnauthenticatedError('ERR_AUTH_TOKEN_INVALID', `JWT rejected (${error.code})`);
    }
    return serviceAccountFromClaims(payload);
  }
}

/**
 * Reads the identity from a verified payload. Kubernetes writes both `sub`
 * (`system:serviceaccount:<ns>:<sa>`) and the `kubernetes.io` claim; they must agree.
 *
 * @throws {@link UnauthenticatedError} `ERR_AUTH_TOKEN_NOT_SERVICE_ACCOUNT`.
 */
export function serviceAccountFromClaims(payload: JWTPayload): ServiceAccountToken {
  const notServiceAccount = (why: string): UnauthenticatedError =>
    new UnauthenticatedError('ERR_AUTH_TOKEN_NOT_SERVICE_ACCOUNT', `JWT ${why}`);
  const kube = payload['kubernetes.io'];
  if (typeof kube !== 'object' || kube === null)
    throw notServiceAccount('has no kubernetes.io claim');
  const claims = kube as {
    namespace?: unknown;
    serviceaccount?: { name?: unknown };
    pod?: { name?: unknown; uid?: unknown };
  };
  const namespace = claims.namespace;
  const serviceAccount = claims.serviceaccount?.name;
  if (
    typeof namespace !== 'string' ||
    typeof serviceAccount !== 'string' ||
    !namespace ||
    !serviceAccount
  ) {
    throw notServiceAccount('kubernetes.io claim lacks namespace or serviceaccount.name');
  }
  if (payload.sub !== `system:serviceaccount:${namespace}:${serviceAccount}`) {
    throw notServiceAccount('sub does not match its kubernetes.io claim');
  }
  const podName = claims.pod?.name;
  const podUid = claims.pod?.uid;
  return {
    namespace,
    serviceAccount,
    podName: typeof podName === 'string' ? podName : undefined,
    podUid: typeof podUid === 'string' ? podUid : undefined,
    expiresAt: typeof payload.exp === 'number' ? new Date(payload.exp * 1000) : undefined,
  };
}

/**
 * A JWKS file that is re-read when it changes (the cluster's keys rotate; a mounted ConfigMap is
 * updated in place). Checked at most every few seconds, and at once when a token names a key
 * the current set lacks.
 */
function fileKeySet(path: string): JWTVerifyGetKey {
  const RECHECK_MS = 5000;
  let current: { mtimeMs: number; keys: JWTVerifyGetKey } | undefined;
  let checkedAt = 0;
  const load = async (force: boolean): Promise<JWTVerifyGetKey> => {
    const now = performance.now();
    if (current && !force && now - checkedAt < RECHECK_MS) return current.keys;
    checkedAt = now;
    const { mtimeMs } = await stat(path);
    if (current?.mtimeMs !== mtimeMs) {
      current = {
        mtimeMs,
        keys: createLocalJWKSet(
          JSON.parse(await readFile(path, 'utf8')) as Parameters<typeof createLocalJWKSet>[0],
        ),
      };
    }
    return current.keys;
  };
  return async (header, token) => {
    try {
      return await (
        await load(false)
      )(header, token);
    } catch (error) {
      if (error instanceof joseErrors.JWKSNoMatchingKey) return (await load(true))(header, token);
      throw error;
    }
  };
}

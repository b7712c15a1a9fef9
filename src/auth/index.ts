/**
 * Authentication: who is calling, from the bearer token and the `clusterid` metadata.
 *
 * @module
 */
export type {
  AuthenticationMethod,
  Authenticator,
  Caller,
  RequestCredentials,
  ServiceAccountToken,
  TokenVerifier,
} from './caller.js';
export { MAX_TOKEN_BYTES, extractBearerToken } from './bearer.js';
export type { ClusterEntry } from './clusters.js';
export { ClusterResolver } from './clusters.js';
export { TokenReviewVerifier, serviceAccountFromReview } from './token-review-verifier.js';
export type { JwksSource, JwtVerifierOptions } from './jwt-verifier.js';
export { JwtVerifier, serviceAccountFromClaims } from './jwt-verifier.js';
export type { TokenCacheOptions, TokenCacheOutcome } from './token-cache.js';
export { CachingTokenVerifier } from './token-cache.js';
export { KubeJwtAuthenticator } from './kube-jwt-authenticator.js';
export type { ImpersonationAuthorizer } from './node-authorizer.js';
export { NodeAuthorizer } from './node-authorizer.js';

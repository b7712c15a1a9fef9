/**
 * Who is calling: the types that authentication produces and the rest of the request consumes.
 *
 * @module
 */
import type { SpiffeId } from '../identity/index.js';

/** The credentials a request carries, as read from gRPC metadata by the server adapter. */
export interface RequestCredentials {
  /** Every `authorization` metadata value, in order. */
  readonly authorization: readonly string[];
  /** Every `clusterid` metadata value (istio-agent sends `ClusterID`; gRPC lower-cases keys). */
  readonly clusterId: readonly string[];
}

/** The facts a verified Kubernetes service-account token establishes. */
export interface ServiceAccountToken {
  readonly namespace: string;
  readonly serviceAccount: string;
  /** Present for pod-bound (projected) tokens: `authentication.kubernetes.io/pod-name`. */
  readonly podName: string | undefined;
  /** Present for pod-bound tokens: `authentication.kubernetes.io/pod-uid`. */
  readonly podUid: string | undefined;
  /** The token's `exp`, when known; caches never keep a result past it. */
  readonly expiresAt: Date | undefined;
}

/** How a caller was authenticated; a log field and metric label. */
export type AuthenticationMethod = 'token-review' | 'jwt';

/** An authenticated caller. */
export interface Caller extends ServiceAccountToken {
  /** The caller's own identity, `spiffe://<trust-domain>/ns/<ns>/sa/<sa>`. */
  readonly identity: SpiffeId;
  /** The cluster whose API server vouched for the token. */
  readonly clusterId: string;
  readonly method: AuthenticationMethod;
}

/** Authenticates the caller of one request. */
export interface Authenticator {
  /**
   * @throws `UnauthenticatedError` when the caller cannot be authenticated,
   * `UnavailableError` when the authority that would decide cannot be reached.
   */
  authenticate(credentials: RequestCredentials, signal: AbortSignal): Promise<Caller>;
}

/** Checks a bearer token and says which service account it belongs to. */
export interface TokenVerifier {
  /** A metric label naming the mechanism. */
  readonly method: AuthenticationMethod;
  /**
   * @throws `UnauthenticatedError` for a token that is not valid,
   * `UnavailableError` when validity cannot be decided now.
   */
  verify(token: string, signal: AbortSignal): Promise<ServiceAccountToken>;
}

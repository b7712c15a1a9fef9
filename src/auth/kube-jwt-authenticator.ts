/**
 * Authentication of Istio proxies by their Kubernetes service-account token, after istiod's
 * KubeJWTAuthenticator: bearer token from `authorization`, cluster from `clusterid`, token checked
 * by that cluster's verifier, identity `spiffe://<trust-domain>/ns/<ns>/sa/<sa>`.
 *
 * @module
 */
import { UnauthenticatedError } from '../errors.js';
import { workloadSpiffeId } from '../identity/index.js';
import { extractBearerToken } from './bearer.js';
import type { Authenticator, Caller, RequestCredentials, TokenVerifier } from './caller.js';
import type { ClusterResolver } from './clusters.js';

/** Authenticates callers by service-account token. */
export class KubeJwtAuthenticator implements Authenticator {
  readonly #trustDomain: string;
  readonly #clusters: ClusterResolver<TokenVerifier>;

  constructor(trustDomain: string, clusters: ClusterResolver<TokenVerifier>) {
    this.#trustDomain = trustDomain;
    this.#clusters = clusters;
  }

  async authenticate(credentials: RequestCredentials, signal: AbortSignal): Promise<Caller> {
    const token = extractBearerToken(credentials.authorization);
    const cluster = this.#clusters.resolve(credentials.clusterId);
    const account = await cluster.value.verify(token, signal);
    let identity;
    try {
      identity = workloadSpiffeId(this.#trustDomain, account.namespace, account.serviceAccount);
    } catch (error) {
      throw new UnauthenticatedError(
        'ERR_AUTH_TOKEN_NOT_SERVICE_ACCOUNT',
        'token names a namespace or service account that is not a valid name',
        { cause: error },
      );
    }
    return { ...account, identity, clusterId: cluster.id, method: cluster.value.method };
  }
}

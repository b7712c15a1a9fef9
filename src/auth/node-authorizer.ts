/**
 * Ambient mode: ztunnel, the node proxy, asks for certificates on behalf of the pods of its node
 * (`metadata.ImpersonatedIdentity`). istiod's ClusterNodeAuthorizer rules (node_auth.go;
 * ISTIO-CONTRACT.md §4.5, checklist 18), made stricter:
 * - the caller's service account is one of the trusted node accounts (default istio-system/ztunnel);
 * - its token is bound to a pod, and that pod exists with the token's UID and service account;
 * - the requested identity is in our trust domain (checked by the service; istiod does not);
 * - a pod of the requested service account, not finished, is scheduled on the caller's node;
 * - all of this in the caller's own cluster.
 * Every refusal is UNAUTHENTICATED with an opaque message; the reason goes to the log.
 *
 * @module
 */
import { UnauthenticatedError, UnavailableError } from '../errors.js';
import type { SpiffeId } from '../identity/index.js';
import type { PodIndex } from '../kube/index.js';
import type { Caller } from './caller.js';

/**
 * Decides whether a caller (a node proxy such as ztunnel) may obtain a certificate for another
 * identity.
 */
export interface ImpersonationAuthorizer {
  /**
   * @throws `UnauthenticatedError` `ERR_IMPERSONATION_DENIED`, or `UnavailableError` while the
   * pod cache is not loaded yet.
   */
  authorize(caller: Caller, requested: SpiffeId, signal: AbortSignal): Promise<void>;
}

const CLIENT_MESSAGE = 'impersonation not authorized';

/** The node authorizer over per-cluster pod indexes. */
export class NodeAuthorizer implements ImpersonationAuthorizer {
  readonly #trusted: ReadonlySet<string>;
  readonly #podIndexes: ReadonlyMap<string, PodIndex>;

  /**
   * @param trustedAccounts `namespace/serviceAccount` of the node proxies.
   * @param podIndexes Pod index of each cluster, by cluster ID.
   */
  constructor(trustedAccounts: readonly string[], podIndexes: ReadonlyMap<string, PodIndex>) {
    this.#trusted = new Set(trustedAccounts);
    this.#podIndexes = podIndexes;
  }

  authorize(caller: Caller, requested: SpiffeId): Promise<void> {
    const pods = this.#podIndexes.get(caller.clusterId);
    if (pods !== undefined && !pods.synced) {
      return Promise.reject(
        new UnavailableError(
          'ERR_CA_NOT_READY',
          `pods of cluster ${caller.clusterId} not loaded yet`,
        ),
      );
    }
    const reason = this.#refusal(caller, requested, pods);
    if (reason === undefined) return Promise.resolve();
    return Promise.reject(
      new UnauthenticatedError('ERR_IMPERSONATION_DENIED', reason, {
        clientMessage: CLIENT_MESSAGE,
      }),
    );
  }

  /** Why `caller` may not impersonate `requested`, or undefined when it may. */
  #refusal(caller: Caller, requested: SpiffeId, pods: PodIndex | undefined): string | undefined {
    const account = `${caller.namespace}/${caller.serviceAccount}`;
    if (!this.#trusted.has(account)) return `caller ${account} is not allowed to impersonate`;
    if (pods === undefined) return `no node authorizer for cluster ${caller.clusterId}`;
    if (caller.podName === undefined || caller.podUid === undefined) {
      return `caller ${account} presented a token that is not bound to a pod`;
    }
    const podKey = `${caller.namespace}/${caller.podName}`;
    const pod = pods.pod(caller.namespace, caller.podName);
    if (pod === undefined) return `pod ${podKey} not found`;
    if (pod.uid !== caller.podUid) return `pod ${podKey} found, but UID does not match`;
    if (pod.serviceAccount !== caller.serviceAccount) {
      return `pod ${podKey} found, but ServiceAccount does not match`;
    }
    if (pod.nodeName === '') return `caller pod ${podKey} is not scheduled on a node`;
    if (!pods.hasPodOnNode(requested.namespace, requested.serviceAccount, pod.nodeName)) {
      return `no instances of ${requested.namespace}/${requested.serviceAccount} found on node ${pod.nodeName}`;
    }
    return undefined;
  }
}

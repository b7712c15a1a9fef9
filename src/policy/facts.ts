/**
 * The facts a policy decision reads about a cluster, through small ports declared here and
 * implemented in `kube/` (informer caches, with one bounded GET on a miss where a miss may just
 * mean "too new"), so that `policy/` never imports the Kubernetes client. Every lookup is a map
 * lookup in the common case; each port is per cluster, chosen by the caller's cluster ID.
 *
 * A lookup that cannot answer now (its cache not loaded yet, the API server unreachable on a
 * miss) throws an `UnavailableError`: the client retries, and nothing is denied on a guess.
 *
 * @module
 */
import type { Labels } from './label-match.js';

/** What a policy needs to know about a pod. */
export interface PodFacts {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly serviceAccount: string;
  /** Empty when not scheduled. */
  readonly nodeName: string;
  /** `Pending`, `Running`, `Succeeded`, `Failed`, `Unknown` (or empty). */
  readonly phase: string;
  /** True once the pod has a deletionTimestamp. */
  readonly terminating: boolean;
}

/** Pods of one cluster. */
export interface PodLookup {
  /**
   * The pod `namespace/name` as it is now, or undefined when it does not exist (or has finished
   * and left the watch, which leaves finished pods out). Answered from the
   * watch cache; a pod the cache does not know is confirmed with one bounded, rate-limited GET
   * (a pod created a moment ago may not have reached the cache yet), unless the cache saw the
   * pod with `uid` (the UID the caller's token names) deleted.
   *
   * @throws `UnavailableError` when the answer cannot be known now.
   */
  pod(
    namespace: string,
    name: string,
    uid: string,
    signal: AbortSignal,
  ): Promise<PodFacts | undefined>;
  /**
   * The pods of `namespace/serviceAccount` scheduled on `nodeName` (ztunnel's impersonation),
   * from the cache; confirmed with one bounded, rate-limited list when the cache has none.
   *
   * @throws `UnavailableError` when the answer cannot be known now.
   */
  podsOnNode(
    namespace: string,
    serviceAccount: string,
    nodeName: string,
    signal: AbortSignal,
  ): Promise<readonly PodFacts[]>;
}

/** What a policy needs to know about a namespace. */
export interface NamespaceFacts {
  readonly name: string;
  readonly labels: Labels;
}

/** Namespaces of one cluster. */
export interface NamespaceLookup {
  /**
   * The namespace, or undefined when it does not exist (cache, then one bounded GET on a miss).
   *
   * @throws `UnavailableError` when the answer cannot be known now.
   */
  namespace(name: string, signal: AbortSignal): Promise<NamespaceFacts | undefined>;
}

/** A kind of Kubernetes object a policy can require. */
export interface ObjectKind {
  /** `networking.k8s.io/v1`, or `v1` for the core group. */
  readonly apiVersion: string;
  readonly kind: string;
}

/** `networking.k8s.io/v1/Ingress`: a stable key for maps and messages. */
export function objectKindKey(kind: ObjectKind): string {
  return `${kind.apiVersion}/${kind.kind}`;
}

/** What a policy needs to know about a required object. */
export interface ObjectFacts {
  readonly name: string;
  readonly labels: Labels;
}

/** The objects of a kind in a namespace, or why that kind cannot be known. */
export type ObjectListing =
  | { readonly served: true; readonly objects: readonly ObjectFacts[] }
  /** The cluster does not serve this kind (no such API or CRD), or it is cluster-scoped. */
  | { readonly served: false; readonly reason: string };

/** Objects of one cluster, of the kinds the policies in force name. */
export interface ObjectLookup {
  /**
   * The objects of `kind` in `namespace`, from the watch of that kind.
   *
   * @throws `UnavailableError` while the kind's watch has not loaded yet.
   */
  objects(kind: ObjectKind, namespace: string, signal: AbortSignal): Promise<ObjectListing>;
}

/**
 * Told which kinds the policies in force require, whenever that changes, so that only those are
 * watched (the kube implementation of {@link ObjectLookup} implements it too).
 */
export interface RequiredKindsWatch {
  watchKinds(kinds: readonly ObjectKind[]): void;
}

/** Everything a decision may read about one cluster. */
export interface ClusterFacts {
  readonly pods: PodLookup;
  readonly namespaces: NamespaceLookup;
  readonly objects: ObjectLookup;
}

/** The facts of each cluster meshca serves, by cluster ID. */
export interface FactSource {
  /** Undefined when meshca has no connection to that cluster (development mode). */
  cluster(clusterId: string): ClusterFacts | undefined;
}

/** A {@link FactSource} over a fixed map (one entry per configured cluster; none in dev mode). */
export class ClusterFactsMap implements FactSource {
  readonly #clusters: ReadonlyMap<string, ClusterFacts>;

  constructor(clusters: ReadonlyMap<string, ClusterFacts> = new Map()) {
    this.#clusters = clusters;
  }

  cluster(clusterId: string): ClusterFacts | undefined {
    return this.#clusters.get(clusterId);
  }
}

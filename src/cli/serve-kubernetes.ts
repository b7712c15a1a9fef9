/**
 * Wiring of `meshca serve`: the Kubernetes side — pod caches and the node authorizer, API
 * reachability, the controllers that write (trust bundle, istiod's certificate) and the
 * leadership that decides who writes.
 *
 * @module
 */
import { NodeAuthorizer, type ImpersonationAuthorizer } from '../auth/index.js';
import type { CertificateAuthority } from '../ca/index.js';
import type { Clock } from '../clock.js';
import type { Config, KubernetesConfig } from '../config/index.js';
import { IstiodCertificateController } from '../istiod/index.js';
import {
  ApiReachability,
  DEFAULT_REACHABILITY,
  LeaseElector,
  PodIndex,
  type ApiReachabilityOptions,
} from '../kube/index.js';
import type { Logger } from '../logger.js';
import type { CaMetrics } from '../metrics/index.js';
import type { LeadershipFollower, Part, PartRunner } from '../runtime/index.js';
import type { PodDirectory } from '../server/index.js';
import { TrustBundleDistributor } from '../trust/index.js';
import type { ClusterRuntime } from './serve-clusters.js';

/** Shared collaborators. */
interface Deps {
  readonly logger: Logger;
  readonly metrics: CaMetrics;
  readonly clock: Clock;
}

/** The pod caches of every cluster, and what is built on them. */
export interface PodCaches {
  /** By cluster ID; the local cluster's is named `pods`. */
  readonly indexes: ReadonlyMap<string, PodIndex>;
  /** What the issuance path reads (the node of a request's pod). */
  readonly directory: PodDirectory;
  /** Ambient impersonation, when `trustedNodeAccounts` is not empty. */
  readonly authorizer: ImpersonationAuthorizer | undefined;
}

/**
 * One pod watch per cluster, shared by everything that needs pods: the ambient node authorizer,
 * the policy's live-workload rule and the ledger's retirement of deleted workloads. Each pod is
 * reduced to a few fields (`kube/pod-index.ts`). Absent without a cluster.
 */
export function podCaches(
  kubernetes: KubernetesConfig | undefined,
  clusters: readonly ClusterRuntime[],
  runner: PartRunner,
  logger: Logger,
): PodCaches | undefined {
  if (kubernetes === undefined || clusters.length === 0) return undefined;
  const indexes = new Map<string, PodIndex>();
  for (const [position, cluster] of clusters.entries()) {
    const index = new PodIndex(
      cluster.client,
      { requestTimeoutMs: kubernetes.controllers.requestTimeoutMs },
      logger.child({ cluster: cluster.id }),
      position === 0 ? undefined : cluster.id,
    );
    indexes.set(cluster.id, runner.add(index));
  }
  let authorizer: ImpersonationAuthorizer | undefined;
  if (kubernetes.trustedNodeAccounts.length > 0) {
    authorizer = new NodeAuthorizer(kubernetes.trustedNodeAccounts, indexes);
    logger.info(
      { trustedNodeAccounts: kubernetes.trustedNodeAccounts },
      'node impersonation enabled',
    );
  }
  return {
    indexes,
    authorizer,
    directory: {
      pod: (clusterId, namespace, name) => indexes.get(clusterId)?.pod(namespace, name),
      podsOnNode: (clusterId, namespace, serviceAccount, nodeName) =>
        indexes.get(clusterId)?.podsOnNode(namespace, serviceAccount, nodeName) ?? [],
    },
  };
}

/** The writers of the cluster side, each a part; they write only while this replica leads. */
export function controllers(
  config: Config,
  clusters: readonly ClusterRuntime[],
  authority: CertificateAuthority,
  runner: PartRunner,
  deps: Deps & { readonly reachability?: ApiReachabilityOptions },
): LeadershipFollower[] {
  const { kubernetes } = config;
  const [local] = clusters;
  if (kubernetes === undefined || local === undefined) return [];
  for (const [position, cluster] of clusters.entries()) {
    runner.add(
      new ApiReachability(cluster.client, deps.reachability ?? DEFAULT_REACHABILITY, {
        logger: deps.logger.child({ component: 'reachability', cluster: cluster.id }),
        onChange: (reachable) => {
          deps.metrics.kubeApiReachable(cluster.id, reachable);
        },
        ...(position === 0 ? {} : { clusterId: cluster.id }),
      }),
    );
  }
  const followers: LeadershipFollower[] = [];
  // Proxies of every cluster verify meshca with the bundle: it goes into each cluster, written by
  // this cluster's leader.
  for (const [position, cluster] of (kubernetes.trustBundle.enabled ? clusters : []).entries()) {
    const distributor = new TrustBundleDistributor(
      cluster.client,
      authority,
      {
        configMapName: kubernetes.trustBundle.configMapName,
        namespaceSelector: kubernetes.trustBundle.namespaceSelector,
        excludedNamespaces: kubernetes.trustBundle.excludedNamespaces,
        resyncMs: kubernetes.controllers.resyncMs,
        requestTimeoutMs: kubernetes.controllers.requestTimeoutMs,
        writesPerSecond: kubernetes.controllers.writesPerSecond,
      },
      {
        ...deps,
        logger: deps.logger.child({ cluster: cluster.id }),
        ...(position === 0 ? {} : { clusterId: cluster.id }),
      },
    );
    followers.push(runner.add(distributor));
  }
  if (kubernetes.istiod.enabled) {
    const istiod = new IstiodCertificateController(
      local.client,
      authority,
      {
        namespace: kubernetes.istiod.namespace,
        secretName: kubernetes.istiod.secretName,
        revisions: kubernetes.istiod.revisions,
        extraDnsNames: kubernetes.istiod.extraDnsNames,
        ttlSeconds: kubernetes.istiod.ttlSeconds,
        backdateSeconds: config.ttl.backdateSeconds,
        keyType: kubernetes.istiod.keyType,
        requestTimeoutMs: kubernetes.controllers.requestTimeoutMs,
      },
      deps,
    );
    followers.push(runner.add(istiod));
  }
  return followers;
}

/**
 * Who writes: the Lease holder when leader election is on, else this replica as soon as it
 * starts; always this replica without a cluster. Tells every follower, the `meshca_leader`
 * metric and the log.
 */
export function leadership(
  config: Config,
  local: ClusterRuntime | undefined,
  followers: readonly LeadershipFollower[],
  deps: Deps,
): { readonly part: Part | undefined; readonly leading: () => boolean } {
  let leading = config.kubernetes === undefined;
  const change = (isLeader: boolean): void => {
    leading = isLeader;
    deps.metrics.leading(isLeader);
    for (const follower of followers) follower.setLeading(isLeader);
    deps.logger.info(
      { leading: isLeader },
      isLeader ? 'leading: writing' : 'not leading: watching',
    );
  };
  const { kubernetes } = config;
  if (kubernetes === undefined || local === undefined)
    return { part: undefined, leading: () => leading };
  const election = kubernetes.leaderElection;
  if (!election.enabled) {
    const part: Part = {
      name: 'leadership',
      start: () => {
        change(true);
        return Promise.resolve();
      },
      close: () => {
        change(false);
        return Promise.resolve();
      },
    };
    return { part, leading: () => leading };
  }
  const elector = new LeaseElector(
    local.client,
    {
      namespace: kubernetes.namespace,
      name: election.name,
      identity: kubernetes.podName,
      leaseDurationMs: election.leaseDurationMs,
      renewDeadlineMs: election.renewDeadlineMs,
      retryPeriodMs: election.retryPeriodMs,
    },
    deps.logger,
    deps.clock,
  );
  elector.onChange(change);
  return { part: elector, leading: () => leading };
}

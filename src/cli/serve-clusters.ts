/**
 * Wiring of `meshca serve`: the API clients of this cluster and of the remote clusters.
 *
 * @module
 */
import type { Config } from '../config/index.js';
import { KubeClient, type KubeConnection } from '../kube/index.js';
import type { Logger } from '../logger.js';
import type { PartRunner } from '../runtime/index.js';

/** A cluster meshca talks to. */
export interface ClusterRuntime {
  readonly id: string;
  readonly aliases: readonly string[];
  readonly client: KubeClient;
}

/**
 * Sockets pooled per API server beyond TokenReview's: watches (namespaces, ConfigMaps, Secrets,
 * pods, policy objects), the Lease and controller writes.
 */
const SOCKETS_BEYOND_TOKEN_REVIEW = 16;

/**
 * One client per cluster, the local one first; empty without a cluster. Each client is a part,
 * added first, so that its sockets close after every part that uses them.
 */
export function connectClusters(
  config: Config,
  runner: PartRunner,
  logger: Logger,
): ClusterRuntime[] {
  if (config.kube === undefined) return [];
  // Every TokenReview in flight holds a socket: the pool follows the concurrency setting, so
  // `tokenReviewConcurrency` really bounds (and allows) that many reviews at once.
  const maxSockets = config.authentication.tokenReview.maxConcurrent + SOCKETS_BEYOND_TOKEN_REVIEW;
  const connect = (
    id: string,
    aliases: readonly string[],
    connection: KubeConnection,
  ): ClusterRuntime => {
    const client = runner.add(new KubeClient({ connection, maxSockets, clusterId: id }));
    logger.info({ cluster: id, server: client.server }, 'Kubernetes API configured');
    return { id, aliases, client };
  };
  return [
    connect(config.cluster.id, config.cluster.aliases, config.kube),
    ...(config.kubernetes?.remoteClusters ?? []).map((remote) =>
      connect(remote.id, remote.aliases, { mode: 'kubeconfig', path: remote.kubeconfig }),
    ),
  ];
}

/**
 * Everything the issuance policy reads about one cluster (the `ClusterFacts` port of `policy/`),
 * as one part: pods (over the shared {@link PodIndex}), namespaces and the required objects.
 *
 * @module
 */
import type { Logger } from '../logger.js';
import type { ClusterFacts, ObjectKind, RequiredKindsWatch } from '../policy/index.js';
import type { Part, ReadinessCheck } from '../runtime/index.js';
import type { KubeClient } from './client.js';
import type { PodIndex } from './pod-index.js';
import { KubeNamespaceLookup } from './policy-namespaces.js';
import { KubeObjectLookup } from './policy-objects.js';
import { DEFAULT_POD_LOOKUP_OPTIONS, KubePodLookup } from './policy-pods.js';

/** Options of {@link KubePolicyFacts}. */
export interface KubePolicyFactsOptions {
  /** Timeout of list pages, discovery and confirming GETs. */
  readonly requestTimeoutMs: number;
  /** Confirming GETs (on a cache miss) per second, and their burst; per kind of lookup. */
  readonly confirmPerSecond: number;
  readonly confirmBurst: number;
  /** How long a confirming GET's answer is reused. */
  readonly confirmCacheMs: number;
  /** How often a required kind the cluster does not serve is looked for again. */
  readonly rediscoverIntervalMs: number;
}

/** Defaults that suit a cluster of thousands of pods. */
export const DEFAULT_POLICY_FACTS_OPTIONS: KubePolicyFactsOptions = {
  requestTimeoutMs: DEFAULT_POD_LOOKUP_OPTIONS.requestTimeoutMs,
  confirmPerSecond: DEFAULT_POD_LOOKUP_OPTIONS.confirmPerSecond,
  confirmBurst: DEFAULT_POD_LOOKUP_OPTIONS.confirmBurst,
  confirmCacheMs: DEFAULT_POD_LOOKUP_OPTIONS.confirmCacheMs,
  rediscoverIntervalMs: 30_000,
};

/** The policy's facts about one cluster. */
export class KubePolicyFacts implements ClusterFacts, RequiredKindsWatch, Part {
  readonly name = 'policy-facts';
  readonly pods: KubePodLookup;
  readonly namespaces: KubeNamespaceLookup;
  readonly objects: KubeObjectLookup;
  readonly #podIndex: PodIndex;
  readonly #controller = new AbortController();

  /**
   * @param podIndex The cluster's pod index, shared with the node authorizer; started by the
   * composition root (this part waits for it to load, it does not start it).
   */
  constructor(
    client: KubeClient,
    podIndex: PodIndex,
    options: KubePolicyFactsOptions,
    logger: Logger,
  ) {
    this.#podIndex = podIndex;
    const confirm = {
      requestTimeoutMs: options.requestTimeoutMs,
      confirmPerSecond: options.confirmPerSecond,
      confirmBurst: options.confirmBurst,
      confirmCacheMs: options.confirmCacheMs,
    };
    this.pods = new KubePodLookup(client, podIndex, confirm, logger);
    this.namespaces = new KubeNamespaceLookup(client, confirm, logger);
    this.objects = new KubeObjectLookup(
      client,
      {
        requestTimeoutMs: options.requestTimeoutMs,
        rediscoverIntervalMs: options.rediscoverIntervalMs,
      },
      logger,
    );
  }

  /** Starts the watches; resolves once pods and namespaces are loaded (or `signal` aborts). */
  async start(signal: AbortSignal): Promise<void> {
    const running = AbortSignal.any([signal, this.#controller.signal]);
    await this.namespaces.start(running);
    await this.objects.start(running);
    await Promise.all([this.namespaces.waitForSync(running), this.#podIndex.waitForSync(running)]);
  }

  async close(): Promise<void> {
    this.#controller.abort();
    await this.objects.close();
    await this.namespaces.close();
  }

  /** Watches exactly the kinds the policies in force require. */
  watchKinds(kinds: readonly ObjectKind[]): void {
    this.objects.watchKinds(kinds);
  }

  readiness(): readonly ReadinessCheck[] {
    return this.objects.readiness();
  }
}

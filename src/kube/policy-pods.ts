/**
 * The policy's view of pods (the `PodLookup` port of `policy/`), over the {@link PodIndex} that
 * the node authorizer shares: a known pod is a map lookup; a pod the watch has not delivered yet
 * (created a moment ago) is confirmed with one GET, bounded by a timeout and a token bucket, and
 * concurrent misses for the same pod share that GET. Never an API call per request for a known
 * pod:
 * - pods the watch saw deleted are remembered by UID for a while, so a deleted pod's token is
 *   refused at once, without asking the API server, however often its proxy retries;
 * - a GET's answer is reused for a few seconds (until the watch catches up), and dropped as soon
 *   as the watch reports the pod changed.
 *
 * @module
 */
import { LRUCache } from 'lru-cache';
import { UnavailableError, errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import type { PodFacts, PodLookup } from '../policy/index.js';
import { RateLimiter, raceSignal } from '../util/index.js';
import { apiStatus, type KubeClient } from './client.js';
import type { RawObject } from './informer.js';
import type { PodIndex, PodRecord } from './pod-index.js';

/** Options of {@link KubePodLookup}. */
export interface KubePodLookupOptions {
  /** Timeout of one confirming GET (or list). */
  readonly requestTimeoutMs: number;
  /** Confirming requests per second, and their burst. */
  readonly confirmPerSecond: number;
  readonly confirmBurst: number;
  /** How long a confirming request's answer is reused (the watch usually catches up sooner). */
  readonly confirmCacheMs: number;
}

/** Sensible defaults: a handful of confirmations per second, answers kept five seconds. */
export const DEFAULT_POD_LOOKUP_OPTIONS: KubePodLookupOptions = {
  requestTimeoutMs: 2000,
  confirmPerSecond: 20,
  confirmBurst: 40,
  confirmCacheMs: 5000,
};

/** How many deleted pods are remembered, and for how long. */
const TOMBSTONES = { max: 50_000, ttlMs: 15 * 60_000 };

/** The fields of a raw pod that {@link podFactsOf} reads. */
export interface RawPod extends RawObject {
  readonly spec?: { readonly serviceAccountName?: string; readonly nodeName?: string };
  readonly status?: { readonly phase?: string };
}

/** Pods of one cluster, for the live-workload rule. */
export class KubePodLookup implements PodLookup {
  readonly #client: KubeClient;
  readonly #index: PodIndex;
  readonly #options: KubePodLookupOptions;
  readonly #logger: Logger;
  readonly #limiter: RateLimiter;
  /** `namespace/name` → UID of a pod the watch saw go (deleted, or finished: the watch leaves those out). */
  readonly #tombstones = new LRUCache<string, string>({
    max: TOMBSTONES.max,
    ttl: TOMBSTONES.ttlMs,
  });
  /** Answers of confirming requests, by request key (`pod:` or `node:` prefixed). */
  readonly #confirmed: LRUCache<string, { readonly value: unknown }>;
  readonly #inFlight = new Map<string, Promise<unknown>>();

  constructor(client: KubeClient, index: PodIndex, options: KubePodLookupOptions, logger: Logger) {
    this.#client = client;
    this.#index = index;
    this.#options = options;
    this.#logger = logger.child({ lookup: 'pods' });
    this.#limiter = new RateLimiter(options.confirmPerSecond, options.confirmBurst);
    this.#confirmed = new LRUCache({ max: 10_000, ttl: options.confirmCacheMs });
    index.on((event, pod, old) => {
      const key = `${pod.namespace}/${pod.name}`;
      this.#confirmed.delete(`pod:${key}`);
      this.#confirmed.delete(`node:${pod.namespace}/${pod.serviceAccount}@${pod.nodeName}`);
      if (old !== undefined && old.nodeName !== pod.nodeName) {
        this.#confirmed.delete(`node:${old.namespace}/${old.serviceAccount}@${old.nodeName}`);
      }
      if (event === 'delete') this.#tombstones.set(key, pod.uid);
      else this.#tombstones.delete(key);
    });
  }

  async pod(
    namespace: string,
    name: string,
    uid: string,
    signal: AbortSignal,
  ): Promise<PodFacts | undefined> {
    this.#requireSynced();
    const cached = this.#index.pod(namespace, name);
    if (cached !== undefined) return facts(cached);
    const key = `${namespace}/${name}`;
    // The watch saw this very pod go: no need to ask.
    if (this.#tombstones.get(key) === uid) return undefined;
    // `null`: the API server says there is no such pod.
    const answer = await this.#confirm<PodFacts | null>(
      `pod:${key}`,
      signal,
      async (requestSignal) => {
        try {
          const raw = (await this.#client.requestJson(
            'GET',
            `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}`,
            undefined,
            requestSignal,
          )) as RawPod;
          return podFactsOf(raw);
        } catch (error) {
          if (apiStatus(error) === 404) return null;
          throw error;
        }
      },
    );
    return answer ?? undefined;
  }

  async podsOnNode(
    namespace: string,
    serviceAccount: string,
    nodeName: string,
    signal: AbortSignal,
  ): Promise<readonly PodFacts[]> {
    this.#requireSynced();
    const cached = this.#index.podsOnNode(namespace, serviceAccount, nodeName);
    if (cached.length > 0) return cached.map(facts);
    const query = new URLSearchParams({
      fieldSelector: `spec.nodeName=${nodeName},spec.serviceAccountName=${serviceAccount}`,
    });
    return this.#confirm<readonly PodFacts[]>(
      `node:${namespace}/${serviceAccount}@${nodeName}`,
      signal,
      async (requestSignal) => {
        const list = (await this.#client.requestJson(
          'GET',
          `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods?${query.toString()}`,
          undefined,
          requestSignal,
        )) as { items?: RawPod[] };
        return (list.items ?? []).map(podFactsOf);
      },
    );
  }

  #requireSynced(): void {
    if (!this.#index.synced) {
      throw new UnavailableError('ERR_POLICY_UNAVAILABLE', 'pods are not loaded yet');
    }
  }

  /**
   * One confirming request per key at a time, its answer reused for a few seconds; refused
   * (UNAVAILABLE, the client retries) when the bucket is empty or the request fails.
   */
  async #confirm<T>(
    key: string,
    signal: AbortSignal,
    request: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    // Keys are prefixed by what they ask (`pod:`, `node:`), so a key's answers have one type.
    const remembered = this.#confirmed.get(key);
    if (remembered !== undefined) return remembered.value as T;
    let running = this.#inFlight.get(key) as Promise<T> | undefined;
    if (running === undefined) {
      if (!this.#limiter.tryTake()) {
        throw new UnavailableError(
          'ERR_POLICY_UNAVAILABLE',
          'too many pod confirmations at once; retry',
        );
      }
      running = request(AbortSignal.timeout(this.#options.requestTimeoutMs))
        .then((value) => {
          this.#confirmed.set(key, { value });
          return value;
        })
        .finally(() => this.#inFlight.delete(key));
      this.#inFlight.set(key, running);
    }
    try {
      return await raceSignal(running, signal, () => new Error('the request was abandoned'));
    } catch (error) {
      this.#logger.warn({ key, err: errorMessage(error) }, 'pod confirmation failed');
      throw new UnavailableError('ERR_POLICY_UNAVAILABLE', 'the pod could not be confirmed now', {
        cause: error,
      });
    }
  }
}

function facts(pod: PodRecord): PodFacts {
  return pod;
}

/** A pod as the policy sees it. */
export function podFactsOf(raw: RawPod): PodFacts {
  return {
    namespace: raw.metadata?.namespace ?? '',
    name: raw.metadata?.name ?? '',
    uid: raw.metadata?.uid ?? '',
    serviceAccount: raw.spec?.serviceAccountName ?? 'default',
    nodeName: raw.spec?.nodeName ?? '',
    phase: raw.status?.phase ?? '',
    terminating: raw.metadata?.deletionTimestamp !== undefined,
  };
}

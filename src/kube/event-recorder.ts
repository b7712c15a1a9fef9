/**
 * Kubernetes Events (core/v1) about objects, deduplicated and rate-limited, as client-go's
 * EventRecorder and EventCorrelator do it:
 *
 * - `record` never blocks: events wait in a bounded queue (beyond it they are dropped and
 *   counted) and one worker posts them, paced by a token bucket so that a scan with thousands of
 *   findings cannot flood the API server or take capacity from TokenReview.
 * - One Event per key: the Event's name is derived from the key, so a repeat (the next scan,
 *   another replica after a failover, a restart) finds the existing Event (409 on create) and
 *   raises its `count` and `lastTimestamp` instead of adding one. Within `repeatAfterMs` a key is
 *   not posted again at all (an LRU of keys remembers when each was last posted).
 * - Cluster-scoped objects get their Events in `default`, where `kubectl describe` looks for
 *   them, as the kubelet does for Nodes.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import { BackgroundLoops, type Part } from '../runtime/index.js';
import { RateLimiter } from '../util/index.js';
import { KubeApiError, type KubeClient } from './client.js';

/** The object an Event is about. */
export interface EventObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
  readonly uid?: string;
}

/** One Event to post. */
export interface RecordedEvent {
  readonly involvedObject: EventObject;
  readonly type: 'Normal' | 'Warning';
  /** UpperCamelCase. */
  readonly reason: string;
  readonly message: string;
  /** Deduplication identity. */
  readonly key: string;
}

/** Options of {@link KubeEventRecorder}. */
export interface KubeEventRecorderOptions {
  /** `source.component` and `reportingComponent`, e.g. `meshca`. */
  readonly component: string;
  /** `source.host` / `reportingInstance`: this replica (the pod name). */
  readonly instance: string;
  /** Posts per second; the burst is twice that. */
  readonly eventsPerSecond: number;
  /** Events waiting beyond this are dropped (and counted). */
  readonly queueSize: number;
  /** A key is not posted again within this long. */
  readonly repeatAfterMs: number;
  /** Keys remembered for {@link repeatAfterMs}. */
  readonly rememberedKeys: number;
  readonly requestTimeoutMs: number;
}

/** What the recorder did, for tests and logs. */
export interface EventRecorderStats {
  readonly created: number;
  readonly updated: number;
  readonly suppressed: number;
  readonly dropped: number;
  readonly failed: number;
}

/** Where cluster-scoped objects' Events go. */
const CLUSTER_SCOPED_EVENT_NAMESPACE = 'default';

interface CoreEvent {
  readonly metadata: { readonly resourceVersion?: string };
  readonly count?: number;
}

/** Posts Events; a {@link Part} (its worker runs between start and close). */
export class KubeEventRecorder implements Part {
  readonly name = 'kube-events';
  readonly #client: KubeClient;
  readonly #options: KubeEventRecorderOptions;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #loops: BackgroundLoops;
  readonly #limiter: RateLimiter;
  readonly #lastPosted: LRUCache<string, number>;
  readonly #queue: RecordedEvent[] = [];
  #wake: (() => void) | undefined;
  /** True from taking an Event off the queue until its post is settled. */
  #posting = false;
  #stats = { created: 0, updated: 0, suppressed: 0, dropped: 0, failed: 0 };

  constructor(
    client: KubeClient,
    options: KubeEventRecorderOptions,
    dependencies: { readonly clock: Clock; readonly logger: Logger },
  ) {
    this.#client = client;
    this.#options = options;
    this.#clock = dependencies.clock;
    this.#logger = dependencies.logger.child({ part: 'kube-events' });
    this.#loops = new BackgroundLoops(this.#logger);
    this.#limiter = new RateLimiter(
      options.eventsPerSecond,
      Math.max(1, options.eventsPerSecond * 2),
    );
    this.#lastPosted = new LRUCache({ max: options.rememberedKeys });
  }

  /** Queues an Event unless its key was posted within `repeatAfterMs`. Never blocks or throws. */
  record(event: RecordedEvent): void {
    const now = this.#clock.now().getTime();
    const last = this.#lastPosted.get(event.key);
    if (last !== undefined && now - last < this.#options.repeatAfterMs) {
      this.#stats.suppressed++;
      return;
    }
    if (this.#queue.length >= this.#options.queueSize) {
      this.#stats.dropped++;
      return;
    }
    this.#lastPosted.set(event.key, now);
    this.#queue.push(event);
    this.#wake?.();
  }

  start(signal: AbortSignal): Promise<void> {
    this.#loops.link(signal);
    this.#loops.run('kube-events', (loopSignal) => this.#work(loopSignal));
    return Promise.resolve();
  }

  async close(): Promise<void> {
    this.#wake?.();
    await this.#loops.close();
  }

  /** Counters since start. */
  stats(): EventRecorderStats {
    return { ...this.#stats };
  }

  /** Resolves when the queue is empty (for tests and orderly shutdown). */
  async drained(signal: AbortSignal): Promise<void> {
    while (this.#queue.length > 0 || this.#posting) {
      if (signal.aborted) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async #work(signal: AbortSignal): Promise<void> {
    // A function, not the property: the compiler would narrow `signal.aborted` to false.
    const stopped = (): boolean => signal.aborted;
    while (!stopped()) {
      const event = this.#queue.shift();
      if (event === undefined) {
        await new Promise<void>((resolve) => {
          const done = (): void => {
            this.#wake = undefined;
            signal.removeEventListener('abort', done);
            resolve();
          };
          this.#wake = done;
          signal.addEventListener('abort', done, { once: true });
        });
        continue;
      }
      this.#posting = true;
      try {
        await this.#limiter.take(signal);
        if (stopped()) return;
        await this.#post(event, signal);
      } catch (error) {
        if (stopped()) return;
        this.#stats.failed++;
        // Forget the key, so that the next scan tries again.
        this.#lastPosted.delete(event.key);
        this.#logger.warn(
          { reason: event.reason, object: event.involvedObject.name, err: errorMessage(error) },
          'cannot post Event',
        );
      } finally {
        this.#posting = false;
      }
    }
  }

  async #post(event: RecordedEvent, signal: AbortSignal): Promise<void> {
    const object = event.involvedObject;
    const namespace = object.namespace ?? CLUSTER_SCOPED_EVENT_NAMESPACE;
    const name = eventName(object.name, event.key);
    const now = this.#clock.now();
    const timestamp = new Date(Math.floor(now.getTime() / 1000) * 1000)
      .toISOString()
      .replace('.000Z', 'Z');
    const collection = `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`;
    const body = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject: {
        apiVersion: object.apiVersion,
        kind: object.kind,
        name: object.name,
        ...(object.namespace === undefined ? {} : { namespace: object.namespace }),
        ...(object.uid === undefined ? {} : { uid: object.uid }),
      },
      type: event.type,
      reason: event.reason,
      message: event.message,
      count: 1,
      firstTimestamp: timestamp,
      lastTimestamp: timestamp,
      source: { component: this.#options.component, host: this.#options.instance },
      reportingComponent: this.#options.component,
      reportingInstance: this.#options.instance,
    };
    try {
      await this.#client.requestJson('POST', collection, body, this.#timeout(signal));
      this.#stats.created++;
      return;
    } catch (error) {
      if (!(error instanceof KubeApiError && error.status === 409)) throw error;
    }
    // It exists: one more occurrence of the same Event.
    const path = `${collection}/${encodeURIComponent(name)}`;
    const existing = (await this.#client.requestJson(
      'GET',
      path,
      undefined,
      this.#timeout(signal),
    )) as CoreEvent & Record<string, unknown>;
    await this.#client.requestJson(
      'PUT',
      path,
      {
        ...existing,
        message: event.message,
        type: event.type,
        count: (existing.count ?? 1) + 1,
        lastTimestamp: timestamp,
      },
      this.#timeout(signal),
    );
    this.#stats.updated++;
  }

  #timeout(signal: AbortSignal): AbortSignal {
    return AbortSignal.any([signal, AbortSignal.timeout(this.#options.requestTimeoutMs)]);
  }
}

/**
 * `<object>.<16 hex of the key's SHA-256>`: stable for a key, unique across keys, and a valid
 * object name (at most 253 characters; object names are DNS subdomains).
 */
export function eventName(objectName: string, key: string): string {
  const suffix = createHash('sha256').update(key).digest('hex').slice(0, 16);
  const prefix = objectName.slice(0, 253 - suffix.length - 1).replace(/[.-]+$/, '');
  return `${prefix}.${suffix}`;
}

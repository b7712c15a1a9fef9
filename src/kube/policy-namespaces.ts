/**
 * The policy's view of namespaces (the `NamespaceLookup` port of `policy/`): names and labels
 * from a watch of every namespace (a few hundred bytes each), with one bounded, rate-limited GET
 * when a namespace is not known yet (created a moment ago).
 *
 * @module
 */
import { LRUCache } from 'lru-cache';
import { UnavailableError, errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import type { NamespaceFacts, NamespaceLookup } from '../policy/index.js';
import { RateLimiter, raceSignal } from '../util/index.js';
import { apiStatus, type KubeClient } from './client.js';
import { Informer, type RawObject } from './informer.js';

/** Options of {@link KubeNamespaceLookup}. */
export interface KubeNamespaceLookupOptions {
  /** Timeout of a list page and of a confirming GET. */
  readonly requestTimeoutMs: number;
  readonly confirmPerSecond: number;
  readonly confirmBurst: number;
  /** How long a GET's answer is reused (the watch usually catches up sooner). */
  readonly confirmCacheMs: number;
}

/** Namespaces of one cluster, with their labels. */
export class KubeNamespaceLookup implements NamespaceLookup {
  readonly #client: KubeClient;
  readonly #informer: Informer<NamespaceFacts>;
  readonly #options: KubeNamespaceLookupOptions;
  readonly #logger: Logger;
  readonly #limiter: RateLimiter;
  readonly #confirmed: LRUCache<string, { readonly value: NamespaceFacts | null }>;
  readonly #inFlight = new Map<string, Promise<NamespaceFacts | null>>();

  constructor(client: KubeClient, options: KubeNamespaceLookupOptions, logger: Logger) {
    this.#client = client;
    this.#options = options;
    this.#logger = logger.child({ lookup: 'namespaces' });
    this.#limiter = new RateLimiter(options.confirmPerSecond, options.confirmBurst);
    this.#confirmed = new LRUCache({ max: 1000, ttl: options.confirmCacheMs });
    this.#informer = new Informer<NamespaceFacts>(
      client,
      {
        name: 'policy-namespaces',
        path: '/api/v1/namespaces',
        resyncMs: 0,
        requestTimeoutMs: options.requestTimeoutMs,
        transform: namespaceFacts,
      },
      logger,
    );
    this.#informer.on((_event, namespace) => this.#confirmed.delete(namespace.name));
  }

  /** Starts the watch; resolves at once ({@link waitForSync} tells when it is loaded). */
  start(signal: AbortSignal): Promise<void> {
    return this.#informer.start(signal);
  }

  /** Stops the watch and waits for its loops. */
  close(): Promise<void> {
    return this.#informer.close();
  }

  /** True once the first list is loaded. */
  get synced(): boolean {
    return this.#informer.synced;
  }

  /** Resolves once synced, or when `signal` aborts. */
  waitForSync(signal: AbortSignal): Promise<void> {
    return this.#informer.waitForSync(signal);
  }

  async namespace(name: string, signal: AbortSignal): Promise<NamespaceFacts | undefined> {
    if (!this.#informer.synced) {
      throw new UnavailableError('ERR_POLICY_UNAVAILABLE', 'namespaces are not loaded yet');
    }
    const cached = this.#informer.get(name);
    if (cached !== undefined) return cached;
    const remembered = this.#confirmed.get(name);
    if (remembered !== undefined) return remembered.value ?? undefined;
    let running = this.#inFlight.get(name);
    if (running === undefined) {
      if (!this.#limiter.tryTake()) {
        throw new UnavailableError('ERR_POLICY_UNAVAILABLE', 'too many namespace lookups at once');
      }
      running = this.#get(name)
        .then((value) => {
          this.#confirmed.set(name, { value });
          return value;
        })
        .finally(() => this.#inFlight.delete(name));
      this.#inFlight.set(name, running);
    }
    try {
      return (await raceSignal(running, signal, () => new Error('abandoned'))) ?? undefined;
    } catch (error) {
      this.#logger.warn({ namespace: name, err: errorMessage(error) }, 'namespace lookup failed');
      throw new UnavailableError('ERR_POLICY_UNAVAILABLE', 'the namespace could not be read now', {
        cause: error,
      });
    }
  }

  async #get(name: string): Promise<NamespaceFacts | null> {
    try {
      const raw = (await this.#client.requestJson(
        'GET',
        `/api/v1/namespaces/${encodeURIComponent(name)}`,
        undefined,
        AbortSignal.timeout(this.#options.requestTimeoutMs),
      )) as RawObject;
      return namespaceFacts(raw);
    } catch (error) {
      if (apiStatus(error) === 404) return null;
      throw error;
    }
  }
}

function namespaceFacts(raw: RawObject): NamespaceFacts {
  return { name: raw.metadata?.name ?? '', labels: { ...(raw.metadata?.labels ?? {}) } };
}

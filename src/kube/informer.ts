/**
 * A list-and-watch cache of one kind of Kubernetes object, reduced by a transform to the few
 * fields its users need (a pod becomes namespace, name, uid, service account, node and phase), so
 * that watching every pod of a large cluster stays cheap. It re-lists and re-watches after any
 * error with backoff, resumes from the last resourceVersion (re-listing on 410 Gone), asks the
 * server to end each watch after a few minutes so that a silently dead connection cannot stall
 * it, and re-delivers every cached object periodically (resync) for level-triggered controllers.
 *
 * client-node's ListWatch stores whole objects, cannot apply field selectors to its list and
 * stops on the first error, hence this wrapper around its Watch.
 *
 * @module
 */
import * as k8s from '@kubernetes/client-node';
import { errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import { BackgroundLoops } from '../runtime/index.js';
import { Backoff, sleep } from '../util/index.js';
import { apiStatus, type KubeClient } from './client.js';

/** The common metadata of a raw object. */
export interface RawObject {
  readonly metadata?: {
    readonly name?: string;
    readonly namespace?: string;
    readonly uid?: string;
    readonly resourceVersion?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
    readonly deletionTimestamp?: string;
  };
}

/** What changed. */
export type InformerEvent = 'add' | 'update' | 'delete';

/** Options of {@link Informer}. */
export interface InformerOptions<R> {
  /** For logs and metrics. */
  readonly name: string;
  /** Collection path, e.g. `/api/v1/pods` or `/api/v1/namespaces/istio-system/secrets`. */
  readonly path: string;
  readonly fieldSelector?: string;
  readonly labelSelector?: string;
  /** Reduces a raw object to what is kept. */
  readonly transform: (raw: RawObject) => R;
  /** Re-delivers every cached object this often (0: never). */
  readonly resyncMs: number;
  /** Timeout of one list page. */
  readonly requestTimeoutMs: number;
  /**
   * A watch silent (not even a bookmark) for longer is presumed dead and replaced. Defaults to the
   * server-side watch timeout plus a margin; tests shorten it.
   */
  readonly watchSilenceLimitMs?: number;
}

/** Receives changes. `old` is set for updates and deletes. */
export type InformerHandler<R> = (event: InformerEvent, object: R, old: R | undefined) => void;

const PAGE_SIZE = 500;
/**
 * Reconnection backoff: from half a second, doubling, capped at a few seconds (±20 % jitter, so
 * replicas and informers do not reconnect in step). The cap bounds how long drift repair waits
 * after an API-server outage ends: a longer one (client-go's 30 s) left deleted ConfigMaps
 * unrepaired for half a minute after the API server was back.
 */
const RECONNECT_INITIAL_MS = 500;
export const RECONNECT_MAX_MS = 5_000;
/** The API server ends each watch after this long; we then resume from the last version. */
const WATCH_TIMEOUT_SECONDS = 240;
/** A watch silent for longer than the server-side timeout plus a margin is presumed dead. */
const WATCH_SILENCE_LIMIT_MS = (WATCH_TIMEOUT_SECONDS + 30) * 1000;

/** A cache of objects kept in sync with the API server. */
export class Informer<R> {
  readonly #client: KubeClient;
  readonly #options: InformerOptions<R>;
  readonly #logger: Logger;
  readonly #objects = new Map<string, R>();
  readonly #handlers: InformerHandler<R>[] = [];
  #resourceVersion = '';
  #synced = false;
  #syncWaiters: (() => void)[] = [];
  #watch: AbortController | undefined;
  readonly #loops: BackgroundLoops;

  constructor(client: KubeClient, options: InformerOptions<R>, logger: Logger) {
    this.#client = client;
    this.#options = options;
    this.#logger = logger.child({ informer: options.name });
    this.#loops = new BackgroundLoops(this.#logger);
  }

  /** Registers a change handler (before {@link start}, to see the initial list as adds). */
  on(handler: InformerHandler<R>): void {
    this.#handlers.push(handler);
  }

  /** The cached object `namespace/name` (or `name` when cluster-scoped). */
  get(key: string): R | undefined {
    return this.#objects.get(key);
  }

  /** Every cached object. */
  list(): R[] {
    return [...this.#objects.values()];
  }

  /** True once the first list has been loaded. */
  get synced(): boolean {
    return this.#synced;
  }

  /** Resolves when the first list is loaded, or when `signal` aborts. */
  waitForSync(signal: AbortSignal): Promise<void> {
    if (this.#synced || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const abandon = (): void => {
        resolve();
      };
      signal.addEventListener('abort', abandon, { once: true });
      this.#syncWaiters.push(() => {
        signal.removeEventListener('abort', abandon);
        resolve();
      });
    });
  }

  /**
   * Starts listing and watching in the background until {@link close} (or `signal` aborts);
   * resolves at once: {@link waitForSync} tells when the first list is in.
   */
  start(signal: AbortSignal): Promise<void> {
    this.#loops.link(signal);
    this.#loops.signal.addEventListener(
      'abort',
      () => {
        this.#watch?.abort();
      },
      { once: true },
    );
    this.#loops.run('list-watch', (loopSignal) => this.#run(loopSignal));
    if (this.#options.resyncMs > 0) {
      this.#loops.run('resync', (loopSignal) => this.#resyncLoop(loopSignal));
    }
    return Promise.resolve();
  }

  /** Stops watching and waits for the loops to end. */
  close(): Promise<void> {
    return this.#loops.close();
  }

  async #run(signal: AbortSignal): Promise<void> {
    const backoff = new Backoff(RECONNECT_INITIAL_MS, RECONNECT_MAX_MS);
    while (!signal.aborted) {
      try {
        if (this.#resourceVersion === '') await this.#list(signal);
        await this.#watchOnce();
        backoff.reset();
      } catch (error) {
        // The signal may have aborted while the list or watch was pending.
        if (signal.aborted as boolean) return;
        // 410 Gone: the watch's version (statusCode) or a list's continue token (a KubeApiError)
        // expired; either way, list again at once.
        const gone =
          (error as { statusCode?: number }).statusCode === 410 || apiStatus(error) === 410;
        if (gone) {
          this.#resourceVersion = '';
          continue;
        }
        const delay = backoff.next();
        this.#logger.warn(
          { err: errorMessage(error), retryInMs: delay },
          'list/watch failed; retrying',
        );
        this.#resourceVersion = '';
        await sleep(delay, signal);
      }
    }
  }

  async #list(signal: AbortSignal): Promise<void> {
    const seen = new Map<string, R>();
    let continueToken = '';
    let resourceVersion = '';
    do {
      const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
      if (this.#options.fieldSelector) query.set('fieldSelector', this.#options.fieldSelector);
      if (this.#options.labelSelector) query.set('labelSelector', this.#options.labelSelector);
      if (continueToken) query.set('continue', continueToken);
      const page = (await this.#client.requestJson(
        'GET',
        `${this.#options.path}?${query.toString()}`,
        undefined,
        AbortSignal.any([signal, AbortSignal.timeout(this.#options.requestTimeoutMs)]),
      )) as { items?: RawObject[]; metadata?: { resourceVersion?: string; continue?: string } };
      for (const raw of page.items ?? []) seen.set(keyOf(raw), this.#options.transform(raw));
      continueToken = page.metadata?.continue ?? '';
      resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
    } while (continueToken !== '');

    // Replace the cache, reporting what changed while we were not watching.
    for (const [key, old] of this.#objects) {
      if (!seen.has(key)) {
        this.#objects.delete(key);
        this.#emit('delete', old, old);
      }
    }
    for (const [key, object] of seen) {
      const old = this.#objects.get(key);
      this.#objects.set(key, object);
      this.#emit(old === undefined ? 'add' : 'update', object, old);
    }
    this.#resourceVersion = resourceVersion;
    if (!this.#synced) {
      this.#synced = true;
      for (const resolve of this.#syncWaiters.splice(0)) resolve();
      this.#logger.debug({ objects: this.#objects.size }, 'informer synced');
    }
  }

  #watchOnce(): Promise<void> {
    return new Promise((resolve, reject) => {
      const query: Record<string, string | number | boolean> = {
        resourceVersion: this.#resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: WATCH_TIMEOUT_SECONDS,
      };
      if (this.#options.fieldSelector) query['fieldSelector'] = this.#options.fieldSelector;
      if (this.#options.labelSelector) query['labelSelector'] = this.#options.labelSelector;
      let failed: unknown;
      let settled = false;
      // client-node hands over the watch's AbortController only once the response headers have
      // come: until then neither close() nor the watchdog could abort it, and an API server that
      // never answers would hold the loop (and close()) forever. So this watch settles by itself
      // on either, and a controller that arrives afterwards is aborted at once.
      const settle = (error: unknown): void => {
        if (settled) return;
        settled = true;
        clearTimeout(watchdog);
        this.#loops.signal.removeEventListener('abort', onClose);
        this.#watch = undefined;
        if (error === undefined) resolve();
        else reject(toError(error));
      };
      const onClose = (): void => {
        if (this.#watch === undefined) settle(undefined);
      };
      this.#loops.signal.addEventListener('abort', onClose, { once: true });
      // The server ends the watch after WATCH_TIMEOUT_SECONDS; a connection that died silently
      // ends nothing, so a watchdog gives up when not even a bookmark has come for longer.
      let watchdog: NodeJS.Timeout | undefined;
      const silenceLimitMs = this.#options.watchSilenceLimitMs ?? WATCH_SILENCE_LIMIT_MS;
      const arm = (): void => {
        clearTimeout(watchdog);
        watchdog = setTimeout(() => {
          failed = new Error(`no watch event for ${silenceLimitMs / 1000}s; reconnecting`);
          if (this.#watch === undefined) settle(failed);
          else this.#watch.abort();
        }, silenceLimitMs);
        watchdog.unref();
      };
      arm();
      new k8s.Watch(this.#client.kubeConfig)
        .watch(
          this.#options.path,
          query,
          (type: string, raw: RawObject & { code?: number }) => {
            if (settled) return;
            arm();
            this.#onWatchEvent(type, raw, (error) => {
              failed = error;
              this.#watch?.abort();
            });
          },
          (error: unknown) => {
            settle(failed ?? error ?? undefined);
          },
        )
        .then(
          (controller) => {
            if (settled || this.#loops.signal.aborted) {
              controller.abort();
              return;
            }
            this.#watch = controller;
          },
          (error: unknown) => {
            settle(error ?? new Error('watch request failed'));
          },
        );
    });
  }

  #onWatchEvent(
    type: string,
    raw: RawObject & { code?: number },
    fail: (error: unknown) => void,
  ): void {
    if (type === 'ERROR') {
      const error = Object.assign(new Error(`watch error ${raw.code ?? ''}`), {
        statusCode: raw.code,
      });
      fail(error);
      return;
    }
    const version = raw.metadata?.resourceVersion;
    if (version) this.#resourceVersion = version;
    if (type === 'BOOKMARK') return;
    const key = keyOf(raw);
    const old = this.#objects.get(key);
    if (type === 'DELETED') {
      this.#objects.delete(key);
      const object = old ?? this.#options.transform(raw);
      this.#emit('delete', object, object);
      return;
    }
    const object = this.#options.transform(raw);
    this.#objects.set(key, object);
    this.#emit(old === undefined ? 'add' : 'update', object, old);
  }

  async #resyncLoop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await sleep(this.#options.resyncMs, signal);
      if ((signal.aborted as boolean) || !this.#synced) continue;
      for (const object of this.#objects.values()) this.#emit('update', object, object);
    }
  }

  #emit(event: InformerEvent, object: R, old: R | undefined): void {
    for (const handler of this.#handlers) {
      try {
        handler(event, object, old);
      } catch (error) {
        this.#logger.error({ err: errorMessage(error) }, 'informer handler failed');
      }
    }
  }
}

/** `namespace/name`, or `name` for cluster-scoped objects. */
export function keyOf(raw: RawObject): string {
  const name = raw.metadata?.name ?? '';
  const namespace = raw.metadata?.namespace;
  return namespace ? `${namespace}/${name}` : name;
}

function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(errorMessage(value));
}

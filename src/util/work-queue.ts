/**
 * A work queue in the style of client-go's: a key is queued at most once however many events
 * name it, is processed by one worker at a time, and is retried with per-key backoff when its
 * handler fails. Reconcilers stay level-triggered: they read the desired and actual state when
 * they run, so coalescing events loses nothing.
 *
 * @module
 */
import { Backoff } from './backoff.js';

/** Handles one key; throws to be retried. */
export type KeyHandler = (key: string) => Promise<void>;

/** Options of {@link WorkQueue}. */
export interface WorkQueueOptions {
  readonly workers: number;
  readonly retryInitialMs: number;
  readonly retryMaxMs: number;
  /** Called with every failure, for logs and metrics. */
  readonly onError: (key: string, error: unknown) => void;
}

/** De-duplicating, retrying work queue. */
export class WorkQueue {
  readonly #handler: KeyHandler;
  readonly #options: WorkQueueOptions;
  readonly #queue: string[] = [];
  readonly #queued = new Set<string>();
  readonly #active = new Set<string>();
  /** Keys added again while being processed: run once more afterwards. */
  readonly #dirty = new Set<string>();
  readonly #retries = new Map<string, NodeJS.Timeout>();
  /** Backoff state of keys whose last attempt failed; dropped on success. */
  readonly #backoffs = new Map<string, Backoff>();
  #running = 0;
  #stopped = false;
  /** Handlers running now, so that {@link close} can wait for them. */
  readonly #processing = new Set<Promise<void>>();

  constructor(handler: KeyHandler, options: WorkQueueOptions) {
    this.#handler = handler;
    this.#options = options;
  }

  /** Queues `key` (once, however often it is added before it runs). */
  add(key: string): void {
    if (this.#stopped) return;
    const retry = this.#retries.get(key);
    if (retry) {
      // A fresh event supersedes a pending retry.
      clearTimeout(retry);
      this.#retries.delete(key);
    }
    if (this.#active.has(key)) {
      this.#dirty.add(key);
      return;
    }
    if (this.#queued.has(key)) return;
    this.#queued.add(key);
    this.#queue.push(key);
    this.#pump();
  }

  /** Stops taking work and cancels pending retries. */
  stop(): void {
    this.#stopped = true;
    this.#queue.length = 0;
    this.#queued.clear();
    for (const timer of this.#retries.values()) clearTimeout(timer);
    this.#retries.clear();
  }

  /** Stops taking work and waits for the handlers already running to finish. */
  async close(): Promise<void> {
    this.stop();
    while (this.#processing.size > 0) await Promise.all([...this.#processing]);
  }

  #pump(): void {
    while (!this.#stopped && this.#running < this.#options.workers && this.#queue.length > 0) {
      const key = this.#queue.shift();
      if (key === undefined) break;
      this.#queued.delete(key);
      this.#active.add(key);
      this.#running++;
      const processing = this.#process(key);
      this.#processing.add(processing);
      void processing.finally(() => this.#processing.delete(processing));
    }
  }

  async #process(key: string): Promise<void> {
    let failed = false;
    try {
      await this.#handler(key);
      this.#backoffs.delete(key);
    } catch (error) {
      failed = true;
      this.#options.onError(key, error);
    }
    this.#active.delete(key);
    this.#running--;
    if (!this.#stopped) {
      if (this.#dirty.delete(key)) {
        this.add(key);
      } else if (failed) {
        this.#scheduleRetry(key);
      }
    }
    this.#pump();
  }

  #scheduleRetry(key: string): void {
    let backoff = this.#backoffs.get(key);
    if (backoff === undefined) {
      backoff = new Backoff(this.#options.retryInitialMs, this.#options.retryMaxMs);
      this.#backoffs.set(key, backoff);
    }
    const timer = setTimeout(() => {
      this.#retries.delete(key);
      this.add(key);
    }, backoff.next());
    timer.unref();
    this.#retries.set(key, timer);
  }
}

/**
 * A counting semaphore whose waiters give up when their AbortSignal fires. Bounds how many calls
 * run at once against a shared backend (the Kubernetes API server during a restart storm).
 *
 * @module
 */

interface Waiter {
  readonly grant: () => void;
  readonly signal: AbortSignal;
}

/** Limits concurrency to `capacity`. */
export class Semaphore {
  readonly #capacity: number;
  #inUse = 0;
  readonly #waiters: Waiter[] = [];

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new TypeError('semaphore capacity must be a positive integer');
    }
    this.#capacity = capacity;
  }

  /** Calls currently holding a permit. */
  get inUse(): number {
    return this.#inUse;
  }

  /** Calls waiting for a permit. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /**
   * Runs `task` once a permit is free.
   *
   * @throws whatever `onAbort()` returns when `signal` fires before a permit is granted.
   */
  async run<T>(task: () => Promise<T>, signal: AbortSignal, onAbort: () => Error): Promise<T> {
    await this.#acquire(signal, onAbort);
    try {
      return await task();
    } finally {
      this.#release();
    }
  }

  #acquire(signal: AbortSignal, onAbort: () => Error): Promise<void> {
    if (signal.aborted) return Promise.reject(onAbort());
    if (this.#inUse < this.#capacity) {
      this.#inUse++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        signal,
        grant: () => {
          signal.removeEventListener('abort', abandon);
          resolve();
        },
      };
      const abandon = (): void => {
        const index = this.#waiters.indexOf(waiter);
        if (index !== -1) this.#waiters.splice(index, 1);
        reject(onAbort());
      };
      signal.addEventListener('abort', abandon, { once: true });
      this.#waiters.push(waiter);
    });
  }

  #release(): void {
    const next = this.#waiters.shift();
    if (next) {
      next.grant(); // the permit passes straight to the next waiter
    } else {
      this.#inUse--;
    }
  }
}

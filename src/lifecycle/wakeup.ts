/**
 * A loop's pause that something else can cut short: the loop sleeps until its interval passes,
 * {@link Wakeup.wake} is called, or its signal aborts. A wake while the loop is busy is kept, so
 * that the next pause returns at once and no change is missed.
 *
 * @module
 */

/** One loop's wake-up call. */
export class Wakeup {
  #pending = false;
  #resolve: (() => void) | undefined;

  /** Asks the loop to run now (or as soon as it next pauses). */
  wake(): void {
    if (this.#resolve === undefined) {
      this.#pending = true;
      return;
    }
    this.#resolve();
  }

  /** Waits `ms`, or until {@link wake}, or until `signal` aborts. */
  pause(ms: number, signal: AbortSignal): Promise<void> {
    if (this.#pending || signal.aborted) {
      this.#pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.#resolve = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      this.#resolve = done;
    });
  }
}

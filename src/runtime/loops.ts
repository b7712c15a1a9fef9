/**
 * Background loops owned by a part: each runs until the part closes, a loop that throws is
 * logged rather than lost as an unhandled rejection, and {@link BackgroundLoops.close} aborts
 * them all and awaits every one, so that shutdown never leaves work running behind it.
 *
 * @module
 */
import { errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';

/** A set of loops sharing one abort signal. */
export class BackgroundLoops {
  readonly #controller = new AbortController();
  readonly #running = new Set<Promise<void>>();
  readonly #logger: Logger;
  #unlink: (() => void) | undefined;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** Aborts when the loops must stop (the part closes, or the linked signal aborts). */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /**
   * Stops the loops when `signal` aborts as well. One listener per set (not per loop), removed on
   * close, so that long-lived signals never accumulate listeners.
   */
  link(signal: AbortSignal): void {
    this.#unlink?.();
    if (signal.aborted) {
      this.#controller.abort();
      return;
    }
    const abort = (): void => {
      this.#controller.abort();
    };
    signal.addEventListener('abort', abort, { once: true });
    this.#unlink = () => {
      signal.removeEventListener('abort', abort);
    };
  }

  /** Runs `loop` in the background until it returns; a throw is logged with `name`. */
  run(name: string, loop: (signal: AbortSignal) => Promise<void>): void {
    const running = loop(this.#controller.signal).catch((error: unknown) => {
      if (!this.#controller.signal.aborted) {
        this.#logger.error({ loop: name, err: errorMessage(error) }, 'background loop failed');
      }
    });
    this.#running.add(running);
    void running.finally(() => this.#running.delete(running));
  }

  /** Aborts every loop and waits for all of them to return. */
  async close(): Promise<void> {
    this.#controller.abort();
    this.#unlink?.();
    this.#unlink = undefined;
    while (this.#running.size > 0) await Promise.all([...this.#running]);
  }
}

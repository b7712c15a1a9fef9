/**
 * Exponential backoff with jitter, for retrying calls to the API server without synchronizing
 * replicas or hammering a struggling server.
 *
 * @module
 */

/** Delays: `initialMs`, doubling up to `maxMs`, each with ±`jitter` (a fraction). */
export class Backoff {
  readonly #initialMs: number;
  readonly #maxMs: number;
  readonly #jitter: number;
  #attempt = 0;

  constructor(initialMs: number, maxMs: number, jitter = 0.2) {
    this.#initialMs = initialMs;
    this.#maxMs = maxMs;
    this.#jitter = jitter;
  }

  /** The next delay, in milliseconds. */
  next(): number {
    const base = Math.min(this.#maxMs, this.#initialMs * 2 ** this.#attempt);
    this.#attempt = Math.min(this.#attempt + 1, 30);
    return Math.round(base * (1 + this.#jitter * (2 * Math.random() - 1)));
  }

  /** Starts over after a success. */
  reset(): void {
    this.#attempt = 0;
  }
}

/**
 * A token bucket: at most `burst` operations at once, refilled at `perSecond`. The Kubernetes
 * controllers take their writes from their own bucket, so a reconcile storm (thousands of
 * namespaces) paces itself and can never take API capacity that TokenReview needs.
 *
 * @module
 */
import { sleep } from './abort.js';

/** Paces operations. */
export class RateLimiter {
  readonly #perSecond: number;
  readonly #burst: number;
  #tokens: number;
  #updatedMs: number;
  readonly #now: () => number;

  constructor(perSecond: number, burst: number, now: () => number = () => performance.now()) {
    if (!(perSecond > 0) || !(burst >= 1))
      throw new TypeError('rate limiter needs perSecond > 0, burst >= 1');
    this.#perSecond = perSecond;
    this.#burst = burst;
    this.#tokens = burst;
    this.#now = now;
    this.#updatedMs = now();
  }

  /**
   * Takes a token if one is available now, without waiting: for callers that would rather answer
   * "not now" than queue (a lookup on the issuance path).
   */
  tryTake(): boolean {
    this.#refill();
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Waits for a token; resolves early (without one) only when `signal` aborts. */
  async take(signal?: AbortSignal): Promise<void> {
    for (;;) {
      this.#refill();
      if (this.#tokens >= 1) {
        this.#tokens -= 1;
        return;
      }
      if (signal?.aborted) return;
      await sleep(((1 - this.#tokens) * 1000) / this.#perSecond, signal);
    }
  }

  #refill(): void {
    const now = this.#now();
    this.#tokens = Math.min(
      this.#burst,
      this.#tokens + ((now - this.#updatedMs) * this.#perSecond) / 1000,
    );
    this.#updatedMs = now;
  }
}

/**
 * A token bucket that never waits: `tryTake` answers at once whether a token is there. Refilled
 * lazily from a monotonic clock reading, so an idle bucket costs nothing.
 *
 * @module
 */

/** Rate and burst of one bucket. */
export interface BucketRate {
  /** Tokens added per second. */
  readonly perSecond: number;
  /** Most tokens held (a fresh bucket starts full). */
  readonly burst: number;
}

/** One bucket: its tokens as of `updatedMs`. */
export class TokenBucket {
  #tokens: number;
  #updatedMs: number;
  readonly #rate: BucketRate;

  /**
   * @param nowMs A monotonic reading (`performance.now()`), the bucket's creation time.
   * @throws `TypeError` unless `perSecond > 0` and `burst >= 1`.
   */
  constructor(rate: BucketRate, nowMs: number) {
    if (!(rate.perSecond > 0) || !(rate.burst >= 1)) {
      throw new TypeError('a token bucket needs perSecond > 0 and burst >= 1');
    }
    this.#rate = rate;
    this.#tokens = rate.burst;
    this.#updatedMs = nowMs;
  }

  /** Whether a token is available at `nowMs` (refilling first), without taking it. */
  available(nowMs: number): boolean {
    this.#refill(nowMs);
    return this.#tokens >= 1;
  }

  /** Takes a token; call only after {@link available} said yes at the same time. */
  take(): void {
    this.#tokens -= 1;
  }

  #refill(nowMs: number): void {
    // A reading before the last one (never, from a monotonic clock) refills nothing.
    if (nowMs <= this.#updatedMs) return;
    const elapsedMs = nowMs - this.#updatedMs;
    this.#tokens = Math.min(
      this.#rate.burst,
      this.#tokens + (elapsedMs * this.#rate.perSecond) / 1000,
    );
    this.#updatedMs = nowMs;
  }
}

/**
 * Time, injected. Nothing outside this file calls `new Date()` or `Date.now()`, so expiry and
 * rotation logic can be tested with a pinned clock.
 *
 * @module
 */

/** A source of the current time. */
export interface Clock {
  /** The current time. */
  now(): Date;
}

/** The real wall clock. */
export const systemClock: Clock = {
  now: () => new Date(),
};

/** A clock that stays where it is put; for tests and for `meshca policy explain`-style tools. */
export class FixedClock implements Clock {
  #ms: number;

  constructor(at: Date) {
    this.#ms = at.getTime();
  }

  now(): Date {
    return new Date(this.#ms);
  }

  /** Moves the clock forward by `ms` milliseconds. */
  advance(ms: number): void {
    this.#ms += ms;
  }
}

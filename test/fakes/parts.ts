/**
 * A fake {@link Part} that writes what happens to it into a shared journal, so that a test can
 * check the order in which a runner starts and closes parts.
 */
import type { Part, ReadinessCheck } from '../../src/runtime/index.js';

/** Options of {@link FakePart}. */
export interface FakePartOptions {
  /** `start` rejects with it. */
  readonly startFailure?: Error;
  /** `close` rejects with it (a part breaking the "never throws" rule). */
  readonly closeFailure?: Error;
  /** `start` resolves only once this settles. */
  readonly startHold?: Promise<void>;
  readonly checks?: readonly ReadinessCheck[];
}

/** Records `start:<name>` and `close:<name>` into `journal`. */
export class FakePart implements Part {
  readonly name: string;
  readonly journal: string[];
  readonly #options: FakePartOptions;
  /** The signal `start` was given. */
  signal: AbortSignal | undefined;
  closes = 0;

  constructor(name: string, journal: string[], options: FakePartOptions = {}) {
    this.name = name;
    this.journal = journal;
    this.#options = options;
  }

  async start(signal: AbortSignal): Promise<void> {
    this.signal = signal;
    this.journal.push(`start:${this.name}`);
    if (this.#options.startHold !== undefined) await this.#options.startHold;
    if (this.#options.startFailure !== undefined) throw this.#options.startFailure;
  }

  close(): Promise<void> {
    this.closes++;
    this.journal.push(`close:${this.name}`);
    if (this.#options.closeFailure !== undefined) {
      return Promise.reject(this.#options.closeFailure);
    }
    return Promise.resolve();
  }

  readiness(): readonly ReadinessCheck[] {
    return this.#options.checks ?? [];
  }
}

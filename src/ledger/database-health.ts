/**
 * Whether the ledger's database takes writes: the reason while it does not, when to try it again
 * (a backoff), and the two log lines of an outage — one when it starts, one when it ends — so that
 * a long outage is one warning, not one a flush interval. Each failed attempt is counted
 * (`meshca_ledger_write_errors_total`).
 *
 * @module
 */
import { errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import type { LedgerMetrics } from '../metrics/index.js';
import { Backoff } from '../util/index.js';

/** The database's state, as the recorder's writer sees it. */
export class DatabaseHealth {
  readonly #logger: Logger;
  readonly #metrics: LedgerMetrics;
  readonly #backoff: Backoff;
  /** Records waiting, for the log lines. */
  readonly #backlog: () => number;
  #down: string | undefined;
  #retryAt = 0;

  /** @param retry Delays between attempts while the database is down, ms. */
  constructor(
    retry: { readonly initialMs: number; readonly maxMs: number },
    deps: {
      readonly logger: Logger;
      readonly metrics: LedgerMetrics;
      readonly backlog: () => number;
    },
  ) {
    this.#backoff = new Backoff(retry.initialMs, retry.maxMs);
    this.#logger = deps.logger;
    this.#metrics = deps.metrics;
    this.#backlog = deps.backlog;
  }

  /** Why the database does not take writes, or undefined while it does. */
  get down(): string | undefined {
    return this.#down;
  }

  /** True when a write may be tried now: the database is up, or its backoff has passed. */
  get due(): boolean {
    return this.#down === undefined || performance.now() >= this.#retryAt;
  }

  /** A write (or opening the database) failed: counted, logged once per outage, backed off. */
  failed(error: unknown): void {
    this.#metrics.writeError();
    const delay = this.#backoff.next();
    this.#retryAt = performance.now() + delay;
    const reason = errorMessage(error);
    if (this.#down === undefined) {
      this.#logger.warn(
        { err: reason, backlog: this.#backlog(), retryMs: delay },
        'ledger database unavailable; records go to the spool',
      );
    }
    this.#down = reason;
  }

  /** A write (or opening the database) succeeded. */
  recovered(): void {
    if (this.#down !== undefined) {
      this.#logger.info({ backlog: this.#backlog() }, 'ledger database available again');
    }
    this.#down = undefined;
    this.#backoff.reset();
  }
}

/**
 * Retention: a part that removes, off the hot path and in small steps, the records of
 * certificates expired for longer than the retention period, and refusals and findings older than
 * it. Each step is one transaction that also appends a prune record to the pruner's own chain
 * (see `sql/prune.ts`), so that the chains stay verifiable. Replicas may all run one: the stores
 * serialize the steps.
 *
 * @module
 */
import type { Clock } from '../clock.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Part } from '../runtime/index.js';
import { BackgroundLoops } from '../runtime/index.js';
import { sleep } from '../util/index.js';
import { ChainWriter } from './chain.js';
import type { LedgerStore } from './store.js';

/** Options of {@link LedgerPruner}. */
export interface LedgerPrunerOptions {
  /** The chain label, e.g. `pruner@<pod>`. */
  readonly writer: string;
  /** How long records are kept after their certificate expired (or their time), ms. Default 30 days. */
  readonly retentionMs?: number;
  /** Between runs, ms. Default 1 hour. */
  readonly intervalMs?: number;
  /** Records per step. Default 500. */
  readonly batchSize?: number;
  /** Pause between steps of one run, ms, leaving the database to the writers. Default 100. */
  readonly pauseMs?: number;
}

/** What one run removed. */
export interface PruneSummary {
  readonly records: number;
  readonly derivedRows: number;
  readonly steps: number;
}

/** Default retention: 30 days. */
export const DEFAULT_RETENTION_MS = 30 * 24 * 3600 * 1000;

/** The pruner part. */
export class LedgerPruner implements Part {
  readonly name = 'ledger-pruner';
  readonly #store: LedgerStore;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #chain: ChainWriter;
  readonly #retentionMs: number;
  readonly #intervalMs: number;
  readonly #batchSize: number;
  readonly #pauseMs: number;
  readonly #loops: BackgroundLoops;

  /** `store` must be open (the recorder opens it) before the first run. */
  constructor(
    options: LedgerPrunerOptions,
    deps: { store: LedgerStore; clock: Clock; logger: Logger },
  ) {
    this.#store = deps.store;
    this.#clock = deps.clock;
    this.#logger = deps.logger;
    this.#chain = new ChainWriter(options.writer);
    this.#retentionMs = options.retentionMs ?? DEFAULT_RETENTION_MS;
    this.#intervalMs = options.intervalMs ?? 3600_000;
    this.#batchSize = options.batchSize ?? 500;
    this.#pauseMs = options.pauseMs ?? 100;
    this.#loops = new BackgroundLoops(deps.logger);
    if (this.#retentionMs <= 0 || this.#batchSize < 1) {
      throw new TypeError('ledger retention and prune batch size must be positive');
    }
  }

  start(signal: AbortSignal): Promise<void> {
    this.#loops.link(signal);
    this.#loops.run('ledger-pruner', async (loopSignal) => {
      for (;;) {
        await sleep(this.#intervalMs, loopSignal);
        if (loopSignal.aborted) return;
        try {
          await this.pruneNow(loopSignal);
        } catch (error) {
          this.#logger.warn(
            { err: errorMessage(error) },
            'ledger pruning failed; retried next run',
          );
        }
      }
    });
    return Promise.resolve();
  }

  /** One run: steps until nothing is left to prune (or `signal` aborts). */
  async pruneNow(signal?: AbortSignal): Promise<PruneSummary> {
    let records = 0;
    let derivedRows = 0;
    let steps = 0;
    while (signal?.aborted !== true) {
      const now = this.#clock.now().getTime();
      const result = await this.#store.prune({
        cutoff: now - this.#retentionMs,
        limit: this.#batchSize,
        record: (pruned, carriedGaps) =>
          this.#chain.draft(
            { type: 'prune', time: this.#clock.now().toISOString(), pruned, carriedGaps },
            now,
            null,
          ),
      });
      // The prune record took its place only once its transaction committed.
      if (result.pruneRecord !== undefined) this.#chain.commit(result.pruneRecord);
      steps++;
      records += result.records;
      derivedRows += result.derivedRows;
      if (result.records === 0 && result.derivedRows === 0) break;
      await sleep(this.#pauseMs, signal);
    }
    if (records > 0 || derivedRows > 0) {
      this.#logger.info({ records, derivedRows, steps }, 'ledger pruned');
    }
    return { records, derivedRows, steps };
  }

  close(): Promise<void> {
    return this.#loops.close();
  }
}

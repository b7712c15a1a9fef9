/**
 * The records of one recorder that have not reached the database yet: a queue in memory, the
 * spool on disk behind it, and the batch being written. It keeps them in order (spool first), keeps
 * their number bounded (dropping the oldest, announced by a chained gap record, when full), and
 * keeps the spool file small (emptied once written, compacted once mostly written).
 *
 * When the spool file cannot be written (a full disk), the records stay in memory, in order, still
 * bounded, and the spool is retried with a backoff; {@link Backlog.spoolWritable} says so (the
 * recorder's `fail-closed` gate reads it). Nothing here throws: a spool that cannot be written is
 * counted (`meshca_ledger_spool_write_errors_total`) and logged once per outage.
 *
 * @module
 */
import type { Clock } from '../clock.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import type { LedgerMetrics } from '../metrics/index.js';
import { Backoff } from '../util/index.js';
import type { ChainWriter } from './chain.js';
import type { ChainedRecord, GapFact } from './records.js';
import type { SequenceRange, Spool } from './spool.js';

/** Records appended to the spool at most at once, so that a retry costs little. */
const SPILL_CHUNK = 1000;

/** A batch taken for writing. */
export interface Batch {
  readonly records: readonly ChainedRecord[];
  /** Taken from the spool (else from memory). */
  readonly spooled: boolean;
}

/** Collaborators and bounds of a {@link Backlog}. */
export interface BacklogOptions {
  readonly spool: Spool;
  /** Makes the gap records. */
  readonly chain: ChainWriter;
  /** Records at most; beyond, the oldest are dropped. */
  readonly hardMax: number;
  /** Records dropped at least at once, so that a sustained overflow makes few gap records. */
  readonly dropChunk: number;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: LedgerMetrics;
  /** Retry delays of a spool that cannot be written, ms. Defaults 250 and 5000. */
  readonly spoolRetryInitialMs?: number;
  readonly spoolRetryMaxMs?: number;
}

/** Records waiting for the database. Not shared between processes. */
export class Backlog {
  readonly #options: BacklogOptions;
  /** Newest last: in memory only. */
  #queue: ChainedRecord[] = [];
  /** Newest last: in the spool file, mirrored here. */
  #spooled: ChainedRecord[] = [];
  /** Oldest first: being appended to the spool file (between {@link #queue} and the file). */
  #spilling: ChainedRecord[] = [];
  #inFlight: Batch | undefined;
  /** Ranges dropped but maybe still in the spool file, to mark there. */
  #tombstones: SequenceRange[] = [];
  /** Why the spool file cannot be written, while it cannot. */
  #spoolFailure: string | undefined;
  #spoolRetryAt = 0;
  readonly #spoolBackoff: Backoff;

  constructor(options: BacklogOptions) {
    this.#options = options;
    this.#spoolBackoff = new Backoff(
      options.spoolRetryInitialMs ?? 250,
      options.spoolRetryMaxMs ?? 5000,
    );
  }

  /** Records waiting (memory, in flight, spool). */
  get size(): number {
    return (
      this.#queue.length +
      this.#spilling.length +
      this.#spooled.length +
      (this.#inFlight?.records.length ?? 0)
    );
  }

  /** False while the spool file cannot be written (records then wait in memory only). */
  get spoolWritable(): boolean {
    return this.#spoolFailure === undefined;
  }

  /** Why the spool file cannot be written, or undefined. */
  get spoolFailure(): string | undefined {
    return this.#spoolFailure;
  }

  /** Records in memory, not yet in the spool. */
  get inMemory(): number {
    return this.#queue.length;
  }

  /** Loads the spool left by a previous process. Sync: at start-up only. */
  load(): number {
    this.#spooled = this.#options.spool.load();
    this.publish();
    return this.#spooled.length;
  }

  /** Queues a new record, dropping the oldest first when full. */
  push(record: ChainedRecord): void {
    if (this.size >= this.#options.hardMax) this.#dropOldest();
    this.#queue.push(record);
    this.publish();
  }

  /** The next batch to write: from the spool while it has records (the order holds), else memory. */
  take(size: number): Batch | undefined {
    const spooled = this.#spooled.length > 0;
    const records = (spooled ? this.#spooled : this.#queue).splice(0, size);
    if (records.length === 0) return undefined;
    this.#inFlight = { records, spooled };
    return this.#inFlight;
  }

  /** The batch is in the database. */
  written(batch: Batch): void {
    if (this.#inFlight === batch) this.#inFlight = undefined;
    this.#options.metrics.written(batch.records.length);
    this.publish();
  }

  /** The batch failed: back at the front, where it was. */
  failed(batch: Batch): void {
    if (this.#inFlight === batch) this.#inFlight = undefined;
    if (batch.spooled) this.#spooled.unshift(...batch.records);
    else this.#queue.unshift(...batch.records);
  }

  /**
   * Moves the records in memory to the spool file (after what is already there), in chunks. A
   * chunk that cannot be written stays in memory, in front of newer records, and the spool is
   * tried again after a backoff (at once with `force`, the last chance at shutdown).
   *
   * @returns true when nothing is left in memory.
   */
  async spill(options: { readonly force?: boolean } = {}): Promise<boolean> {
    if (this.#spoolFailure !== undefined && options.force !== true) {
      if (performance.now() < this.#spoolRetryAt) return this.#queue.length === 0;
    }
    if (!(await this.#markDropped())) return this.#queue.length === 0;
    while (this.#queue.length > 0) {
      this.#spilling = this.#queue.splice(0, SPILL_CHUNK);
      try {
        await this.#options.spool.append(this.#spilling);
        this.#spooled.push(...this.#spilling);
        this.#spoolWritten();
      } catch (error) {
        // Not on disk: back in front of the records that arrived meanwhile, for the database or
        // the next try.
        this.#queue.unshift(...this.#spilling);
        this.#spoolFailed(error);
        return false;
      } finally {
        this.#spilling = [];
        this.publish();
      }
    }
    return true;
  }

  /** True while records wait in the spool (new ones then go there too, behind them). */
  get spooling(): boolean {
    return this.#spooled.length > 0;
  }

  /** Keeps the spool file small: empty once drained, rewritten once mostly written. */
  async compact(): Promise<void> {
    const spool = this.#options.spool;
    try {
      if (this.#spooled.length === 0 && spool.lines > 0) {
        // Truncating needs no space: it is what gives space back on a full disk.
        await spool.clear();
        this.#tombstones.length = 0;
        return;
      }
      if (!(await this.#markDropped())) return;
      if (spool.lines > 2 * this.#spooled.length + 1000) {
        if (this.#spoolFailure !== undefined && performance.now() < this.#spoolRetryAt) return;
        await spool.rewrite(this.#spooled);
      }
    } catch (error) {
      // The old file is whole (rewrite renames a complete copy over it): nothing is lost.
      this.#spoolFailed(error);
    }
  }

  /** Records arriving after the recorder closed go straight to the file. */
  appendAfterClose(record: ChainedRecord): void {
    this.#options.spool.appendSync([record]);
  }

  /**
   * Logs what shutdown left: nothing (`ledger flushed at shutdown`), records in the spool for the
   * next start, or records neither the database nor the spool could take (lost, and counted as
   * dropped).
   *
   * @param waiting Records waiting when shutdown began.
   * @param database Why the database did not take the rest, if it did not.
   */
  reportShutdown(waiting: number, elapsedMs: number, database: string | undefined): void {
    const { logger } = this.#options;
    const left = this.size;
    const lost = this.#queue.length;
    const fields = { written: Math.max(0, waiting - left), ms: Math.round(elapsedMs) };
    if (left === 0) {
      logger.info(fields, 'ledger flushed at shutdown');
    } else if (lost === 0) {
      logger.warn(
        { ...fields, spooled: left, database },
        'ledger not flushed at shutdown; the rest waits in the spool for the next start',
      );
    } else {
      this.#options.metrics.dropped(lost);
      logger.error(
        { ...fields, spooled: left - lost, lost, spool: this.#spoolFailure },
        'ledger records lost at shutdown: neither the database nor the spool could take them',
      );
    }
  }

  /** Publishes the backlog gauges. */
  publish(): void {
    const spooled =
      this.#spooled.length + (this.#inFlight?.spooled === true ? this.#inFlight.records.length : 0);
    this.#options.metrics.backlog(this.size - spooled, spooled);
  }

  /** Writes the pending tombstones; false (kept for the next try) when the spool cannot be written. */
  async #markDropped(): Promise<boolean> {
    if (this.#tombstones.length === 0) return true;
    const ranges = this.#tombstones.splice(0);
    try {
      await this.#options.spool.markDropped(ranges);
      this.#spoolWritten();
      return true;
    } catch (error) {
      this.#tombstones.unshift(...ranges);
      this.#spoolFailed(error);
      return false;
    }
  }

  #spoolFailed(error: unknown): void {
    this.#options.metrics.spoolWriteError();
    const delay = this.#spoolBackoff.next();
    this.#spoolRetryAt = performance.now() + delay;
    const reason = errorMessage(error);
    if (this.#spoolFailure === undefined) {
      this.#options.logger.error(
        { err: reason, path: this.#options.spool.path, backlog: this.size, retryMs: delay },
        'ledger spool cannot be written; records wait in memory',
      );
    }
    this.#spoolFailure = reason;
  }

  #spoolWritten(): void {
    if (this.#spoolFailure !== undefined) {
      this.#options.logger.info(
        { path: this.#options.spool.path, backlog: this.size },
        'ledger spool writable again',
      );
    }
    this.#spoolFailure = undefined;
    this.#spoolBackoff.reset();
  }

  /**
   * Drops the oldest waiting records, enough to make room for a gap record and the new record
   * (and at least `dropChunk`), then chains one gap record for them. A dropped gap record's facts
   * are carried into the new one, merged with the new ranges, so that no hole loses its
   * explanation.
   */
  #dropOldest(): void {
    const count = Math.max(this.#options.dropChunk, this.size - this.#options.hardMax + 2);
    // Oldest first: the spool file, the chunk being appended to it, then memory.
    const dropped = this.#spooled.splice(0, count);
    dropped.push(...this.#spilling.splice(0, count - dropped.length));
    dropped.push(...this.#queue.splice(0, count - dropped.length));
    if (dropped.length === 0) return;
    const facts: GapFact[] = [];
    for (const record of dropped) {
      if (record.body.type === 'gap') facts.push(...record.body.gaps);
      facts.push({
        chainId: record.chainId,
        fromSequence: record.sequence,
        toSequence: record.sequence,
        prevHash: record.prevHash,
        lastHash: record.hash,
        reason: 'spool-full',
      });
    }
    const gaps = mergeGaps(facts);
    this.#tombstones.push(
      ...gaps.map((gap) => ({ chainId: gap.chainId, from: gap.fromSequence, to: gap.toSequence })),
    );
    this.#options.metrics.dropped(dropped.length);
    this.#options.logger.error(
      { dropped: dropped.length, max: this.#options.hardMax, gaps },
      'ledger spool full: oldest records dropped',
    );
    const now = this.#options.clock.now();
    this.#queue.push(
      this.#options.chain.next(
        { type: 'gap', time: now.toISOString(), gaps },
        now.getTime(),
        now.getTime(),
      ),
    );
  }
}

/** Merges gap facts of consecutive ranges of the same chain. */
export function mergeGaps(facts: readonly GapFact[]): GapFact[] {
  const sorted = [...facts].sort((a, b) =>
    a.chainId === b.chainId ? a.fromSequence - b.fromSequence : a.chainId < b.chainId ? -1 : 1,
  );
  const merged: GapFact[] = [];
  for (const fact of sorted) {
    const last = merged[merged.length - 1];
    if (last?.chainId === fact.chainId && fact.fromSequence <= last.toSequence + 1) {
      if (fact.toSequence > last.toSequence) {
        merged[merged.length - 1] = {
          ...last,
          toSequence: fact.toSequence,
          lastHash: fact.lastHash,
        };
      }
    } else {
      merged.push(fact);
    }
  }
  return merged;
}

/**
 * The records of one recorder that have not reached the database yet: a queue in memory, the
 * spool on disk behind it, and the batch being written. It keeps them in order (spool first), keeps
 * their number bounded (dropping the oldest, announced by a chained gap record, when full), and
 * keeps the spool file small (emptied once written, compacted once mostly written).
 *
 * @module
 */
import type { Clock } from '../clock.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import type { LedgerMetrics } from '../metrics/index.js';
import type { ChainWriter } from './chain.js';
import type { ChainedRecord, GapFact } from './records.js';
import type { SequenceRange, Spool } from './spool.js';

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
}

/** Records waiting for the database. Not shared between processes. */
export class Backlog {
  readonly #options: BacklogOptions;
  /** Newest last: in memory only. */
  #queue: ChainedRecord[] = [];
  /** Newest last: in the spool file, mirrored here. */
  #spooled: ChainedRecord[] = [];
  #inFlight: Batch | undefined;
  /** Ranges dropped but maybe still in the spool file, to mark there. */
  #tombstones: SequenceRange[] = [];

  constructor(options: BacklogOptions) {
    this.#options = options;
  }

  /** Records waiting (memory, in flight, spool). */
  get size(): number {
    return this.#queue.length + this.#spooled.length + (this.#inFlight?.records.length ?? 0);
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

  /** Moves every record in memory to the spool file (after what is already there). */
  async spill(): Promise<void> {
    await this.#markDropped();
    if (this.#queue.length === 0) return;
    const records = this.#queue;
    this.#queue = [];
    // Mirrored even if the file cannot be written: they are still written to the database later.
    this.#spooled.push(...records);
    try {
      await this.#options.spool.append(records);
    } catch (error) {
      this.#options.logger.error(
        { err: errorMessage(error), path: this.#options.spool.path },
        'ledger spool write failed',
      );
    }
    this.publish();
  }

  /** True while records wait in the spool (new ones then go there too, behind them). */
  get spooling(): boolean {
    return this.#spooled.length > 0;
  }

  /** Keeps the spool file small: empty once drained, rewritten once mostly written. */
  async compact(): Promise<void> {
    await this.#markDropped();
    const spool = this.#options.spool;
    if (this.#spooled.length === 0 && spool.lines > 0) await spool.clear();
    else if (spool.lines > 2 * this.#spooled.length + 1000) await spool.rewrite(this.#spooled);
  }

  /** Records arriving after the recorder closed go straight to the file. */
  appendAfterClose(record: ChainedRecord): void {
    this.#options.spool.appendSync([record]);
  }

  /** Publishes the backlog gauges. */
  publish(): void {
    const spooled =
      this.#spooled.length + (this.#inFlight?.spooled === true ? this.#inFlight.records.length : 0);
    this.#options.metrics.backlog(this.size - spooled, spooled);
  }

  async #markDropped(): Promise<void> {
    await this.#options.spool.markDropped(this.#tombstones.splice(0));
  }

  /**
   * Drops the oldest waiting records, enough to make room for a gap record and the new record
   * (and at least `dropChunk`), then chains one gap record for them. A dropped gap record's facts
   * are carried into the new one, merged with the new ranges, so that no hole loses its
   * explanation.
   */
  #dropOldest(): void {
    const count = Math.max(this.#options.dropChunk, this.size - this.#options.hardMax + 2);
    const fromSpool = this.#spooled.splice(0, count);
    const dropped = [...fromSpool, ...this.#queue.splice(0, count - fromSpool.length)];
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

/**
 * The ledger recorder: the issuance path's way into the ledger. It observes every issuance event
 * (synchronously: it chains the record and queues it, nothing more), writes queued records in
 * batches (one transaction a batch) from a background loop, and never lets the database slow or
 * fail issuance:
 *
 * - while the database is down or failing, waiting records go to the spool file (append + fsync),
 *   which survives a restart and is written, in order, once the database is back; a record that
 *   reached the database is never written twice (inserts are idempotent on chain and sequence);
 * - the backlog (memory + spool) is bounded by `spoolMaxRecords`; when it is full, the configured
 *   behaviour applies: `drop-oldest` drops the oldest waiting records (counted, logged, and
 *   announced by a chained gap record so that `verify` tells the hole from a deletion), or
 *   `fail-closed` closes the {@link IssuanceGate} (UNAVAILABLE, which proxies retry). Refusals
 *   still recorded while the gate is closed may take the backlog 10% past the bound; beyond that,
 *   the oldest are dropped as with `drop-oldest`, so that memory and disk stay bounded;
 * - a full disk (SQLite's file and the spool both on it) is a database outage whose spool cannot
 *   be written either: the records wait in memory, within the same bound, and `fail-closed`
 *   closes the gate at once, since nothing it would issue could be kept. Both are retried, and
 *   everything kept is written once there is room.
 *
 * What a crash (SIGKILL) can lose: records still in memory, at most one flush interval's worth
 * while the database is up, or the batch being written when a write hangs (until the pg statement
 * timeout), or, on a full disk, everything waiting. A clean shutdown ({@link LedgerRecorder.close})
 * writes within `closeTimeoutMs`, spools the rest and logs what it did.
 *
 * The chain head is logged and exported (`meshca_ledger_chain_head_sequence`) at a fixed
 * interval, so that an outside system can anchor it (see `verify.ts`).
 *
 * @module
 */
import { errorMessage, type MeshCaError, UnavailableError } from '../errors.js';
import type { IssuanceEvent, IssuanceGate, IssuanceObserver } from '../events/index.js';
import type { Part, ReadinessCheck } from '../runtime/index.js';
import { BackgroundLoops } from '../runtime/index.js';
import { raceSignal, sleep, withDeadline } from '../util/index.js';
import { ChainWriter, type ChainHead } from './chain.js';
import { issuanceKeepUntil, issuanceRecordOf } from './event-mapping.js';
import type { RecordBody } from './records.js';
import type { FindingInput, RetireInput, RevokeInput } from './lifecycle-records.js';
import { findingBody, retireBody, revokeBody } from './lifecycle-records.js';
import { Spool } from './spool.js';
import { Backlog } from './backlog.js';
import { DatabaseHealth } from './database-health.js';
import type {
  LedgerRecorderDeps,
  LedgerRecorderOptions,
  SpoolFullBehaviour,
} from './recorder-options.js';

/** The recorder: an issuance observer, an issuance gate, and a part. */
export class LedgerRecorder implements IssuanceObserver, IssuanceGate, Part {
  readonly name = 'ledger';
  readonly #deps: LedgerRecorderDeps;
  readonly #chain: ChainWriter;
  readonly #backlog: Backlog;
  readonly #max: number;
  readonly #behaviour: SpoolFullBehaviour;
  readonly #batchSize: number;
  readonly #flushIntervalMs: number;
  readonly #headIntervalMs: number;
  readonly #closeTimeoutMs: number;
  readonly #writeTimeoutMs: number;
  readonly #database: DatabaseHealth;
  readonly #loops: BackgroundLoops;
  #opened = false;
  #closed = false;
  #closing: Promise<void> | undefined;
  /** Aborted when `close` runs out of time: the write in progress stops being waited for. */
  readonly #cut = new AbortController();
  #wake: (() => void) | undefined;
  /** Serializes writing: the loop, {@link flush} and {@link close} never write concurrently. */
  #writing: Promise<unknown> = Promise.resolve();

  constructor(options: LedgerRecorderOptions, deps: LedgerRecorderDeps) {
    this.#deps = deps;
    this.#chain = new ChainWriter(options.writer);
    this.#max = options.spoolMaxRecords ?? 100_000;
    this.#behaviour = options.spoolFull ?? 'drop-oldest';
    this.#backlog = new Backlog({
      spool: new Spool(options.spoolPath),
      chain: this.#chain,
      hardMax:
        this.#behaviour === 'fail-closed' ? this.#max + Math.ceil(this.#max / 10) : this.#max,
      dropChunk: Math.max(1, Math.floor(this.#max / 100)),
      clock: deps.clock,
      logger: deps.logger,
      metrics: deps.metrics,
      spoolRetryInitialMs: Math.min(250, options.retryInitialMs ?? 250),
      spoolRetryMaxMs: Math.min(5000, options.retryMaxMs ?? 5000),
    });
    this.#batchSize = options.batchSize ?? 200;
    this.#flushIntervalMs = options.flushIntervalMs ?? 200;
    this.#headIntervalMs = options.headIntervalMs ?? 60_000;
    this.#closeTimeoutMs = options.closeTimeoutMs ?? 5000;
    this.#writeTimeoutMs = options.writeTimeoutMs ?? 10_000;
    this.#database = new DatabaseHealth(
      { initialMs: options.retryInitialMs ?? 500, maxMs: options.retryMaxMs ?? 30_000 },
      { logger: deps.logger, metrics: deps.metrics, backlog: () => this.backlog() },
    );
    this.#loops = new BackgroundLoops(deps.logger);
    if (!Number.isInteger(this.#max) || this.#max < 1 || this.#batchSize < 1) {
      throw new TypeError('the ledger spool and batch sizes must be positive integers');
    }
  }

  /** This process's chain and where it stands. */
  head(): ChainHead {
    return this.#chain.head();
  }

  /** Records waiting for the database (memory, in flight, spool). */
  backlog(): number {
    return this.#backlog.size;
  }

  /** Records an issuance event (see `event-mapping.ts` for which are recorded). Never throws. */
  observe(event: IssuanceEvent): void {
    try {
      const body = issuanceRecordOf(event, this.#deps.currentIssuer?.());
      if (body === undefined) return;
      const time = event.time.getTime();
      this.#enqueue(body, time, issuanceKeepUntil(body, time));
    } catch (error) {
      this.#lost(error);
    }
  }

  /** Records that certificates' workload is gone. */
  retire(input: RetireInput): void {
    const now = this.#deps.clock.now();
    this.#enqueue(retireBody(input, now), now.getTime(), now.getTime());
  }

  /** Records a revocation by hand. */
  revoke(input: RevokeInput): void {
    const now = this.#deps.clock.now();
    this.#enqueue(revokeBody(input, now), now.getTime(), now.getTime());
  }

  /** Records a discovery finding. */
  finding(input: FindingInput): void {
    const now = this.#deps.clock.now();
    this.#enqueue(findingBody(input, now), now.getTime(), now.getTime());
  }

  /**
   * Closed (UNAVAILABLE) under `fail-closed` while the backlog is full, or while neither the
   * database nor the spool can be written (a full disk): a record made now could not be kept.
   */
  admit(): MeshCaError | undefined {
    if (this.#behaviour !== 'fail-closed') return undefined;
    if (this.backlog() >= this.#max) {
      return new UnavailableError(
        'ERR_LEDGER_UNAVAILABLE',
        `the ledger cannot record: ${this.backlog()} records wait for the database (at most ${this.#max})`,
      );
    }
    const spoolFailure = this.#backlog.spoolFailure;
    if (this.#database.down === undefined || spoolFailure === undefined) return undefined;
    return new UnavailableError(
      'ERR_LEDGER_UNAVAILABLE',
      `the ledger cannot record: neither its database (${this.#database.down}) nor its spool (${spoolFailure}) can be written; ${this.backlog()} records wait in memory`,
    );
  }

  readiness(): readonly ReadinessCheck[] {
    return [
      {
        name: 'ledger',
        severity: 'informational',
        check: () => {
          if (this.#database.down === undefined) return undefined;
          const spoolFailure = this.#backlog.spoolFailure;
          return `ledger database unavailable (${this.#database.down}); ${this.backlog()} records waiting${
            spoolFailure === undefined
              ? ''
              : `, in memory: the spool cannot be written (${spoolFailure})`
          }`;
        },
      },
    ];
  }

  /**
   * Replays the spool and opens the database (migrating it). A database that cannot be reached
   * does not stop start-up (records wait in the spool); a database newer than this meshca does.
   */
  async start(signal: AbortSignal): Promise<void> {
    const replayed = this.#backlog.load();
    if (replayed > 0) this.#deps.logger.info({ records: replayed }, 'ledger spool replayed');
    await this.#open();
    this.#loops.link(signal);
    this.#loops.run('ledger-writer', (loopSignal) => this.#writeLoop(loopSignal));
    this.#loops.run('ledger-head', async (loopSignal) => {
      while (!loopSignal.aborted) {
        await sleep(this.#headIntervalMs, loopSignal);
        this.#logHead();
      }
    });
  }

  /**
   * Writes everything waiting, returning once the backlog is empty.
   *
   * @throws Error when the database is unavailable at the deadline (records stay queued).
   */
  async flush(timeoutMs = this.#closeTimeoutMs): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (this.backlog() > 0) {
      await this.#exclusive(() => this.#writeAll(deadline));
      if (this.backlog() === 0) return;
      if (performance.now() >= deadline) {
        throw new Error(`ledger flush timed out with ${this.backlog()} records waiting`);
      }
      await sleep(Math.min(50, this.#flushIntervalMs));
    }
  }

  /**
   * Stops the loops, writes what it can within `closeTimeoutMs` (the write in progress included),
   * spools the rest, closes the database, and logs what it did: `ledger flushed at shutdown`, or
   * what stays in the spool for the next start, or (a full disk) what neither could take.
   * Records that arrive afterwards (requests cut at the grace period) go straight to the spool.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const started = performance.now();
    const deadline = started + this.#closeTimeoutMs;
    const cut = setTimeout(() => {
      this.#cut.abort();
    }, this.#closeTimeoutMs);
    const waiting = this.backlog();
    await this.#loops.close();
    await this.#exclusive(async () => {
      try {
        await this.#writeAll(deadline);
      } catch (error) {
        this.#deps.logger.error({ err: errorMessage(error) }, 'ledger final write failed');
      }
      // From here on, records go straight to the spool file: nothing is left behind in memory.
      this.#closed = true;
      await this.#backlog.spill({ force: true });
    }).catch((error: unknown) => {
      this.#closed = true;
      this.#deps.logger.error({ err: errorMessage(error) }, 'ledger spool write failed at close');
    });
    clearTimeout(cut);
    this.#backlog.reportShutdown(waiting, performance.now() - started, this.#database.down);
    this.#logHead();
    await withDeadline(
      this.#deps.store.close(),
      performance.now() + 1000,
      () => new Error('closing the ledger database timed out'),
    ).catch((error: unknown) => {
      this.#deps.logger.warn({ err: errorMessage(error) }, 'ledger database close failed');
    });
  }

  // --- enqueueing (synchronous, on the issuance path) ---

  #enqueue(body: RecordBody, time: number, keepUntil: number | null): void {
    try {
      const record = this.#chain.next(body, time, keepUntil);
      if (this.#closed) {
        this.#backlog.appendAfterClose(record);
        return;
      }
      this.#backlog.push(record);
      if (this.#backlog.inMemory >= this.#batchSize) this.#wake?.();
    } catch (error) {
      this.#lost(error);
    }
  }

  /** Observing never fails a request: a record that cannot be made is lost, and said so. */
  #lost(error: unknown): void {
    this.#deps.metrics.dropped(1);
    this.#deps.logger.error({ err: errorMessage(error) }, 'ledger record lost');
  }

  // --- writing (the background loop) ---

  async #writeLoop(signal: AbortSignal): Promise<void> {
    for (;;) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, this.#flushIntervalMs);
        function done(): void {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          resolve();
        }
        this.#wake = done;
        signal.addEventListener('abort', done, { once: true });
      });
      this.#wake = undefined;
      if (signal.aborted) return;
      try {
        await this.#exclusive(async () => {
          if (!this.#database.due) {
            await this.#backlog.spill();
            return;
          }
          await this.#writeAll(Number.POSITIVE_INFINITY);
        });
      } catch (error) {
        // The loop outlives any failure: a stopped writer would leave every later record behind.
        this.#database.failed(error);
      }
    }
  }

  /** Writes batches until nothing waits, a write fails, or `deadline` passes. */
  async #writeAll(deadline: number): Promise<void> {
    if (!this.#opened && !(await this.#open())) {
      await this.#backlog.spill();
      return;
    }
    while (performance.now() < deadline) {
      // Behind a spool, new records wait on disk too (appended after it: the order holds).
      if (this.#backlog.spooling) await this.#backlog.spill();
      const batch = this.#backlog.take(this.#batchSize);
      if (batch === undefined) break;
      try {
        await withDeadline(
          this.#cuttable(this.#deps.store.append(batch.records)),
          Math.min(deadline, performance.now() + this.#writeTimeoutMs),
          () => new Error('the ledger write timed out'),
        );
      } catch (error) {
        this.#backlog.failed(batch);
        this.#database.failed(error);
        await this.#backlog.spill();
        return;
      }
      this.#backlog.written(batch);
      this.#database.recovered();
    }
    await this.#backlog.compact();
  }

  /** Opens the database; false (logged, retried later) when it cannot be reached. */
  async #open(): Promise<boolean> {
    try {
      await this.#cuttable(this.#deps.store.open());
      this.#opened = true;
      this.#database.recovered();
      return true;
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ERR_LEDGER_SCHEMA') throw error;
      this.#database.failed(error);
      return false;
    }
  }

  #logHead(): void {
    const head = this.#chain.head();
    this.#deps.metrics.chainHead(head.sequence);
    this.#deps.logger.info(
      {
        chainId: head.chainId,
        writer: head.writer,
        sequence: head.sequence,
        hash: head.hash,
        backlog: this.backlog(),
      },
      'ledger chain head',
    );
  }

  /** `work`, no longer waited for once `close` runs out of time. */
  #cuttable<T>(work: Promise<T>): Promise<T> {
    return raceSignal(
      work,
      this.#cut.signal,
      () => new Error('the ledger write was cut: shutdown deadline reached'),
    );
  }

  #exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#writing.then(work, work);
    this.#writing = run.catch(() => undefined);
    return run;
  }
}

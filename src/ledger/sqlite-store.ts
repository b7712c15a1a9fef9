/**
 * The embedded ledger: one SQLite file (better-sqlite3) in the state directory, so that
 * development mode and a single replica need nothing to run.
 *
 * - WAL mode: readers (`meshca inventory`) never block the writer, nor the writer them.
 * - `synchronous=NORMAL`: with WAL, a commit does not fsync (checkpoints do), so a batch never
 *   holds the event loop for a disk flush; a committed batch survives a crash of meshca, and the
 *   file stays consistent, but the last batches may roll back on a power cut (SQLite's "WAL
 *   mode" documentation). FULL measured ~20 ms of blocked event loop per batch on these disks.
 * - Several processes may write one file (a replica and `meshca revoke`, or two test processes):
 *   every write transaction starts with `BEGIN IMMEDIATE`, which takes the write lock up front
 *   (a deferred transaction that later upgrades can fail with SQLITE_BUSY whatever the timeout).
 *   SQLite waits for the lock at most `busyTimeoutMs` at a time, synchronously (better-sqlite3 is
 *   synchronous), so the wait is kept short and retried asynchronously until `lockWaitMs`: the
 *   event loop, and so issuance, is never held longer than `busyTimeoutMs`.
 * - A full disk (SQLITE_FULL) or an I/O error (SQLITE_IOERR_*, SQLITE_CANTOPEN) fails the
 *   statement with `ERR_LEDGER_STORAGE`, naming the file and SQLite's code: the recorder handles it
 *   as a database outage. SQLite rolls the transaction back by itself ("Result and Error Codes":
 *   SQLITE_FULL, SQLITE_IOERR), and the same connection writes again once there is room.
 *
 * @module
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import type { Clock } from '../clock.js';
import { errorMessage, UnavailableError } from '../errors.js';
import { sleep } from '../util/index.js';
import type { SqlDriver, SqlExecutor, SqlRow, SqlValue } from './sql-driver.js';
import { SqlLedgerStore } from './sql-store.js';

/** The ledger file's name in the state directory. */
export const SQLITE_LEDGER_FILE = 'ledger.db';

/** The SQLite ledger's path in a state directory. */
export function sqliteLedgerPath(stateDir: string): string {
  return join(stateDir, SQLITE_LEDGER_FILE);
}

/** Options of {@link SqliteLedgerStore}. */
export interface SqliteLedgerOptions {
  /** The database file; created (with its directory, mode 0700) when missing. */
  readonly path: string;
  /** Longest synchronous wait for another process's write lock, ms. Default 100. */
  readonly busyTimeoutMs?: number;
  /** Longest total wait for the write lock before a write fails, ms. Default 30000. */
  readonly lockWaitMs?: number;
  /** For upgrade tests only: stop migrating at this schema version. */
  readonly migrateTo?: number;
}

/** The SQLite store. */
export class SqliteLedgerStore extends SqlLedgerStore {
  readonly kind = 'sqlite';
  readonly #options: SqliteLedgerOptions;

  constructor(options: SqliteLedgerOptions, clock: Clock) {
    super(clock, options.migrateTo);
    this.#options = options;
  }

  protected connect(): Promise<SqlDriver> {
    const { path } = this.#options;
    try {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      return Promise.resolve(
        new SqliteDriver(
          path,
          this.#options.busyTimeoutMs ?? 100,
          this.#options.lockWaitMs ?? 30_000,
        ),
      );
    } catch (error) {
      return Promise.reject(storageError(error, path));
    }
  }

  /** Each migration is a `BEGIN IMMEDIATE` transaction that re-reads the version: enough. */
  protected withMigrationLock<T>(_driver: SqlDriver, work: () => Promise<T>): Promise<T> {
    return work();
  }

  /** The prune step's `BEGIN IMMEDIATE` already excludes every other writer. */
  protected lockForPrune(): Promise<void> {
    return Promise.resolve();
  }
}

/** True for SQLite's "another connection holds the lock" errors. */
function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED' || code === 'SQLITE_BUSY_SNAPSHOT';
}

/** True for SQLite's "the file cannot be written" errors: a full disk, an I/O error. */
export function isSqliteStorageError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return (
    typeof code === 'string' &&
    (code === 'SQLITE_FULL' || code === 'SQLITE_CANTOPEN' || code.startsWith('SQLITE_IOERR'))
  );
}

/** A storage error as `ERR_LEDGER_STORAGE` (naming the file and SQLite's code); others as they are. */
function storageError(error: unknown, path: string): Error {
  if (!isSqliteStorageError(error)) {
    return error instanceof Error ? error : new Error(errorMessage(error));
  }
  const { code, message } = error as { code: unknown; message?: unknown };
  const what = code === 'SQLITE_FULL' ? 'the disk is full' : 'an I/O error';
  // SQLite's own sentence ("database or disk is full"), whichever realm made the error.
  const detail = typeof message === 'string' ? message : errorMessage(error);
  return new UnavailableError(
    'ERR_LEDGER_STORAGE',
    `the SQLite ledger ${path} cannot be written, ${what} (${String(code)}: ${detail})`,
    { cause: error },
  );
}

/** better-sqlite3 behind the async driver interface, one statement at a time. */
class SqliteDriver implements SqlDriver {
  readonly #path: string;
  readonly #db: Database.Database;
  readonly #statements = new Map<string, Database.Statement>();
  readonly #lockWaitMs: number;
  /** Serializes users of the one connection: a transaction's statements never interleave. */
  #tail: Promise<unknown> = Promise.resolve();

  constructor(path: string, busyTimeoutMs: number, lockWaitMs: number) {
    this.#path = path;
    this.#db = new Database(path, { timeout: busyTimeoutMs });
    this.#lockWaitMs = lockWaitMs;
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = NORMAL');
  }

  query(sql: string, params: readonly SqlValue[] = []): Promise<readonly SqlRow[]> {
    return this.#exclusive(() => this.#retryBusy(() => this.#run(sql, params))).catch(
      (error: unknown) => Promise.reject(storageError(error, this.#path)),
    );
  }

  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.#exclusive(async () => {
      await this.#retryBusy(() => this.#db.exec('BEGIN IMMEDIATE'));
      try {
        const result = await work({
          query: (sql, params = []) => Promise.resolve(this.#run(sql, params)),
        });
        this.#db.exec('COMMIT');
        return result;
      } catch (error) {
        // After SQLITE_FULL or SQLITE_IOERR, SQLite may have rolled back already.
        if (this.#db.inTransaction) {
          try {
            this.#db.exec('ROLLBACK');
          } catch {
            // The transaction's own error is the one to report.
          }
        }
        throw error;
      }
    }).catch((error: unknown) => Promise.reject(storageError(error, this.#path)));
  }

  close(): Promise<void> {
    return this.#exclusive(() => {
      this.#statements.clear();
      this.#db.close();
      return Promise.resolve();
    });
  }

  #run(sql: string, params: readonly SqlValue[]): readonly SqlRow[] {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    if (statement.reader) return statement.all(...params) as SqlRow[];
    statement.run(...params);
    return [];
  }

  /** Retries `step` while another process holds the lock, waiting asynchronously in between. */
  async #retryBusy<T>(step: () => T): Promise<T> {
    const started = performance.now();
    for (let delay = 5; ; delay = Math.min(delay * 2, 200)) {
      try {
        return step();
      } catch (error) {
        if (!isBusy(error) || performance.now() - started > this.#lockWaitMs) throw error;
      }
      await sleep(delay * (0.5 + Math.random()));
    }
  }

  #exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(work, work);
    this.#tail = run.catch(() => undefined);
    return run;
  }
}

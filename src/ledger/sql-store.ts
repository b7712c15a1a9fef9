/**
 * What the SQL stores share: the {@link LedgerStore} and {@link InventoryQuery} methods over a
 * {@link SqlDriver}. Each database's store supplies the connection, its migration lock and its
 * prune lock; the SQL is the same.
 *
 * @module
 */
import type { Clock } from '../clock.js';
import type { ChainedRecord } from './records.js';
import type {
  AppendResult,
  CertificateQuery,
  CertificateView,
  DenialRuleView,
  DenialView,
  FindingView,
  InventoryFilter,
  IssuerView,
  LedgerOverview,
  LedgerStore,
  Page,
  PageRequest,
  PruneRequest,
  PruneResult,
  RevocationView,
  StoredChain,
  StoredRecord,
  WorkloadView,
} from './store.js';
import { appendRecords } from './sql-append.js';
import type { SqlDriver, SqlExecutor, SqlRow } from './sql-driver.js';
import { numberColumn, optionalNumberColumn, textColumn } from './sql-driver.js';
import * as inventory from './sql-inventory.js';
import * as aggregates from './sql-overview.js';
import { currentSchemaVersion, LATEST_SCHEMA_VERSION, migrate } from './sql-migrations.js';
import { pruneStep } from './sql-prune.js';

/** The base of the SQL stores. */
export abstract class SqlLedgerStore implements LedgerStore {
  abstract readonly kind: string;
  readonly #clock: Clock;
  readonly #migrateTo: number;
  #driver: SqlDriver | undefined;

  /**
   * @param migrateTo The schema version to migrate to: the latest unless a test builds an older
   *   database to upgrade.
   */
  protected constructor(clock: Clock, migrateTo: number = LATEST_SCHEMA_VERSION) {
    this.#clock = clock;
    this.#migrateTo = migrateTo;
  }

  /** Opens the connection (pool). */
  protected abstract connect(): Promise<SqlDriver>;

  /** Runs `work` while no other process migrates this database. */
  protected abstract withMigrationLock<T>(driver: SqlDriver, work: () => Promise<T>): Promise<T>;

  /** Serializes prune steps across processes, inside the step's transaction. */
  protected abstract lockForPrune(tx: SqlExecutor): Promise<void>;

  protected get driver(): SqlDriver {
    if (this.#driver === undefined) throw new TypeError(`the ${this.kind} ledger is not open`);
    return this.#driver;
  }

  async open(): Promise<void> {
    if (this.#driver !== undefined) return;
    const driver = await this.connect();
    try {
      await this.withMigrationLock(driver, () =>
        migrate(driver, this.#clock.now().getTime(), this.#migrateTo),
      );
    } catch (error) {
      await driver.close();
      throw error;
    }
    this.#driver = driver;
  }

  append(records: readonly ChainedRecord[]): Promise<AppendResult> {
    if (records.length === 0) return Promise.resolve({ inserted: 0, duplicates: 0 });
    return this.driver.transaction((tx) => appendRecords(tx, records));
  }

  prune(request: PruneRequest): Promise<PruneResult> {
    return this.driver.transaction(async (tx) => {
      await this.lockForPrune(tx);
      return pruneStep(tx, request);
    });
  }

  async chains(): Promise<StoredChain[]> {
    const rows = await this.driver.query(
      `SELECT chain_id, MIN(writer) AS writer, MIN(sequence) AS first, MAX(sequence) AS last,
         COUNT(*) AS records
       FROM ledger_records GROUP BY chain_id ORDER BY chain_id`,
    );
    return rows.map((row) => ({
      chainId: textColumn(row, 'chain_id'),
      writer: textColumn(row, 'writer'),
      firstSequence: numberColumn(row, 'first'),
      lastSequence: numberColumn(row, 'last'),
      records: numberColumn(row, 'records'),
    }));
  }

  async readChain(chainId: string, after: number, limit: number): Promise<StoredRecord[]> {
    const rows = await this.driver.query(
      `SELECT ${RECORD_COLUMNS} FROM ledger_records
       WHERE chain_id = ? AND sequence > ? ORDER BY sequence LIMIT ?`,
      [chainId, after, limit],
    );
    return rows.map(storedRecord);
  }

  async recordsOfKind(kind: 'gap' | 'prune'): Promise<StoredRecord[]> {
    const rows = await this.driver.query(
      `SELECT ${RECORD_COLUMNS} FROM ledger_records WHERE kind = ? ORDER BY chain_id, sequence`,
      [kind],
    );
    return rows.map(storedRecord);
  }

  schemaVersion(): Promise<number> {
    return currentSchemaVersion(this.driver);
  }

  identities(
    now: Date,
    filter?: InventoryFilter,
    page?: PageRequest,
  ): Promise<Page<CertificateView>> {
    return inventory.identities(this.driver, now, filter, page);
  }

  expiring(
    now: Date,
    withinMs: number,
    filter?: InventoryFilter,
    page?: PageRequest,
  ): Promise<Page<CertificateView>> {
    return inventory.expiring(this.driver, now, withinMs, filter, page);
  }

  denials(since: Date, filter?: InventoryFilter, page?: PageRequest): Promise<Page<DenialView>> {
    return inventory.denials(this.driver, since, filter, page);
  }

  issuers(now: Date, filter?: InventoryFilter, page?: PageRequest): Promise<Page<IssuerView>> {
    return inventory.issuers(this.driver, now, filter, page);
  }

  workloads(filter?: InventoryFilter, page?: PageRequest): Promise<Page<WorkloadView>> {
    return inventory.workloads(this.driver, filter, page);
  }

  findings(since: Date, filter?: InventoryFilter, page?: PageRequest): Promise<Page<FindingView>> {
    return inventory.findings(this.driver, since, filter, page);
  }

  certificates(
    now: Date,
    filter?: InventoryFilter,
    query?: CertificateQuery,
    page?: PageRequest,
  ): Promise<Page<CertificateView>> {
    return aggregates.certificates(this.driver, now, filter, query, page);
  }

  overview(
    now: Date,
    since: Date,
    findingsSince: Date,
    filter?: InventoryFilter,
  ): Promise<LedgerOverview> {
    return aggregates.overview(this.driver, now, since, findingsSince, filter);
  }

  denialRules(since: Date, filter?: InventoryFilter, examples?: number): Promise<DenialRuleView[]> {
    return aggregates.denialRules(this.driver, since, filter, examples);
  }

  revocations(now: Date, issuer: string, page?: PageRequest): Promise<Page<RevocationView>> {
    return inventory.revocations(this.driver, now, issuer, page);
  }

  async close(): Promise<void> {
    const driver = this.#driver;
    this.#driver = undefined;
    await driver?.close();
  }
}

const RECORD_COLUMNS =
  'chain_id, sequence, writer, kind, time_ms, keep_until_ms, body, prev_hash, hash';

function storedRecord(row: SqlRow): StoredRecord {
  return {
    chainId: textColumn(row, 'chain_id'),
    sequence: numberColumn(row, 'sequence'),
    writer: textColumn(row, 'writer'),
    kind: textColumn(row, 'kind'),
    time: numberColumn(row, 'time_ms'),
    keepUntil: optionalNumberColumn(row, 'keep_until_ms'),
    bodyJson: textColumn(row, 'body'),
    prevHash: textColumn(row, 'prev_hash'),
    hash: textColumn(row, 'hash'),
  };
}

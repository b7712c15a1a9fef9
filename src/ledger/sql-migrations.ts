/**
 * The ledger schema, as forward-only migrations. The same statements serve SQLite and PostgreSQL
 * (BIGINT has integer affinity in SQLite), so that both stores hold one schema. Applied at
 * start-up, each in its own transaction that re-reads the version first, so that processes
 * starting together apply each migration once (SQLite serializes them with `BEGIN IMMEDIATE`;
 * the PostgreSQL store also holds an advisory lock around the whole run).
 *
 * Column names avoid SQL keywords (`time_ms`, `status_by`). Times are milliseconds since the epoch.
 *
 * @module
 */
import { InternalError } from '../errors.js';
import type { SqlDriver } from './sql-driver.js';
import { numberColumn } from './sql-driver.js';

/** One schema version. */
interface Migration {
  readonly version: number;
  readonly description: string;
  readonly statements: readonly string[];
}

/** Every migration, in order. Never edit one that has shipped: add the next. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'chained records, certificates, decisions',
    statements: [
      `CREATE TABLE ledger_records (
        chain_id TEXT NOT NULL, sequence BIGINT NOT NULL, writer TEXT NOT NULL, kind TEXT NOT NULL,
        time_ms BIGINT NOT NULL, keep_until_ms BIGINT, body TEXT NOT NULL,
        prev_hash TEXT NOT NULL, hash TEXT NOT NULL,
        PRIMARY KEY (chain_id, sequence))`,
      `CREATE INDEX ledger_records_kind ON ledger_records (kind)`,
      `CREATE TABLE ledger_certificates (
        issuer_fingerprint TEXT NOT NULL, serial TEXT NOT NULL, cluster TEXT,
        trust_domain TEXT NOT NULL, identity TEXT NOT NULL, namespace TEXT NOT NULL,
        service_account TEXT NOT NULL, pod_name TEXT, pod_uid TEXT, node_name TEXT, caller TEXT,
        key_algorithm TEXT, key_bits BIGINT, issued_at_ms BIGINT NOT NULL,
        not_before_ms BIGINT NOT NULL, not_after_ms BIGINT NOT NULL,
        status TEXT NOT NULL, status_time_ms BIGINT, status_reason TEXT, status_by TEXT,
        chain_id TEXT NOT NULL, sequence BIGINT NOT NULL,
        PRIMARY KEY (issuer_fingerprint, serial))`,
      `CREATE TABLE ledger_decisions (
        chain_id TEXT NOT NULL, sequence BIGINT NOT NULL, idx BIGINT NOT NULL,
        time_ms BIGINT NOT NULL, audit BIGINT NOT NULL, outcome TEXT NOT NULL, error_code TEXT,
        layer TEXT, rule TEXT, reason TEXT, cluster TEXT, trust_domain TEXT NOT NULL,
        identity TEXT NOT NULL, namespace TEXT NOT NULL, service_account TEXT NOT NULL,
        pod_name TEXT, caller TEXT, issuer_fingerprint TEXT,
        PRIMARY KEY (chain_id, sequence, idx))`,
    ],
  },
  {
    version: 2,
    description: 'findings, lifecycle state for records that arrive late, inventory indexes',
    statements: [
      `CREATE TABLE ledger_findings (
        chain_id TEXT NOT NULL, sequence BIGINT NOT NULL, time_ms BIGINT NOT NULL, cluster TEXT,
        kind TEXT NOT NULL, severity TEXT NOT NULL, object TEXT NOT NULL, fingerprint TEXT,
        detail TEXT NOT NULL,
        PRIMARY KEY (chain_id, sequence))`,
      `CREATE TABLE ledger_retired_pods (
        pod_uid TEXT PRIMARY KEY, namespace TEXT NOT NULL, name TEXT NOT NULL,
        time_ms BIGINT NOT NULL, reason TEXT NOT NULL)`,
      `CREATE TABLE ledger_serial_status (
        serial TEXT PRIMARY KEY, status TEXT NOT NULL, time_ms BIGINT NOT NULL,
        reason TEXT NOT NULL, status_by TEXT)`,
      `CREATE INDEX ledger_certificates_serial ON ledger_certificates (serial)`,
      `CREATE INDEX ledger_certificates_pod ON ledger_certificates (pod_uid)`,
      `CREATE INDEX ledger_certificates_not_after ON ledger_certificates (not_after_ms)`,
      `CREATE INDEX ledger_certificates_identity ON ledger_certificates (namespace, identity)`,
      `CREATE INDEX ledger_decisions_time ON ledger_decisions (time_ms)`,
      `CREATE INDEX ledger_findings_time ON ledger_findings (time_ms)`,
    ],
  },
  {
    version: 3,
    description:
      'covering indexes for the overview (console): issue time, expiry, decision time; allowlisted findings',
    // The overview counts the window's rows by cluster and intermediate (and status, audit):
    // with those columns in the index, both databases answer from the index alone (SQLite
    // "COVERING INDEX", PostgreSQL index-only scans once vacuumed), whatever the table holds.
    // The new expiry and decision-time indexes lead with the same column as the ones they
    // replace, so every query those served is served as well, and a write updates as many indexes.
    statements: [
      `CREATE INDEX ledger_certificates_issued
         ON ledger_certificates (issued_at_ms, cluster, issuer_fingerprint)`,
      `CREATE INDEX ledger_certificates_live
         ON ledger_certificates (not_after_ms, cluster, issuer_fingerprint, status)`,
      `DROP INDEX ledger_certificates_not_after`,
      `CREATE INDEX ledger_decisions_window
         ON ledger_decisions (time_ms, audit, cluster, issuer_fingerprint)`,
      `DROP INDEX ledger_decisions_time`,
      // 1 when an allowlist rule covers the finding (recorded since schema 3; none before).
      `ALTER TABLE ledger_findings ADD COLUMN allowlisted BIGINT NOT NULL DEFAULT 0`,
    ],
  },
];

/** The newest schema this code knows. */
export const LATEST_SCHEMA_VERSION = MIGRATIONS.length;

const CREATE_SCHEMA_TABLE =
  'CREATE TABLE IF NOT EXISTS ledger_schema (version BIGINT PRIMARY KEY, applied_at_ms BIGINT NOT NULL)';

/** The version a database is at (0 when empty). */
export async function currentSchemaVersion(driver: SqlDriver): Promise<number> {
  await driver.query(CREATE_SCHEMA_TABLE);
  const rows = await driver.query('SELECT MAX(version) AS version FROM ledger_schema');
  const row = rows[0];
  return row === undefined || row['version'] === null ? 0 : numberColumn(row, 'version');
}

/**
 * Applies the migrations after the database's version, up to `target`.
 *
 * @throws {@link InternalError} `ERR_LEDGER_SCHEMA` when the database is newer than this code
 *   (written by a later meshca): never downgrade it.
 */
export async function migrate(
  driver: SqlDriver,
  nowMs: number,
  target: number = LATEST_SCHEMA_VERSION,
): Promise<number> {
  await driver.query(CREATE_SCHEMA_TABLE);
  let version = await currentSchemaVersion(driver);
  if (version > LATEST_SCHEMA_VERSION) {
    throw new InternalError(
      'ERR_LEDGER_SCHEMA',
      `the ledger database is at schema version ${version}, newer than this meshca (${LATEST_SCHEMA_VERSION})`,
    );
  }
  for (const migration of MIGRATIONS) {
    if (migration.version > target) break;
    if (migration.version <= version) continue;
    version = await driver.transaction(async (tx) => {
      const rows = await tx.query('SELECT MAX(version) AS version FROM ledger_schema');
      const row = rows[0];
      const now = row === undefined || row['version'] === null ? 0 : numberColumn(row, 'version');
      // Another process applied it while this one waited for the lock.
      if (now >= migration.version) return now;
      for (const statement of migration.statements) await tx.query(statement);
      await tx.query('INSERT INTO ledger_schema (version, applied_at_ms) VALUES (?, ?)', [
        migration.version,
        nowMs,
      ]);
      return migration.version;
    });
  }
  return version;
}

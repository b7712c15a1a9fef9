/**
 * The identity ledger: every issuance and every refusal of an authenticated caller, recorded in
 * tamper-evident chains in SQLite or PostgreSQL, with the lifecycle of each certificate (retired
 * when its workload is gone, revoked by hand), discovery findings, the inventory views and
 * retention. Only this folder imports the database drivers.
 *
 * @module
 */
export type { ChainHead } from './chain.js';
export { ChainWriter, newChainId } from './chain.js';
export { canonicalJson, recordHash, ZERO_HASH } from './canonical.js';
export { issuanceRecordOf } from './event-mapping.js';
export type {
  ChainedRecord,
  FindingRecordBody,
  GapFact,
  GapRecordBody,
  IssuanceRecordBody,
  JsonValue,
  PruneFact,
  PruneRecordBody,
  RecordBody,
  RecordKind,
  RetireRecordBody,
  RevokeRecordBody,
} from './records.js';
export type {
  AppendResult,
  CertificateQuery,
  CertificateState,
  CertificateView,
  DenialRuleView,
  DenialView,
  FindingView,
  InventoryFilter,
  InventoryQuery,
  IssuerView,
  LedgerOverview,
  LedgerStore,
  OverviewTotals,
  Page,
  PageRequest,
  PruneRequest,
  PruneResult,
  RevocationView,
  StoredChain,
  StoredRecord,
  TimelineBucket,
  WorkloadView,
} from './store.js';
export { OVERVIEW_BUCKETS } from './sql-overview.js';
export type { SqliteLedgerOptions } from './sqlite-store.js';
export { SqliteLedgerStore, sqliteLedgerPath, SQLITE_LEDGER_FILE } from './sqlite-store.js';
export type { PostgresLedgerOptions, PostgresTlsMode } from './postgres-store.js';
export { PostgresLedgerStore } from './postgres-store.js';
export { LATEST_SCHEMA_VERSION } from './sql-migrations.js';
export type { FindingInput, RetireInput, RevokeInput } from './lifecycle-records.js';
export type {
  LedgerRecorderDeps,
  LedgerRecorderOptions,
  SpoolFullBehaviour,
} from './recorder-options.js';
export { ledgerSpoolPath, LEDGER_SPOOL_FILE } from './recorder-options.js';
export { LedgerRecorder } from './recorder.js';
export type { LedgerPrunerOptions, PruneSummary } from './pruner.js';
export { DEFAULT_RETENTION_MS, LedgerPruner } from './pruner.js';
export type {
  ChainAnchor,
  ChainBreak,
  ChainProblem,
  ChainReport,
  LedgerVerification,
} from './verify.js';
export { verifyLedger } from './verify.js';
export type { FindingRecorder } from './finding-sink.js';
export { LedgerFindingSink, findingInput } from './finding-sink.js';

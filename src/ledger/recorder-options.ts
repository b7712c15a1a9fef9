/**
 * The options and collaborators of the ledger recorder (`recorder.ts`), and where its spool lives.
 *
 * @module
 */
import { join } from 'node:path';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { LedgerMetrics } from '../metrics/index.js';
import type { LedgerStore } from './store.js';

/** What happens when the backlog is full. */
export type SpoolFullBehaviour = 'drop-oldest' | 'fail-closed';

/** The spool file's name in the state directory. */
export const LEDGER_SPOOL_FILE = 'ledger-spool.jsonl';

/** The spool's path in a state directory. */
export function ledgerSpoolPath(stateDir: string): string {
  return join(stateDir, LEDGER_SPOOL_FILE);
}

/** Options of the recorder (`LedgerRecorder`). */
export interface LedgerRecorderOptions {
  /** This process's chain label, e.g. the pod name. */
  readonly writer: string;
  /** The spool file (see {@link ledgerSpoolPath}). */
  readonly spoolPath: string;
  /** Records waiting for the database (memory + spool) at most. Default 100000. */
  readonly spoolMaxRecords?: number;
  /** Default `drop-oldest`. */
  readonly spoolFull?: SpoolFullBehaviour;
  /** Records per transaction. Default 200. */
  readonly batchSize?: number;
  /** Longest a record waits in memory before a write is tried, ms. Default 200. */
  readonly flushIntervalMs?: number;
  /** How often the chain head is logged and exported, ms. Default 60000. */
  readonly headIntervalMs?: number;
  /**
   * How long `close()` tries to write before spooling the rest, ms: it bounds the write in
   * progress at the signal too, and closing the database gets at most 1 s more. Default 5000.
   */
  readonly closeTimeoutMs?: number;
  /**
   * A batch write taking longer counts as failed (the records are spooled; if the write commits
   * after all, replaying them is harmless), ms. Default 10000.
   */
  readonly writeTimeoutMs?: number;
  /** Retry delays while the database is down, ms. Defaults 500 and 30000. */
  readonly retryInitialMs?: number;
  readonly retryMaxMs?: number;
}

/** Collaborators of the recorder (`LedgerRecorder`). */
export interface LedgerRecorderDeps {
  readonly store: LedgerStore;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: LedgerMetrics;
  /** The fingerprint of the intermediate in force, for refusals; issuances carry their own. */
  readonly currentIssuer?: () => string | undefined;
}

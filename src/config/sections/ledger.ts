/**
 * Validation of the "Ledger" settings: where the identity ledger is kept and how records wait
 * for it, revocation (the CRL), and who may read the inventory API.
 *
 * The PostgreSQL password is never a setting (a flag would show in `ps`): it is read from
 * `ledgerPasswordFile` at each connection, or given in `MESHCA_LEDGER_PASSWORD`. A password inside
 * the URL is refused for the same reason, and because the URL is logged.
 *
 * @module
 */
import { join } from 'node:path';
import { isDnsLabel, isDnsSubdomain } from '../../identity/index.js';
import { SecretText } from '../secret-text.js';
import type { LedgerConfig, LedgerStoreConfig } from '../types.js';
import type { SectionContext } from './context.js';

/** The SQLite file in the state directory (as `sqliteLedgerPath` of ledger/ names it). */
export const SQLITE_LEDGER_FILE = 'ledger.db';
/** The spool file in the state directory (as `ledgerSpoolPath` of ledger/ names it). */
export const LEDGER_SPOOL_FILE = 'ledger-spool.jsonl';

const TLS_MODES = ['disable', 'require', 'verify-ca', 'verify-full'] as const;
const SPOOL_FULL = ['drop-oldest', 'fail-closed'] as const;

/** Where the ledger is kept, from `ledger` and its companions. */
export function ledgerStoreSection(context: SectionContext, stateDir: string): LedgerStoreConfig {
  const { settings: s, environment, problem } = context;
  const value = s.ledger.trim();
  const password = environment.ledgerPassword;
  const passwordFile = s.ledgerPasswordFile === '' ? undefined : context.path(s.ledgerPasswordFile);
  const postgres = /^postgres(ql)?:\/\//i.test(value);
  if (!postgres) {
    if (passwordFile !== undefined) {
      problem('ledgerPasswordFile', 'is only used with a postgres:// ledger');
    }
    if (value === 'off') return { kind: 'off' };
    if (value === '' || /^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
      problem('ledger', 'must be sqlite, a file path, postgres://... or off');
      return { kind: 'off' };
    }
    return {
      kind: 'sqlite',
      path: value === 'sqlite' ? join(stateDir, SQLITE_LEDGER_FILE) : context.path(value),
    };
  }
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    problem('ledger', 'is not a valid postgres:// URL');
  }
  if (url !== undefined) {
    if (url.password !== '') {
      problem(
        'ledger',
        'must not hold a password: use ledgerPasswordFile or the environment variable MESHCA_LEDGER_PASSWORD',
      );
    }
    if (url.hostname === '') problem('ledger', 'names no host');
    if (url.searchParams.has('sslmode')) {
      problem('ledger', 'set TLS with ledgerTlsMode, not sslmode in the URL');
    }
  }
  if (passwordFile !== undefined && password !== undefined) {
    problem(
      'ledgerPasswordFile',
      'is set together with MESHCA_LEDGER_PASSWORD: give the password one way only',
    );
  }
  const mode = (TLS_MODES as readonly string[]).includes(s.ledgerTlsMode)
    ? (s.ledgerTlsMode as (typeof TLS_MODES)[number])
    : undefined;
  if (mode === undefined) problem('ledgerTlsMode', `must be one of ${TLS_MODES.join(', ')}`);
  const caFile = s.ledgerTlsCaFile === '' ? undefined : context.path(s.ledgerTlsCaFile);
  if (caFile !== undefined && mode !== 'verify-ca' && mode !== 'verify-full') {
    problem('ledgerTlsCaFile', 'is only used with ledgerTlsMode verify-ca or verify-full');
  }
  return {
    kind: 'postgres',
    url: value,
    passwordFile,
    password: password === undefined ? undefined : new SecretText(password),
    tls: { mode: mode ?? 'require', caFile },
  };
}

/** The ledger, revocation and inventory settings. */
export function ledgerSection(context: SectionContext, stateDir: string): LedgerConfig {
  const { settings: s, environment, problem } = context;
  const store = ledgerStoreSection(context, stateDir);
  if (s.ledgerRetention < 60_000) problem('ledgerRetention', 'must be at least 1m');
  if (s.ledgerSpoolMax < 1) problem('ledgerSpoolMax', 'must be at least 1');
  if (s.ledgerBatchSize < 1 || s.ledgerBatchSize > 10_000) {
    problem('ledgerBatchSize', 'must be between 1 and 10000');
  }
  if (s.ledgerFlushInterval < 10) problem('ledgerFlushInterval', 'must be at least 10ms');
  if (s.ledgerHeadInterval < 1000) problem('ledgerHeadInterval', 'must be at least 1s');
  const spoolFull = (SPOOL_FULL as readonly string[]).includes(s.ledgerSpoolFull)
    ? (s.ledgerSpoolFull as (typeof SPOOL_FULL)[number])
    : undefined;
  if (spoolFull === undefined)
    problem('ledgerSpoolFull', `must be one of ${SPOOL_FULL.join(', ')}`);

  if (s.revocation && store.kind === 'off') {
    problem('revocation', 'needs the ledger (ledger is off): the CRL lists what the ledger knows');
  }
  if (s.crlValidity < 60_000 || s.crlValidity % 1000 !== 0) {
    problem('crlValidity', 'must be whole seconds, at least 1m');
  }
  if (s.crlCheckInterval < 100 || s.crlCheckInterval * 2 > s.crlValidity) {
    problem('crlCheckInterval', 'must be at least 100ms and at most half of crlValidity');
  }

  const serviceAccounts: { namespace: string; serviceAccount: string }[] = [];
  for (const account of s.inventoryServiceAccounts) {
    const [namespace = '', serviceAccount, extra] = account.split('/');
    if (
      extra !== undefined ||
      serviceAccount === undefined ||
      !isDnsLabel(namespace) ||
      !isDnsSubdomain(serviceAccount)
    ) {
      problem('inventoryServiceAccounts', `"${account}" is not namespace/serviceaccount`);
      continue;
    }
    serviceAccounts.push({ namespace, serviceAccount });
  }
  if (s.inventoryAudience.trim() === '') problem('inventoryAudience', 'must not be empty');

  return {
    store,
    writer: s.podName !== '' ? s.podName : environment.podName,
    spoolPath: join(stateDir, LEDGER_SPOOL_FILE),
    retentionMs: s.ledgerRetention,
    spoolMaxRecords: s.ledgerSpoolMax,
    spoolFull: spoolFull ?? 'drop-oldest',
    batchSize: s.ledgerBatchSize,
    flushIntervalMs: s.ledgerFlushInterval,
    headIntervalMs: s.ledgerHeadInterval,
    revocation: {
      enabled: s.revocation,
      crlValidityMs: s.crlValidity,
      crlCheckIntervalMs: s.crlCheckInterval,
    },
    inventory: {
      serviceAccounts,
      groups: s.inventoryGroups,
      audience: s.inventoryAudience.trim(),
    },
  };
}

/**
 * What the ledger commands (`inventory`, `ledger verify`, `revoke`) share: the flags that find
 * the database `meshca serve` writes, and opening it.
 *
 * @module
 */
import { existsSync } from 'node:fs';
import type { ParseArgsConfig } from 'node:util';
import { systemClock } from '../clock.js';
import { loadLedgerLocation } from '../config/index.js';
import type { LedgerStore } from '../ledger/index.js';
import { silentLogger } from '../logger.js';
import { UsageError, type CommandIo } from './io.js';
import { createLedgerStore, describeLedger } from './ledger-store.js';

/** The help lines of those flags. */
export const LEDGER_LOCATION_HELP = `Where the ledger is (as for "meshca serve"; flags > MESHCA_* environment > config file):
      --ledger WHERE               sqlite (<state-dir>/ledger.db), a SQLite file, or
                                   postgres://USER@HOST:PORT/DATABASE
      --ledger-password-file FILE  the PostgreSQL password (or MESHCA_LEDGER_PASSWORD)
      --ledger-tls-mode MODE       disable, require, verify-ca or verify-full (default: require)
      --ledger-tls-ca-file FILE    CA bundle for verify-ca and verify-full
      --state-dir DIR              meshca's state directory (default: ./.meshca)
      --config FILE                read these settings from meshca's config file`;

/** parseArgs options of those flags. */
export const LEDGER_LOCATION_OPTIONS = {
  ledger: { type: 'string' },
  'ledger-password-file': { type: 'string' },
  'ledger-tls-mode': { type: 'string' },
  'ledger-tls-ca-file': { type: 'string' },
  'state-dir': { type: 'string' },
  config: { type: 'string' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

/** The values parseArgs read for those flags. */
export interface LedgerLocationValues {
  readonly ledger?: string | undefined;
  readonly 'ledger-password-file'?: string | undefined;
  readonly 'ledger-tls-mode'?: string | undefined;
  readonly 'ledger-tls-ca-file'?: string | undefined;
  readonly 'state-dir'?: string | undefined;
  readonly config?: string | undefined;
}

/**
 * Finds and opens the ledger.
 *
 * @throws {@link UsageError} (exit 1) when the ledger is off or its SQLite file does not exist;
 *   `ConfigError` for bad settings; the store's error when the database cannot be reached.
 */
export async function openCommandLedger(
  command: string,
  values: LedgerLocationValues,
  io: CommandIo,
): Promise<LedgerStore> {
  const flags = {
    ...defined('ledger', values.ledger),
    ...defined('ledgerPasswordFile', values['ledger-password-file']),
    ...defined('ledgerTlsMode', values['ledger-tls-mode']),
    ...defined('ledgerTlsCaFile', values['ledger-tls-ca-file']),
    ...defined('stateDir', values['state-dir']),
    ...defined('config', values.config),
  };
  const location = await loadLedgerLocation({ flags, env: io.env, cwd: io.cwd });
  const { store } = location;
  if (store.kind === 'off') throw new UsageError(`meshca ${command}: the ledger is off`, 1);
  if (store.kind === 'sqlite' && !existsSync(store.path)) {
    throw new UsageError(
      `meshca ${command}: no ledger at ${store.path} (give --ledger, or the --state-dir of "meshca serve")`,
      1,
    );
  }
  const ledger = createLedgerStore(store, systemClock, silentLogger());
  try {
    await ledger.open();
  } catch (error) {
    await ledger.close().catch(() => undefined);
    throw new UsageError(
      `meshca ${command}: cannot open the ledger ${describeLedger(store)}: ${(error as Error).message}`,
      1,
    );
  }
  return ledger;
}

function defined<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, string>);
}

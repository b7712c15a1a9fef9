/**
 * Opening the ledger's database as configured (`ledger`, `ledgerPasswordFile`,
 * `MESHCA_LEDGER_PASSWORD`, `ledgerTlsMode`, `ledgerTlsCaFile`): shared by `meshca serve` and the
 * commands that read or write the same database (`inventory`, `ledger verify`, `revoke`).
 *
 * @module
 */
import type { Clock } from '../clock.js';
import type { LedgerStoreConfig } from '../config/index.js';
import { PostgresLedgerStore, SqliteLedgerStore, type LedgerStore } from '../ledger/index.js';
import type { Logger } from '../logger.js';

/** The store for `config` (not opened yet). */
export function createLedgerStore(
  config: Exclude<LedgerStoreConfig, { kind: 'off' }>,
  clock: Clock,
  logger: Logger,
): LedgerStore {
  switch (config.kind) {
    case 'sqlite':
      return new SqliteLedgerStore({ path: config.path }, clock);
    case 'postgres':
      return new PostgresLedgerStore(
        {
          url: config.url,
          ...(config.passwordFile === undefined ? {} : { passwordFile: config.passwordFile }),
          ...(config.password === undefined ? {} : { password: config.password.reveal() }),
          tls: {
            mode: config.tls.mode,
            ...(config.tls.caFile === undefined ? {} : { caFile: config.tls.caFile }),
          },
        },
        clock,
        logger,
      );
  }
}

/** Where the ledger is, for logs and messages (never a password: URLs never hold one). */
export function describeLedger(config: LedgerStoreConfig): string {
  switch (config.kind) {
    case 'off':
      return 'off';
    case 'sqlite':
      return config.path;
    case 'postgres':
      return config.url;
  }
}

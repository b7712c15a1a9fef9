/**
 * Where the ledger is, for the commands that read or write the database `meshca serve` writes
 * (`inventory`, `ledger verify`, `revoke`): the same settings as `serve` (`ledger`,
 * `ledgerPasswordFile`, `ledgerTlsMode`, `ledgerTlsCaFile`, `stateDir`), from the same sources
 * with the same precedence — flags > `MESHCA_*` environment (and `MESHCA_LEDGER_PASSWORD`) > the
 * config file (`--config`, `MESHCA_CONFIG`) > defaults — validated by the same rules. Only these
 * settings are read, so a command works wherever the database is reachable, also in a pod whose
 * other settings would need a CA.
 *
 * @module
 */
import { resolve } from 'node:path';
import { ledgerPassword, readConfigFile } from './load.js';
import { OPTIONS, envName, flagName, type SettingKey } from './options.js';
import { ConfigError } from './schema.js';
import { ledgerStoreSection } from './sections/ledger.js';
import { SETTINGS_SCHEMA } from './settings.js';
import type { LedgerStoreConfig } from './types.js';

/** The settings a command may give as flags (`--ledger`, `--state-dir`...). */
export const LEDGER_LOCATION_KEYS = [
  'ledger',
  'ledgerPasswordFile',
  'ledgerTlsMode',
  'ledgerTlsCaFile',
  'stateDir',
] as const satisfies readonly SettingKey[];

/** Inputs of {@link loadLedgerLocation}. */
export interface LedgerLocationSources {
  /** Values of the command's flags, by setting key; `config` is the config file. */
  readonly flags: Partial<Record<(typeof LEDGER_LOCATION_KEYS)[number] | 'config', string>>;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
}

/** Where the ledger is, and the state directory it was resolved against. */
export interface LedgerLocation {
  readonly store: LedgerStoreConfig;
  readonly stateDir: string;
}

/**
 * Resolves the ledger's location like `serve` does.
 *
 * @throws {@link ConfigError} naming every problem.
 */
export async function loadLedgerLocation(sources: LedgerLocationSources): Promise<LedgerLocation> {
  const raw: Record<string, unknown> = {};
  const origin: Record<string, string> = {};
  for (const option of OPTIONS) {
    if (option.default !== undefined) raw[option.key] = option.default;
  }
  const configPath = sources.flags.config ?? sources.env['MESHCA_CONFIG'];
  if (configPath !== undefined && configPath !== '') {
    for (const [key, value] of Object.entries(await readConfigFile(configPath, sources.cwd))) {
      raw[key] = value;
      origin[key] = `${key} (in ${configPath})`;
    }
  }
  for (const option of OPTIONS) {
    const value = sources.env[envName(option.key)];
    if (value !== undefined) {
      raw[option.key] = value;
      origin[option.key] = envName(option.key);
    }
  }
  for (const key of LEDGER_LOCATION_KEYS) {
    const value = sources.flags[key];
    if (value !== undefined) {
      raw[key] = value;
      origin[key] = `--${flagName(key)}`;
    }
  }
  const parsed = SETTINGS_SCHEMA.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const key = String(issue.path[0] ?? '');
        return `${origin[key] ?? key}: ${issue.message}`;
      }),
    );
  }
  const problems: string[] = [];
  const stateDir = resolve(sources.cwd, parsed.data.stateDir);
  const store = ledgerStoreSection(
    {
      settings: parsed.data,
      environment: {
        inCluster: false,
        podNamespace: undefined,
        podName: '',
        cwd: sources.cwd,
        ...ledgerPassword(sources.env),
      },
      problem: (key, message) => {
        problems.push(`${origin[key] ?? key}: ${message}`);
      },
      path: (value) => resolve(sources.cwd, value),
    },
    stateDir,
  );
  if (problems.length > 0) throw new ConfigError(problems);
  return { store, stateDir };
}

/**
 * Building the configuration from its sources, lowest precedence first: defaults, the config file
 * (`--config` / `MESHCA_CONFIG`, YAML or JSON), `MESHCA_*` environment variables, flags. This is
 * the only module that reads the environment.
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { OPTIONS, envName, flagName } from './options.js';
import { ConfigError, buildConfig } from './schema.js';
import type { Config } from './types.js';

/** Inputs of {@link loadConfig}. */
export interface ConfigSources {
  /** Command-line arguments after the command name. */
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
}

/** The result of {@link loadConfig}. */
export interface LoadedConfig {
  readonly config: Config;
  /** Settings that were ignored, for a warning at start-up. */
  readonly warnings: readonly string[];
  /** Where each non-default setting came from. */
  readonly origins: Readonly<Record<string, string>>;
}

type Origin = 'default' | 'file' | 'env' | 'flag';

/** parseArgs options for every setting, plus `--config` and `--help`. */
export function serveFlagSpec(): NonNullable<ParseArgsConfig['options']> {
  const spec: NonNullable<ParseArgsConfig['options']> = {
    config: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  };
  for (const option of OPTIONS) {
    const name = flagName(option.key);
    if (option.kind === 'boolean') {
      spec[name] = { type: 'boolean' };
      spec[`no-${name}`] = { type: 'boolean' };
    } else {
      spec[name] = { type: 'string', multiple: option.kind === 'list' };
    }
  }
  return spec;
}

/**
 * Reads, merges and validates the configuration.
 *
 * @throws {@link ConfigError} with every problem found.
 */
export async function loadConfig(sources: ConfigSources): Promise<LoadedConfig> {
  let flags: Record<string, string | boolean | (string | boolean)[] | undefined>;
  try {
    ({ values: flags } = parseArgs({
      args: [...sources.argv],
      options: serveFlagSpec(),
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new ConfigError([(error as Error).message]);
  }

  const raw: Record<string, unknown> = {};
  const origin: Record<string, Origin> = {};
  for (const option of OPTIONS) {
    if (option.default !== undefined) {
      raw[option.key] = option.default;
      origin[option.key] = 'default';
    }
  }

  const warnings: string[] = [];
  const configPath =
    typeof flags['config'] === 'string' ? flags['config'] : sources.env['MESHCA_CONFIG'];
  if (configPath !== undefined && configPath !== '') {
    const file = await readConfigFile(configPath, sources.cwd);
    for (const [key, value] of Object.entries(file)) {
      raw[key] = value;
      origin[key] = 'file';
    }
  }

  const known = new Set(OPTIONS.map((option) => envName(option.key)));
  known.add('MESHCA_CONFIG');
  // A secret, never a setting (no flag, no config key): see ledgerStoreSection.
  known.add(LEDGER_PASSWORD_ENV);
  for (const name of Object.keys(sources.env)) {
    if (name.startsWith('MESHCA_') && !known.has(name)) {
      warnings.push(`environment variable ${name} is not a meshca setting and was ignored`);
    }
  }
  for (const option of OPTIONS) {
    const value = sources.env[envName(option.key)];
    if (value !== undefined) {
      raw[option.key] = value;
      origin[option.key] = 'env';
    }
  }

  for (const option of OPTIONS) {
    const name = flagName(option.key);
    const value = flags[name];
    if (option.kind === 'boolean') {
      if (flags[`no-${name}`] === true) {
        raw[option.key] = false;
        origin[option.key] = 'flag';
      } else if (value === true) {
        raw[option.key] = true;
        origin[option.key] = 'flag';
      }
    } else if (value !== undefined) {
      raw[option.key] = Array.isArray(value) ? value.map(String).join(',') : value;
      origin[option.key] = 'flag';
    }
  }

  const describe = (key: string): string => {
    switch (origin[key]) {
      case 'flag':
        return `--${flagName(key)}`;
      case 'env':
        return envName(key);
      case 'file':
        return `${key} (in ${configPath ?? 'the config file'})`;
      default:
        return key;
    }
  };
  const config = buildConfig(
    raw,
    {
      inCluster: (sources.env['KUBERNETES_SERVICE_HOST'] ?? '') !== '',
      cwd: sources.cwd,
      podNamespace: nonEmpty(sources.env['POD_NAMESPACE']) ?? (await serviceAccountNamespace()),
      podName: nonEmpty(sources.env['POD_NAME']) ?? hostname(),
      ...ledgerPassword(sources.env),
    },
    describe,
  );
  const origins: Record<string, string> = {};
  for (const [key, from] of Object.entries(origin)) {
    if (from !== 'default') origins[key] = describe(key);
  }
  return { config, warnings, origins };
}

/** The environment variable holding the ledger's PostgreSQL password. */
export const LEDGER_PASSWORD_ENV = 'MESHCA_LEDGER_PASSWORD';

/** The ledger password from the environment, when set (an empty value counts as unset). */
export function ledgerPassword(env: Readonly<Record<string, string | undefined>>): {
  readonly ledgerPassword?: string;
} {
  const value = nonEmpty(env[LEDGER_PASSWORD_ENV]);
  return value === undefined ? {} : { ledgerPassword: value };
}

/** `path` is named in messages as given; a relative one is read from `cwd`, like other paths. */
/** An unset variable and an empty one mean the same. */
function nonEmpty(value: string | undefined): string | undefined {
  return value === '' ? undefined : value;
}

/** The namespace Kubernetes mounts into every pod with a service account. */
async function serviceAccountNamespace(): Promise<string | undefined> {
  try {
    return (
      await readFile('/var/run/secrets/kubernetes.io/serviceaccount/namespace', 'utf8')
    ).trim();
  } catch {
    return undefined;
  }
}

/**
 * Reads a configuration file (YAML or JSON mapping of settings).
 *
 * @throws {@link ConfigError} when it cannot be read, is not a mapping, or names unknown keys.
 */
export async function readConfigFile(path: string, cwd: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(resolve(cwd, path), 'utf8');
  } catch (error) {
    throw new ConfigError([`cannot read config file ${path}: ${(error as Error).message}`]);
  }
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    throw new ConfigError([`config file ${path} is not valid YAML: ${(error as Error).message}`]);
  }
  if (document === null || document === undefined) return {};
  if (typeof document !== 'object' || Array.isArray(document)) {
    throw new ConfigError([`config file ${path} must hold a mapping of settings`]);
  }
  const settings = flattenGroups(document as Record<string, unknown>, path);
  const known = new Set(OPTIONS.map((option) => option.key));
  const unknown = Object.keys(settings).filter((key) => !known.has(key));
  if (unknown.length > 0) {
    throw new ConfigError([`config file ${path}: unknown setting(s): ${unknown.join(', ')}`]);
  }
  return settings;
}

/**
 * Settings may be grouped in a file: `discovery: {enabled: true, interval: 1h}` is
 * `discovery: true` and `discoveryInterval: 1h` (a group's `enabled` is the group's own key).
 * No setting takes a mapping, so a mapping is always a group.
 */
function flattenGroups(
  document: Record<string, unknown>,
  path: string,
  prefix = '',
  into: Record<string, unknown> = {},
): Record<string, unknown> {
  for (const [name, value] of Object.entries(document)) {
    const key =
      prefix === ''
        ? name
        : name === 'enabled'
          ? prefix
          : `${prefix}${name.charAt(0).toUpperCase()}${name.slice(1)}`;
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      flattenGroups(value as Record<string, unknown>, path, key, into);
      continue;
    }
    if (Object.hasOwn(into, key)) {
      throw new ConfigError([`config file ${path}: setting ${key} is given twice`]);
    }
    into[key] = value;
  }
  return into;
}

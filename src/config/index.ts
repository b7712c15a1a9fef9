/**
 * Configuration: one typed, validated, frozen object from defaults, a file, `MESHCA_*` variables
 * and flags.
 *
 * @module
 */
export type {
  CaSourceConfig,
  Config,
  DiscoveryConfig,
  Environment,
  KubernetesConfig,
  RemoteClusterConfig,
  VerifierConfig,
} from './types.js';
export { ConfigError, buildConfig } from './schema.js';
export type { Settings } from './settings.js';
export type { ConfigSources, LoadedConfig } from './load.js';
export { loadConfig, serveFlagSpec } from './load.js';
export type {
  OptionDeclaration,
  OptionKind,
  OptionSpec,
  OptionTable,
  SettingKey,
} from './options.js';
export { OPTIONS, OPTION_TABLE, envName, flagName } from './options.js';
export { formatDuration, parseDurationMs } from './duration.js';
export { configurationReference } from './reference.js';

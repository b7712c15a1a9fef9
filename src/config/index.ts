/**
 * Configuration: one typed, validated, frozen object from defaults, a file, `MESHCA_*` variables
 * and flags.
 *
 * @module
 */
export type {
  CaSourceConfig,
  Config,
  Environment,
  KubernetesConfig,
  RemoteClusterConfig,
  VerifierConfig,
} from './schema.js';
export { ConfigError, buildConfig } from './schema.js';
export type { ConfigSources, LoadedConfig } from './load.js';
export { loadConfig, serveFlagSpec } from './load.js';
export type { OptionKind, OptionSpec } from './options.js';
export { OPTIONS, envName, flagName } from './options.js';
export { formatDuration, parseDurationMs } from './duration.js';
export { configurationReference } from './reference.js';

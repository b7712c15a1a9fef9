/**
 * Validation of the merged settings and the typed, frozen {@link Config} built from them: the
 * zod schema first (types and unknown keys), then one validation function per concern
 * (`sections/*.ts`), each reporting every problem with the name of the setting and where its
 * value came from, so a bad combination fails at start-up with a message that says what to fix.
 *
 * @module
 */
import { resolve } from 'node:path';
import { LOG_LEVELS } from '../logger.js';
import type { SettingKey } from './options.js';
import {
  clusterConnection,
  authenticationSection,
  isDevelopment,
} from './sections/authentication.js';
import { caSection } from './sections/ca.js';
import { discoverySection } from './sections/discovery.js';
import type { SectionContext } from './sections/context.js';
import { identitySection } from './sections/identity.js';
import { issuanceSection } from './sections/issuance.js';
import { kubernetesSection } from './sections/kubernetes.js';
import { servingSection } from './sections/serving.js';
import { SETTINGS_SCHEMA } from './settings.js';
import type { Config, Environment } from './types.js';

/**
 * A configuration error, with every problem found. It never reaches a gRPC client: it is about
 * the operator's settings, reported at start-up (exit status 2), so it stands outside the
 * MeshCaError hierarchy.
 */
export class ConfigError extends Error {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/**
 * Validates merged raw settings and builds the {@link Config}.
 *
 * @param describe Names where a key's value came from, for messages (`--max-ttl`, `MESHCA_MAX_TTL`...).
 * @throws {@link ConfigError} listing every problem.
 */
export function buildConfig(
  raw: Record<string, unknown>,
  environment: Environment,
  describe: (key: string) => string,
): Config {
  const parsed = SETTINGS_SCHEMA.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const key = String(issue.path[0] ?? '');
        return issue.code === 'unrecognized_keys'
          ? `unknown setting(s): ${issue.keys.join(', ')}`
          : `${describe(key)}: ${issue.message}`;
      }),
    );
  }
  const settings = parsed.data;
  const problems: string[] = [];
  const context: SectionContext = {
    settings,
    environment,
    problem: (key: SettingKey, message: string) => {
      problems.push(`${describe(key)}: ${message}`);
    },
    path: (value: string) => resolve(environment.cwd, value),
  };

  const identity = identitySection(context);
  const issuance = issuanceSection(context);
  const serving = servingSection(context, issuance.ttl.backdateSeconds);
  if (!(LOG_LEVELS as readonly string[]).includes(settings.logLevel)) {
    context.problem('logLevel', `must be one of ${LOG_LEVELS.join(', ')}`);
  }
  const kube = clusterConnection(context);
  const development = isDevelopment(context, kube);
  const authentication = authenticationSection(context, kube, development);
  const namespace =
    settings.namespace !== '' ? settings.namespace : (environment.podNamespace ?? 'meshca');
  const ca = caSection(context, { kube, development, namespace });
  const kubernetes = kube === undefined ? undefined : kubernetesSection(context, namespace);
  const discovery = discoverySection(context, kube);

  if (problems.length > 0) throw new ConfigError(problems);
  return deepFreeze<Config>({
    mode: development ? 'development' : 'production',
    stateDir: context.path(settings.stateDir),
    logLevel: settings.logLevel as Config['logLevel'],
    ...serving,
    ...identity,
    kube,
    authentication,
    ca,
    kubernetes,
    discovery,
    ...issuance,
  });
}

function deepFreeze<T>(value: T): T {
  if (
    value !== null &&
    typeof value === 'object' &&
    !Object.isFrozen(value) &&
    !(value instanceof URL)
  ) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

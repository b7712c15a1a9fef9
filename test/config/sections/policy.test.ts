/**
 * The "Policy" settings: one source per layer (file or watched ConfigMap), ConfigMaps only with a
 * cluster, signing keys only with a central policy, paths resolved against the working directory.
 */
import {
  ConfigError,
  OPTIONS,
  buildConfig,
  type Config,
  type Environment,
} from '../../../src/config/index.js';

const OUTSIDE: Environment = {
  inCluster: false,
  cwd: '/srv/meshca',
  podNamespace: undefined,
  podName: 'host-1',
};
const IN_POD: Environment = { ...OUTSIDE, inCluster: true, podNamespace: 'meshca-system' };
/** With a cluster, a CA is required; the directory is never read by buildConfig. */
const CLUSTER = { caDir: '/etc/meshca/cacerts' };

function raw(overrides: Record<string, unknown>): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const option of OPTIONS) {
    if (option.default !== undefined) values[option.key] = option.default;
  }
  return { ...values, ...overrides };
}

function build(overrides: Record<string, unknown>, environment = OUTSIDE): Config {
  return buildConfig(raw(overrides), environment, (key) => `<${key}>`);
}

function problems(overrides: Record<string, unknown>, environment = OUTSIDE): readonly string[] {
  try {
    build(overrides, environment);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('policy settings', () => {
  it('configures no policy by default: the TTL limits decide alone', () => {
    expect(build({}).policy).toEqual({
      central: undefined,
      local: undefined,
      signingKeys: [],
      reloadIntervalMs: 10_000,
    });
  });

  it.each<[string, Record<string, unknown>, Environment, Partial<Config['policy']>]>([
    [
      'files, resolved against the working directory, with signing keys',
      {
        policyCentral: 'policies/central.yaml',
        policyLocal: '/etc/meshca/local/policy.yaml',
        policySigningKeys: 'keys/a.pem,keys/b.jwks',
        policyReloadInterval: '2s',
      },
      OUTSIDE,
      {
        central: { kind: 'file', path: '/srv/meshca/policies/central.yaml' },
        local: { kind: 'file', path: '/etc/meshca/local/policy.yaml' },
        signingKeys: ['/srv/meshca/keys/a.pem', '/srv/meshca/keys/b.jwks'],
        reloadIntervalMs: 2_000,
      },
    ],
    [
      "ConfigMaps, in meshca's namespace unless named with theirs",
      {
        ...CLUSTER,
        policyCentralConfigMap: 'security/meshca-policy-central',
        policyLocalConfigMap: 'meshca-policy-local',
      },
      IN_POD,
      {
        central: { kind: 'configmap', namespace: 'security', name: 'meshca-policy-central' },
        local: { kind: 'configmap', namespace: 'meshca-system', name: 'meshca-policy-local' },
      },
    ],
    [
      'a central ConfigMap and a local file',
      {
        ...CLUSTER,
        kubeconfig: '/k',
        namespace: 'ca',
        policyCentralConfigMap: 'central',
        policyLocal: 'local.yaml',
      },
      OUTSIDE,
      {
        central: { kind: 'configmap', namespace: 'ca', name: 'central' },
        local: { kind: 'file', path: '/srv/meshca/local.yaml' },
      },
    ],
  ])('reads %s', (_what, overrides, environment, expected) => {
    expect(build(overrides, environment).policy).toMatchObject(expected);
  });

  it.each<[string, Record<string, unknown>, string[]]>([
    [
      'a file and a ConfigMap for the central layer',
      { ...CLUSTER, kubeconfig: '/k', policyCentral: 'c.yaml', policyCentralConfigMap: 'c' },
      ['<policyCentralConfigMap>: set policyCentral or policyCentralConfigMap, not both'],
    ],
    [
      'a file and a ConfigMap for the local layer',
      { ...CLUSTER, kubeconfig: '/k', policyLocal: 'l.yaml', policyLocalConfigMap: 'l' },
      ['<policyLocalConfigMap>: set policyLocal or policyLocalConfigMap, not both'],
    ],
    [
      'a ConfigMap without a cluster',
      { policyCentralConfigMap: 'meshca-policy-central', policyLocalConfigMap: 'x' },
      [
        '<policyCentralConfigMap>: needs a cluster (kubeconfig)',
        '<policyLocalConfigMap>: needs a cluster (kubeconfig)',
      ],
    ],
    [
      'signing keys without a central source',
      { policyLocal: 'local.yaml', policySigningKeys: ['key.pem'] },
      [
        '<policySigningKeys>: there is no central policy to verify: set policyCentral or policyCentralConfigMap',
      ],
    ],
    [
      'a ConfigMap name that is not [namespace/]name',
      { ...CLUSTER, kubeconfig: '/k', policyLocalConfigMap: 'a/b/c' },
      ['<policyLocalConfigMap>: "a/b/c" is not [namespace/]name'],
    ],
    [
      'an invalid ConfigMap name',
      { ...CLUSTER, kubeconfig: '/k', policyCentralConfigMap: 'Policy_Central' },
      ['<policyCentralConfigMap>: "Policy_Central" is not [namespace/]name'],
    ],
  ])('refuses %s', (_what, overrides, expected) => {
    expect(problems(overrides)).toEqual(expected);
  });

  it('is frozen with the rest of the configuration', () => {
    const { policy } = build({ policyCentral: 'c.yaml', policySigningKeys: ['k.pem'] });
    expect(Object.isFrozen(policy)).toBe(true);
    expect(Object.isFrozen(policy.central)).toBe(true);
    expect(Object.isFrozen(policy.signingKeys)).toBe(true);
  });
});

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ConfigError,
  loadConfig,
  type ConfigSources,
  type LoadedConfig,
} from '../../src/config/index.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';

let dir: string;

beforeAll(() => {
  dir = tempDir();
});

afterAll(removeTempDirs);

/** Writes a config file in the test's directory and returns its absolute path. */
function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

function load(
  argv: readonly string[] = [],
  env: ConfigSources['env'] = {},
  cwd = dir,
): Promise<LoadedConfig> {
  return loadConfig({ argv, env, cwd });
}

async function configError(promise: Promise<unknown>): Promise<ConfigError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig precedence: defaults < file < MESHCA_* < flags', () => {
  let yaml: string;

  beforeAll(() => {
    yaml = file(
      'precedence.yaml',
      ['# a comment', 'maxTtl: 30h', 'servingDns: [file.example]', 'verifyIssued: false', ''].join(
        '\n',
      ),
    );
  });

  it.each<[string, boolean, Record<string, string>, string[], number, string | undefined]>([
    ['the default', false, {}, [], 86_400, undefined],
    ['the file over the default', true, {}, [], 108_000, 'file'],
    [
      'MESHCA_MAX_TTL over the file',
      true,
      { MESHCA_MAX_TTL: '36h' },
      [],
      129_600,
      'MESHCA_MAX_TTL',
    ],
    [
      '--max-ttl over MESHCA_MAX_TTL',
      true,
      { MESHCA_MAX_TTL: '36h' },
      ['--max-ttl', '48h'],
      172_800,
      '--max-ttl',
    ],
    ['--max-ttl=value over the file', true, {}, ['--max-ttl=40h'], 144_000, '--max-ttl'],
    [
      'MESHCA_MAX_TTL over the default',
      false,
      { MESHCA_MAX_TTL: '36h' },
      [],
      129_600,
      'MESHCA_MAX_TTL',
    ],
  ])('scalar: %s', async (_name, withFile, env, flags, seconds, origin) => {
    const argv = withFile ? ['--config', yaml, ...flags] : flags;
    const { config, origins } = await load(argv, env);
    expect(config.ttl.maxTtlSeconds).toBe(seconds);
    expect(origins['maxTtl']).toBe(origin === 'file' ? `maxTtl (in ${yaml})` : origin);
  });

  it.each<[string, boolean, Record<string, string>, string[], string[]]>([
    ['the default', false, {}, [], ['meshca.meshca.svc', 'localhost']],
    ['a YAML sequence in the file', true, {}, [], ['file.example']],
    [
      'a comma-separated variable',
      true,
      { MESHCA_SERVING_DNS: 'env-a.example, env-b.example' },
      [],
      ['env-a.example', 'env-b.example'],
    ],
    [
      'repeated flags',
      true,
      { MESHCA_SERVING_DNS: 'env.example' },
      ['--serving-dns', 'a.example', '--serving-dns', 'b.example'],
      ['a.example', 'b.example'],
    ],
    [
      'a comma-separated flag',
      false,
      {},
      ['--serving-dns', 'a.example,b.example'],
      ['a.example', 'b.example'],
    ],
  ])('list: %s', async (_name, withFile, env, flags, expected) => {
    const argv = withFile ? ['--config', yaml, ...flags] : flags;
    expect((await load(argv, env)).config.serving.dnsNames).toEqual(expected);
  });

  it.each<[string, boolean, Record<string, string>, string[], boolean]>([
    ['the default', false, {}, [], true],
    ['the file over the default', true, {}, [], false],
    ['MESHCA_VERIFY_ISSUED over the file', true, { MESHCA_VERIFY_ISSUED: 'true' }, [], true],
    [
      '--no-verify-issued over the variable',
      true,
      { MESHCA_VERIFY_ISSUED: 'yes' },
      ['--no-verify-issued'],
      false,
    ],
    ['--verify-issued over the file', true, {}, ['--verify-issued'], true],
  ])('boolean: %s', async (_name, withFile, env, flags, expected) => {
    const argv = withFile ? ['--config', yaml, ...flags] : flags;
    expect((await load(argv, env)).config.ca.verifyIssued).toBe(expected);
  });

  // devPki only matters with a cluster: without caDir it decides between the dev CA and an error.
  it.each<[string, Record<string, string>, string[], boolean]>([
    ['the default (off)', {}, [], false],
    ['MESHCA_DEV_PKI=true', { MESHCA_DEV_PKI: 'true' }, [], true],
    ['--dev-pki over MESHCA_DEV_PKI=false', { MESHCA_DEV_PKI: 'false' }, ['--dev-pki'], true],
    ['--no-dev-pki over MESHCA_DEV_PKI=true', { MESHCA_DEV_PKI: 'true' }, ['--no-dev-pki'], false],
  ])('boolean devPki: %s', async (_name, env, flags, enabled) => {
    const sources = load(['--kubeconfig', '/k', ...flags], env);
    if (enabled) {
      expect((await sources).config.ca.source).toEqual({ kind: 'development' });
    } else {
      expect((await configError(sources)).problems).toEqual([
        expect.stringMatching(/^caDir: a CA is required/),
      ]);
    }
  });

  it('reads a JSON config file, with numbers for durations (seconds) and integers', async () => {
    const json = file(
      'meshca.json',
      JSON.stringify({
        maxTtl: 108_000,
        maxInFlight: 5,
        servingDns: ['json.example'],
        devPki: true,
        kubeconfig: 'kube.yaml',
      }),
    );
    const { config, origins } = await load(['--config', json]);
    expect(config.ttl.maxTtlSeconds).toBe(108_000);
    expect(config.grpc.maxInFlight).toBe(5);
    expect(config.serving.dnsNames).toEqual(['json.example']);
    expect(config.kube).toEqual({ mode: 'kubeconfig', path: join(dir, 'kube.yaml') });
    expect(config.ca.source).toEqual({ kind: 'development' });
    expect(origins).toEqual({
      maxTtl: `maxTtl (in ${json})`,
      maxInFlight: `maxInFlight (in ${json})`,
      servingDns: `servingDns (in ${json})`,
      devPki: `devPki (in ${json})`,
      kubeconfig: `kubeconfig (in ${json})`,
    });
  });

  it('finds the file through MESHCA_CONFIG, and --config over it', async () => {
    const other = file('other.yaml', 'maxTtl: 40h\n');
    expect((await load([], { MESHCA_CONFIG: yaml })).config.ttl.maxTtlSeconds).toBe(108_000);
    expect(
      (await load(['--config', other], { MESHCA_CONFIG: yaml })).config.ttl.maxTtlSeconds,
    ).toBe(144_000);
    expect((await load([], { MESHCA_CONFIG: '' })).config.ttl.maxTtlSeconds).toBe(86_400);
  });

  it('reads a relative config path from cwd, like every other path', async () => {
    const sub = join(dir, 'relative');
    mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, 'meshca.yaml'), 'maxTtl: 30h\n');
    const { config } = await load(['--config', 'meshca.yaml'], {}, sub);
    expect(config.ttl.maxTtlSeconds).toBe(108_000);
  });

  it('treats an empty file as no settings', async () => {
    const { config, origins } = await load(['--config', file('empty.yaml', '')]);
    expect(config.mode).toBe('development');
    expect(origins).toEqual({});
  });
});

describe('loadConfig errors name their source', () => {
  it.each<[string, string[], Record<string, string>, string]>([
    ['a flag', ['--max-ttl', '5x'], {}, '--max-ttl: "5x" is not a duration'],
    ['a variable', [], { MESHCA_MAX_TTL: '5x' }, 'MESHCA_MAX_TTL: "5x" is not a duration'],
    [
      'a default, in a cross-field rule',
      [],
      { MESHCA_DEFAULT_TTL: '48h' },
      'maxTtl: must be at least defaultTtl',
    ],
    [
      'a variable, in a cross-field rule',
      ['--max-ttl', '48h'],
      { MESHCA_DEFAULT_TTL: '72h' },
      '--max-ttl: must be at least defaultTtl',
    ],
  ])('names %s', async (_name, argv, env, expected) => {
    const error = await configError(load(argv, env));
    expect(error.problems).toEqual([expect.stringContaining(expected)]);
  });

  it('names a file setting with its file', async () => {
    const path = file('bad-value.yaml', 'maxTtl: 5x\n');
    const error = await configError(load(['--config', path]));
    expect(error.problems).toEqual([
      `maxTtl (in ${path}): "5x" is not a duration (examples: 24h, 1h30m, 90s, 500ms)`,
    ]);
  });

  it.each<[string, string[], RegExp]>([
    ['an unknown flag', ['--max-tll', '1h'], /--max-tll/],
    ['a positional argument', ['serve-now'], /serve-now/],
    ['a flag without its value', ['--max-ttl'], /--max-ttl/],
    ['a value for a boolean flag', ['--dev-pki=yes'], /--dev-pki/],
  ])('refuses %s', async (_name, argv, pattern) => {
    const error = await configError(load(argv));
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]).toMatch(pattern);
  });

  it.each<[string, string, RegExp]>([
    [
      'an unknown key',
      'maxTtl: 30h\nmaxTll: 1h\nfoo: 1\n',
      /^config file .*: unknown setting\(s\): maxTll, foo$/,
    ],
    ['invalid YAML', 'maxTtl: [30h\n', /^config file .* is not valid YAML/],
    ['a list', '- maxTtl\n- 30h\n', /^config file .* must hold a mapping of settings$/],
    ['a scalar', 'just text\n', /^config file .* must hold a mapping of settings$/],
  ])('refuses a config file holding %s', async (_name, content, pattern) => {
    const path = file('bad.yaml', content);
    const error = await configError(load(['--config', path]));
    expect(error.problems).toEqual([expect.stringMatching(pattern)]);
    expect(error.problems[0]).toContain(path);
  });

  it('reads grouped settings: a group of keys, and its enabled as the group key itself', async () => {
    const path = file(
      'grouped.yaml',
      'kubeconfig: /etc/kubeconfig\ndevPki: true\ndiscovery:\n  enabled: true\n  interval: 2h\n  namespaces: [shop]\nledger:\n  retention: 7d\n',
    );
    const { config } = await load(['--config', path]);
    expect(config.discovery.enabled).toBe(true);
    expect(config.discovery.intervalMs).toBe(2 * 3_600_000);
    expect(config.discovery.namespaces).toEqual(['shop']);
    expect(config.ledger.retentionMs).toBe(7 * 86_400_000);
  });

  it('refuses a setting given both grouped and flat', async () => {
    const path = file('twice.yaml', 'discoveryInterval: 1h\ndiscovery:\n  interval: 2h\n');
    const error = await configError(load(['--config', path]));
    expect(error.problems).toEqual([
      `config file ${path}: setting discoveryInterval is given twice`,
    ]);
  });

  it('refuses a missing config file, naming it', async () => {
    const path = join(dir, 'absent.yaml');
    const error = await configError(load([], { MESHCA_CONFIG: path }));
    expect(error.problems).toEqual([expect.stringContaining(`cannot read config file ${path}`)]);
  });

  it('warns about unknown MESHCA_ variables without failing', async () => {
    const { config, warnings } = await load([], {
      MESHCA_MAX_TLL: '1h',
      MESHCA_CONFIG: '',
      MESHCA_MAX_TTL: '30h',
      HOME: '/root',
    });
    expect(config.ttl.maxTtlSeconds).toBe(108_000);
    expect(warnings).toEqual([
      'environment variable MESHCA_MAX_TLL is not a meshca setting and was ignored',
    ]);
  });
});

describe('loadConfig development mode detection', () => {
  it('is the development mode when nothing is configured', async () => {
    const { config, warnings, origins } = await load();
    expect(config.mode).toBe('development');
    expect(config.ca.source).toEqual({ kind: 'development' });
    expect(config.authentication.verifier).toEqual({ kind: 'development' });
    expect(config.kube).toBeUndefined();
    expect(config.stateDir).toBe(join(dir, '.meshca'));
    expect(warnings).toEqual([]);
    expect(origins).toEqual({});
  });

  it('connects in-cluster when KUBERNETES_SERVICE_HOST is set', async () => {
    const { config } = await load([], {
      KUBERNETES_SERVICE_HOST: '10.96.0.1',
      MESHCA_CA_DIR: '/ca',
    });
    expect(config.kube).toEqual({ mode: 'in-cluster' });
    expect(config.authentication.verifier.kind).toBe('token-review');
    expect(config.mode).toBe('production');
  });

  it('ignores an empty KUBERNETES_SERVICE_HOST', async () => {
    expect((await load([], { KUBERNETES_SERVICE_HOST: '' })).config.mode).toBe('development');
  });

  it('stays out of the cluster with --kubeconfig none, even in a pod', async () => {
    const { config } = await load(['--kubeconfig', 'none'], {
      KUBERNETES_SERVICE_HOST: '10.96.0.1',
    });
    expect(config.kube).toBeUndefined();
    expect(config.mode).toBe('development');
  });

  it('uses TokenReview through a kubeconfig path', async () => {
    const { config } = await load(['--kubeconfig', 'kube.yaml', '--ca-dir', 'cacerts']);
    expect(config.kube).toEqual({ mode: 'kubeconfig', path: join(dir, 'kube.yaml') });
    expect(config.ca.source).toEqual({ kind: 'directory', dir: join(dir, 'cacerts') });
    expect(config.authentication.verifier.kind).toBe('token-review');
  });
});

import {
  ConfigError,
  OPTIONS,
  buildConfig,
  type Config,
  type Environment,
} from '../../src/config/index.js';

const CWD = '/srv/meshca';
const OUTSIDE: Environment = {
  inCluster: false,
  cwd: CWD,
  podNamespace: undefined,
  podName: 'host-1',
};
const IN_POD: Environment = {
  inCluster: true,
  cwd: CWD,
  podNamespace: 'meshca-system',
  podName: 'meshca-7d9f-abcde',
};

/** The defaults as load.ts merges them, with `overrides` on top. */
function raw(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const option of OPTIONS) {
    if (option.default !== undefined) values[option.key] = option.default;
  }
  return { ...values, ...overrides };
}

/** Names a key the way a test can recognise in messages. */
const describeKey = (key: string): string => `<${key}>`;

function build(overrides: Record<string, unknown> = {}, environment = OUTSIDE): Config {
  return buildConfig(raw(overrides), environment, describeKey);
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

/** Every object reachable from `value` (URLs excepted: they are immutable values already). */
function objectsIn(value: unknown, path = 'config'): [string, object][] {
  if (value === null || typeof value !== 'object' || value instanceof URL) return [];
  return [
    [path, value],
    ...Object.entries(value).flatMap(([key, child]) => objectsIn(child, `${path}.${key}`)),
  ];
}

describe('buildConfig defaults', () => {
  it('is the development mode when nothing is configured', () => {
    expect(build()).toEqual({
      mode: 'development',
      stateDir: `${CWD}/.meshca`,
      logLevel: 'info',
      grpc: {
        listen: '0.0.0.0:6443',
        requestTimeoutMs: 10_000,
        maxInFlight: 2_000,
        shutdownGraceMs: 10_000,
      },
      http: { listen: '0.0.0.0:9402' },
      csrVerification: { threads: 1 },
      rateLimits: {
        perIdentityPerSecond: 20,
        perIdentityBurst: 400,
        globalPerSecond: 0,
        globalBurst: 2000,
        maxIdentities: 100_000,
      },
      trustDomain: 'cluster.local',
      cluster: { id: 'Kubernetes', aliases: [] },
      kube: undefined,
      authentication: {
        audiences: ['istio-ca'],
        verifier: { kind: 'development' },
        tokenReview: { timeoutMs: 5_000, maxConcurrent: 50 },
        cache: {
          ttlMs: 60_000,
          staleTtlMs: 3_600_000,
          negativeTtlMs: 2_000,
          maxEntries: 100_000,
          verifyTimeoutMs: 5_000,
        },
      },
      ca: {
        source: { kind: 'development' },
        verifyIssued: true,
        reloadIntervalMs: 10_000,
        rotationChecks: true,
      },
      kubernetes: undefined,
      discovery: {
        enabled: false,
        intervalMs: 3_600_000,
        initialDelayMs: 60_000,
        approvedRoots: [],
        allowlist: undefined,
        namespaces: [],
        events: true,
        expiringWithinMs: 30 * 86_400_000,
        certManagerNamespace: 'cert-manager',
        pageSize: 100,
      },
      ttl: {
        defaultTtlSeconds: 86_400,
        maxTtlSeconds: 86_400,
        minTtlSeconds: 600,
        backdateSeconds: 120,
      },
      policy: { central: undefined, local: undefined, signingKeys: [], reloadIntervalMs: 10_000 },
      keyPolicy: { minRsaBits: 2048, maxRsaBits: 8192, allowedCurves: ['P-256', 'P-384'] },
      serving: {
        dnsNames: ['meshca.meshca.svc', 'localhost'],
        ipAddresses: ['127.0.0.1'],
        ttlSeconds: 86_400,
        backdateSeconds: 120,
      },
      ledger: {
        store: { kind: 'sqlite', path: `${CWD}/.meshca/ledger.db` },
        writer: 'host-1',
        spoolPath: `${CWD}/.meshca/ledger-spool.jsonl`,
        retentionMs: 30 * 86_400_000,
        spoolMaxRecords: 100_000,
        spoolFull: 'drop-oldest',
        batchSize: 200,
        flushIntervalMs: 200,
        headIntervalMs: 60_000,
        revocation: { enabled: false, crlValidityMs: 86_400_000, crlCheckIntervalMs: 10_000 },
        inventory: { serviceAccounts: [], groups: [], audience: 'meshca-inventory' },
      },
    } satisfies Config);
  });

  it('is deeply frozen', () => {
    const config = build({
      jwks: 'https://kube.example/openid/v1/jwks',
      jwtIssuer: 'https://kube.example',
      caDir: 'ca',
    });
    const objects = objectsIn(config);
    expect(objects.map(([path]) => path)).toEqual(
      expect.arrayContaining([
        'config',
        'config.grpc',
        'config.authentication.verifier',
        'config.authentication.verifier.jwks',
        'config.serving.dnsNames',
        'config.ttl',
      ]),
    );
    for (const [path, object] of objects) {
      expect([path, Object.isFrozen(object)]).toEqual([path, true]);
    }
    expect(() => {
      (config as { mode: string }).mode = 'production';
    }).toThrow(TypeError);
    expect(() => {
      (config.grpc as { maxInFlight: number }).maxInFlight = 1;
    }).toThrow(TypeError);
    expect(() => (config.serving.dnsNames as string[]).push('evil.example')).toThrow(TypeError);
    expect(config.serving.dnsNames).toEqual(['meshca.meshca.svc', 'localhost']);
  });
});

describe('buildConfig: where tokens are checked and where the CA comes from', () => {
  it('uses TokenReview with a kubeconfig path, resolved against cwd', () => {
    const config = build({ kubeconfig: 'kube/config', caDir: 'cacerts' });
    expect(config.mode).toBe('production');
    expect(config.kube).toEqual({ mode: 'kubeconfig', path: `${CWD}/kube/config` });
    expect(config.authentication.verifier).toEqual({ kind: 'token-review' });
    expect(config.authentication.tokenReview).toEqual({ timeoutMs: 5_000, maxConcurrent: 50 });
    expect(config.ca.source).toEqual({ kind: 'directory', dir: `${CWD}/cacerts` });
  });

  it.each<[string, Record<string, unknown>, Environment]>([
    ['"in-cluster"', { kubeconfig: 'in-cluster' }, OUTSIDE],
    ['nothing, inside a pod', {}, IN_POD],
  ])('uses the in-cluster connection for kubeconfig %s', (_name, overrides, environment) => {
    const config = build({ ...overrides, caDir: '/etc/cacerts' }, environment);
    expect(config.kube).toEqual({ mode: 'in-cluster' });
    expect(config.authentication.verifier.kind).toBe('token-review');
    expect(config.mode).toBe('production');
  });

  it.each<[string, Environment]>([
    ['outside a cluster', OUTSIDE],
    ['even inside a pod', IN_POD],
  ])('connects to no cluster with kubeconfig "none" %s', (_name, environment) => {
    const config = build({ kubeconfig: 'none' }, environment);
    expect(config.kube).toBeUndefined();
    expect(config.mode).toBe('development');
    expect(config.authentication.verifier).toEqual({ kind: 'development' });
    expect(config.ca.source).toEqual({ kind: 'development' });
  });

  it('refuses the development mode silently inside a pod: caDir is required', () => {
    expect(problems({}, IN_POD)).toEqual([
      '<caDir>: a CA is required when a cluster or JWKS is configured: set caDir or caSecret (or devPki for a development CA)',
    ]);
  });

  it('uses the development CA with a cluster when devPki is set', () => {
    const config = build({ kubeconfig: '/k', devPki: true });
    expect(config.mode).toBe('production');
    expect(config.ca.source).toEqual({ kind: 'development' });
    expect(config.authentication.verifier.kind).toBe('token-review');
  });

  it('prefers caDir over devPki', () => {
    expect(build({ kubeconfig: '/k', devPki: true, caDir: '/ca' }).ca.source).toEqual({
      kind: 'directory',
      dir: '/ca',
    });
  });

  it('verifies JWTs against a JWKS file, resolved against cwd', () => {
    const config = build({ jwks: 'keys/jwks.json', jwtIssuer: 'https://issuer', caDir: '/ca' });
    expect(config.kube).toBeUndefined();
    expect(config.mode).toBe('production');
    expect(config.authentication.verifier).toEqual({
      kind: 'jwt',
      jwks: { kind: 'file', path: `${CWD}/keys/jwks.json` },
      issuer: 'https://issuer',
    });
  });

  it('verifies JWTs against an https JWKS URL, also when a cluster is configured', () => {
    const config = build({
      jwks: 'https://kube.example/openid/v1/jwks',
      jwtIssuer: 'https://kube.example',
      kubeconfig: '/k',
      caDir: '/ca',
    });
    expect(config.kube).toEqual({ mode: 'kubeconfig', path: '/k' });
    expect(config.authentication.verifier).toEqual({
      kind: 'jwt',
      jwks: { kind: 'url', url: new URL('https://kube.example/openid/v1/jwks') },
      issuer: 'https://kube.example',
    });
  });
});

describe('buildConfig: values', () => {
  it("reads '@' in the trust domain as '.', like istiod", () => {
    expect(build({ trustDomain: 'corp@example.com' }).trustDomain).toBe('corp.example.com');
  });

  it('converts durations to the units the names carry', () => {
    const config = build({
      defaultTtl: '12h',
      maxTtl: '2d',
      minTtl: '15m',
      backdate: 0,
      servingTtl: '1h',
      requestTimeout: '1500ms',
      shutdownGrace: '30s',
      tokenCacheTtl: '5m',
      tokenCacheNegativeTtl: '0',
    });
    expect(config.ttl).toEqual({
      defaultTtlSeconds: 43_200,
      maxTtlSeconds: 172_800,
      minTtlSeconds: 900,
      backdateSeconds: 0,
    });
    expect(config.serving.ttlSeconds).toBe(3600);
    expect(config.grpc.requestTimeoutMs).toBe(1500);
    expect(config.grpc.shutdownGraceMs).toBe(30_000);
    expect(config.authentication.cache.ttlMs).toBe(300_000);
    expect(config.authentication.cache.negativeTtlMs).toBe(0);
  });

  it('bounds one shared verification by the TokenReview timeout, at least 1s', () => {
    expect(build({ tokenReviewTimeout: '500ms' }).authentication.cache.verifyTimeoutMs).toBe(1000);
    expect(build({ tokenReviewTimeout: '8s' }).authentication.cache.verifyTimeoutMs).toBe(8000);
  });

  it.each<[string, unknown, readonly string[]]>([
    ['a comma-separated string', ' a.example , b.example,,', ['a.example', 'b.example']],
    ['an array', ['a.example', ' b.example '], ['a.example', 'b.example']],
  ])('reads a list from %s', (_name, value, expected) => {
    expect(build({ servingDns: value }).serving.dnsNames).toEqual(expected);
  });

  it.each<[unknown, boolean]>([
    [true, true],
    ['true', true],
    ['1', true],
    ['yes', true],
    [false, false],
    ['false', false],
    ['0', false],
    ['no', false],
  ])('reads the boolean %p as %p', (value, expected) => {
    expect(build({ verifyIssued: value }).ca.verifyIssued).toBe(expected);
  });

  it.each<[string, string]>([
    ['listen', '[::1]:6443'],
    ['listen', ':6443'],
    ['httpListen', 'localhost:0'],
    ['servingDns', '*.meshca.svc'],
    ['servingIps', '::1'],
    ['servingIps', 'fe80::1'],
    ['trustDomain', 'td_1-x.example'],
  ])('accepts %s %p', (key, value) => {
    expect(() => build({ [key]: value })).not.toThrow();
  });

  it('switches a rate limit off with 0, whatever its burst', () => {
    const config = build({
      rateLimitPerIdentity: 0,
      rateLimitPerIdentityBurst: 0,
      rateLimitIdentities: 0,
      rateLimitGlobal: 0,
      rateLimitGlobalBurst: 0,
    });
    expect(config.rateLimits).toEqual({
      perIdentityPerSecond: 0,
      perIdentityBurst: 0,
      globalPerSecond: 0,
      globalBurst: 0,
      maxIdentities: 0,
    });
  });
});

describe('buildConfig: refusals', () => {
  it.each<[string, Record<string, unknown>, string]>([
    // TTL rules: minTtl <= defaultTtl <= maxTtl, whole seconds, sane bounds
    [
      'defaultTtl below minTtl',
      { minTtl: '2h', defaultTtl: '1h' },
      '<defaultTtl>: must be at least minTtl',
    ],
    ['maxTtl below defaultTtl', { defaultTtl: '48h' }, '<maxTtl>: must be at least defaultTtl'],
    [
      'a TTL that is not whole seconds',
      { maxTtl: '24h500ms' },
      '<maxTtl>: must be a whole number of seconds',
    ],
    [
      'a backdate that is not whole seconds',
      { backdate: '1.5' },
      '<backdate>: must be a whole number of seconds',
    ],
    ['minTtl below 10s', { minTtl: '5s' }, '<minTtl>: must be at least 10s'],
    ['backdate above 1h', { backdate: '2h' }, '<backdate>: must be at most 1h'],
    ['servingTtl below 5m', { servingTtl: '4m' }, '<servingTtl>: must be at least 5m'],
    [
      'requestTimeout below 100ms',
      { requestTimeout: '50ms' },
      '<requestTimeout>: must be at least 100ms',
    ],
    ['maxInFlight 0', { maxInFlight: 0 }, '<maxInFlight>: must be at least 1'],
    [
      'csrVerifyThreads above 64',
      { csrVerifyThreads: 65 },
      '<csrVerifyThreads>: must be at most 64',
    ],
    [
      'csrVerifyThreads below 0',
      { csrVerifyThreads: -1 },
      '<csrVerifyThreads>: Too small: expected number to be >=0',
    ],
    [
      'a per-identity burst of 0 with the limit on',
      { rateLimitPerIdentityBurst: 0 },
      '<rateLimitPerIdentityBurst>: must be at least 1 while rateLimitPerIdentity is on',
    ],
    [
      'no identities remembered with the per-identity limit on',
      { rateLimitIdentities: 0 },
      '<rateLimitIdentities>: must be at least 1 while rateLimitPerIdentity is on',
    ],
    [
      'a global burst of 0 with the limit on',
      { rateLimitGlobal: 10, rateLimitGlobalBurst: 0 },
      '<rateLimitGlobalBurst>: must be at least 1 while rateLimitGlobal is on',
    ],
    [
      'tokenReviewConcurrency 0',
      { tokenReviewConcurrency: '0' },
      '<tokenReviewConcurrency>: must be at least 1',
    ],
    ['tokenCacheSize 0', { tokenCacheSize: 0 }, '<tokenCacheSize>: must be at least 1'],
    ['minRsaBits below 2048', { minRsaBits: 1024 }, '<minRsaBits>: must be at least 2048'],
    [
      'an unknown log level',
      { logLevel: 'verbose' },
      '<logLevel>: must be one of fatal, error, warn, info, debug, trace, silent',
    ],
    // addresses and names
    ['listen without a port', { listen: 'localhost' }, '<listen>: "localhost" is not host:port'],
    [
      'listen with a port above 65535',
      { listen: '0.0.0.0:65536' },
      '<listen>: "0.0.0.0:65536" is not host:port',
    ],
    [
      'httpListen with two colons',
      { httpListen: 'a:b:9402' },
      '<httpListen>: "a:b:9402" is not host:port',
    ],
    [
      'a bare IPv6 listen address',
      { httpListen: '::1:9402' },
      '<httpListen>: "::1:9402" is not host:port',
    ],
    [
      'an upper-case trust domain',
      { trustDomain: 'Cluster.Local' },
      '<trustDomain>: "Cluster.Local" is not a valid SPIFFE trust domain',
    ],
    [
      'a trust domain with a space',
      { trustDomain: 'my domain' },
      '<trustDomain>: "my domain" is not a valid SPIFFE trust domain',
    ],
    [
      'a trust domain ending in a dot',
      { trustDomain: 'cluster.local.' },
      '<trustDomain>: "cluster.local." is not a valid SPIFFE trust domain',
    ],
    ['an empty cluster ID', { clusterId: '' }, '<clusterId>: must not be empty'],
    [
      'a serving DNS name with an underscore',
      { servingDns: 'bad_name.example' },
      '<servingDns>: "bad_name.example" is not a DNS name',
    ],
    [
      'a serving DNS name starting with a dash',
      { servingDns: '-x.example' },
      '<servingDns>: "-x.example" is not a DNS name',
    ],
    [
      'a serving DNS name that is a URL',
      { servingDns: 'https://x.example' },
      '<servingDns>: "https://x.example" is not a DNS name',
    ],
    [
      'a serving IP that is not one',
      { servingIps: '1.2.3' },
      '<servingIps>: "1.2.3" is not an IP address',
    ],
    [
      'a serving IP in mixed notation',
      { servingIps: '::ffff:1.2.3.4' },
      '<servingIps>: "::ffff:1.2.3.4" is not an IP address',
    ],
    [
      'no serving names at all',
      { servingDns: [], servingIps: '' },
      '<servingDns>: the serving certificate needs at least one DNS name or IP address',
    ],
    [
      'no token audience',
      { tokenAudiences: ' , ' },
      '<tokenAudiences>: needs at least one audience',
    ],
    // authentication and CA sources
    [
      'jwks without jwtIssuer',
      { jwks: '/jwks.json', caDir: '/ca' },
      '<jwtIssuer>: is required with jwks',
    ],
    [
      'a JWKS URL over http',
      { jwks: 'http://kube.example/jwks', jwtIssuer: 'i', caDir: '/ca' },
      '<jwks>: a JWKS URL must use https',
    ],
    [
      'a kubeconfig without caDir',
      { kubeconfig: '/k' },
      '<caDir>: a CA is required when a cluster or JWKS is configured',
    ],
    [
      'jwks without caDir',
      { jwks: '/jwks.json', jwtIssuer: 'i' },
      '<caDir>: a CA is required when a cluster or JWKS is configured',
    ],
    [
      'a caDir and no way to authenticate',
      { caDir: '/ca' },
      '<kubeconfig>: no way to authenticate callers: set kubeconfig (TokenReview) or jwks',
    ],
    [
      'a caDir with kubeconfig none',
      { caDir: '/ca', kubeconfig: 'none' },
      '<kubeconfig>: no way to authenticate callers',
    ],
    // types
    ['a duration that is not one', { maxTtl: '5x' }, '<maxTtl>: "5x" is not a duration'],
    ['an integer that is not one', { maxInFlight: 'many' }, '<maxInFlight>:'],
    ['a fractional integer', { maxInFlight: 1.5 }, '<maxInFlight>:'],
    ['a negative integer', { minRsaBits: -1 }, '<minRsaBits>:'],
    ['a boolean that is not one', { devPki: 'maybe' }, '<devPki>:'],
    ['a list of numbers', { servingDns: [1, 2] }, '<servingDns>:'],
    ['an unknown setting', { maxTll: '1h' }, 'unknown setting(s): maxTll'],
  ])('refuses %s', (_name, overrides, expected) => {
    const found = problems(overrides);
    expect(found).toEqual(expect.arrayContaining([expect.stringContaining(expected)]));
  });

  it('lists every problem at once', () => {
    const error = (() => {
      try {
        build({ minRsaBits: 1024, logLevel: 'loud', listen: 'nowhere' });
      } catch (caught) {
        return caught as ConfigError;
      }
      throw new Error('expected a ConfigError');
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.name).toBe('ConfigError');
    expect(error.problems).toHaveLength(3);
    for (const problem of error.problems) expect(error.message).toContain(problem);
  });
});

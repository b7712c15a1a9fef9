/**
 * Validation of the merged settings (zod) and the typed, frozen {@link Config} built from them.
 * Cross-field rules live here too, so a bad combination fails at start-up with a message that
 * names the setting.
 *
 * @module
 */
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { z } from 'zod';
import type { JwksSource, TokenCacheOptions } from '../auth/index.js';
import type { KeyPolicyOptions } from '../csr/index.js';
import { LabelSelector, type KubeConnection } from '../kube/index.js';
import { LOG_LEVELS } from '../logger.js';
import type { TtlOptions } from '../policy/index.js';
import {
  isDnsLabel,
  isDnsSubdomain,
  isValidTrustDomain,
  sanitizeTrustDomain,
} from '../identity/index.js';
import { parseDurationMs } from './duration.js';
import { OPTIONS, type OptionKind } from './options.js';

/** How tokens are verified. */
export type VerifierConfig =
  | { readonly kind: 'token-review' }
  | { readonly kind: 'jwt'; readonly jwks: JwksSource; readonly issuer: string }
  | { readonly kind: 'development' };

/** Where CA material comes from. */
export type CaSourceConfig =
  | { readonly kind: 'directory'; readonly dir: string }
  | { readonly kind: 'secret'; readonly namespace: string; readonly name: string }
  | { readonly kind: 'development' };

/** Another cluster whose proxies meshca serves (multi-cluster). */
export interface RemoteClusterConfig {
  readonly id: string;
  readonly aliases: readonly string[];
  readonly kubeconfig: string;
}

/** The Kubernetes integration, present when a cluster is configured. */
export interface KubernetesConfig {
  readonly namespace: string;
  readonly podName: string;
  readonly leaderElection: {
    readonly enabled: boolean;
    readonly name: string;
    readonly leaseDurationMs: number;
    readonly renewDeadlineMs: number;
    readonly retryPeriodMs: number;
  };
  readonly trustBundle: {
    readonly enabled: boolean;
    readonly configMapName: string;
    readonly namespaceSelector: string;
    readonly excludedNamespaces: readonly string[];
  };
  readonly istiod: {
    readonly enabled: boolean;
    readonly namespace: string;
    readonly secretName: string;
    readonly revisions: readonly string[];
    readonly extraDnsNames: readonly string[];
    readonly ttlSeconds: number;
    readonly keyType: 'ec' | 'rsa';
  };
  readonly controllers: {
    readonly resyncMs: number;
    readonly writesPerSecond: number;
    readonly requestTimeoutMs: number;
  };
  /** `namespace/serviceAccount` of node proxies allowed to impersonate; empty disables. */
  readonly trustedNodeAccounts: readonly string[];
  readonly remoteClusters: readonly RemoteClusterConfig[];
}

/** The validated configuration of `meshca serve`. */
export interface Config {
  /** `development` when nothing was configured: dev PKI and the local token issuer. */
  readonly mode: 'development' | 'production';
  readonly stateDir: string;
  readonly logLevel: (typeof LOG_LEVELS)[number];
  readonly grpc: {
    readonly listen: string;
    readonly requestTimeoutMs: number;
    readonly maxInFlight: number;
    readonly shutdownGraceMs: number;
  };
  readonly http: { readonly listen: string };
  readonly trustDomain: string;
  readonly cluster: { readonly id: string; readonly aliases: readonly string[] };
  readonly kube: KubeConnection | undefined;
  readonly authentication: {
    readonly audiences: readonly string[];
    readonly verifier: VerifierConfig;
    /** TokenReview limits, for this cluster (when it reviews) and every remote cluster. */
    readonly tokenReview: { readonly timeoutMs: number; readonly maxConcurrent: number };
    readonly cache: TokenCacheOptions;
  };
  readonly ca: {
    readonly source: CaSourceConfig;
    readonly verifyIssued: boolean;
    readonly reloadIntervalMs: number;
    readonly rotationChecks: boolean;
  };
  /** Undefined without a cluster. */
  readonly kubernetes: KubernetesConfig | undefined;
  readonly ttl: TtlOptions;
  readonly keyPolicy: KeyPolicyOptions;
  readonly serving: {
    readonly dnsNames: readonly string[];
    readonly ipAddresses: readonly string[];
    readonly ttlSeconds: number;
    readonly backdateSeconds: number;
  };
}

/** Facts about the environment that decide defaults (read by `load.ts`, the only env reader). */
export interface Environment {
  /** True inside a Kubernetes pod (KUBERNETES_SERVICE_HOST is set). */
  readonly inCluster: boolean;
  /** The pod's namespace (POD_NAMESPACE or the service-account namespace file), if known. */
  readonly podNamespace: string | undefined;
  /** The pod's name (POD_NAME) or the host name. */
  readonly podName: string;
  /** Base for relative paths. */
  readonly cwd: string;
}

const DNS_NAME =
  /^(?=.{1,253}$)(\*\.)?([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/;
const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]*):(\d{1,5})$/;

const durationField = z.union([z.string(), z.number()]).transform((value, context) => {
  try {
    return parseDurationMs(value);
  } catch (error) {
    context.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});
const listField = z
  .union([z.string(), z.array(z.string())])
  .transform((value) =>
    (typeof value === 'string' ? value.split(',') : value)
      .map((item) => item.trim())
      .filter(Boolean),
  );
const integerField = z
  .union([z.number(), z.string().regex(/^\d+$/, 'must be a whole number').transform(Number)])
  .pipe(z.number().int().min(0));
const booleanField = z.union([
  z.boolean(),
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .transform((v) => ['true', '1', 'yes'].includes(v)),
]);

const FIELD_BY_KIND: Readonly<Record<OptionKind, z.ZodType>> = {
  string: z.string(),
  list: listField,
  duration: durationField,
  integer: integerField,
  boolean: booleanField,
};

const rawSchema = z.strictObject(
  Object.fromEntries(OPTIONS.map((option) => [option.key, FIELD_BY_KIND[option.kind]])),
);

/** The settings after type coercion, before cross-field checks. */
interface Settings {
  listen: string;
  httpListen: string;
  servingDns: string[];
  servingIps: string[];
  servingTtl: number;
  requestTimeout: number;
  maxInFlight: number;
  shutdownGrace: number;
  trustDomain: string;
  clusterId: string;
  clusterAliases: string[];
  kubeconfig: string;
  jwks: string;
  jwtIssuer: string;
  tokenAudiences: string[];
  tokenReviewTimeout: number;
  tokenReviewConcurrency: number;
  tokenCacheTtl: number;
  tokenCacheNegativeTtl: number;
  tokenCacheSize: number;
  caDir: string;
  stateDir: string;
  devPki: boolean;
  verifyIssued: boolean;
  defaultTtl: number;
  maxTtl: number;
  minTtl: number;
  backdate: number;
  minRsaBits: number;
  logLevel: string;
  caSecret: string;
  caReloadInterval: number;
  caRotationChecks: boolean;
  namespace: string;
  podName: string;
  leaderElection: boolean;
  leaseName: string;
  leaseDuration: number;
  leaseRenewDeadline: number;
  leaseRetryPeriod: number;
  trustBundle: boolean;
  trustBundleConfigMap: string;
  trustBundleNamespaceSelector: string;
  trustBundleExcludedNamespaces: string[];
  istiodCertificate: boolean;
  istiodNamespace: string;
  istiodSecret: string;
  istiodRevisions: string[];
  istiodDns: string[];
  istiodTtl: number;
  istiodKey: string;
  trustedNodeAccounts: string[];
  remoteClusters: string[];
  controllerResync: number;
  controllerWriteRate: number;
  kubeRequestTimeout: number;
}

/** A configuration error, with every problem found. */
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
  const parsed = rawSchema.safeParse(raw);
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
  const s = parsed.data as unknown as Settings;
  const problems: string[] = [];
  const problem = (key: string, message: string): void => {
    problems.push(`${describe(key)}: ${message}`);
  };
  const seconds = (key: 'servingTtl' | 'defaultTtl' | 'maxTtl' | 'minTtl' | 'backdate'): number => {
    if (s[key] % 1000 !== 0) problem(key, 'must be a whole number of seconds');
    return Math.floor(s[key] / 1000);
  };

  for (const key of ['listen', 'httpListen'] as const) {
    const match = HOST_PORT.exec(s[key]);
    if (!match || Number(match[2]) > 65535) problem(key, `"${s[key]}" is not host:port`);
  }
  const trustDomain = sanitizeTrustDomain(s.trustDomain);
  if (!isValidTrustDomain(trustDomain)) {
    problem(
      'trustDomain',
      `"${s.trustDomain}" is not a valid SPIFFE trust domain (lowercase letters, digits, . - _)`,
    );
  }
  if (s.clusterId === '') problem('clusterId', 'must not be empty');
  for (const name of s.servingDns) {
    if (!DNS_NAME.test(name)) problem('servingDns', `"${name}" is not a DNS name`);
  }
  for (const ip of s.servingIps) {
    if (isIP(ip) === 0 || (ip.includes('.') && ip.includes(':')))
      problem('servingIps', `"${ip}" is not an IP address`);
  }
  if (s.servingDns.length + s.servingIps.length === 0) {
    problem('servingDns', 'the serving certificate needs at least one DNS name or IP address');
  }
  if (s.tokenAudiences.length === 0) problem('tokenAudiences', 'needs at least one audience');
  const ttl: TtlOptions = {
    defaultTtlSeconds: seconds('defaultTtl'),
    maxTtlSeconds: seconds('maxTtl'),
    minTtlSeconds: seconds('minTtl'),
    backdateSeconds: seconds('backdate'),
  };
  if (ttl.minTtlSeconds < 10) problem('minTtl', 'must be at least 10s');
  if (ttl.defaultTtlSeconds < ttl.minTtlSeconds) problem('defaultTtl', `must be at least minTtl`);
  if (ttl.maxTtlSeconds < ttl.defaultTtlSeconds) problem('maxTtl', `must be at least defaultTtl`);
  if (ttl.backdateSeconds > 3600) problem('backdate', 'must be at most 1h');
  const servingTtlSeconds = seconds('servingTtl');
  if (servingTtlSeconds < 300) problem('servingTtl', 'must be at least 5m');
  if (s.minRsaBits < 2048) problem('minRsaBits', 'must be at least 2048');
  if (s.requestTimeout < 100) problem('requestTimeout', 'must be at least 100ms');
  if (s.maxInFlight < 1) problem('maxInFlight', 'must be at least 1');
  if (s.tokenReviewConcurrency < 1) problem('tokenReviewConcurrency', 'must be at least 1');
  if (s.tokenCacheSize < 1) problem('tokenCacheSize', 'must be at least 1');
  if (!(LOG_LEVELS as readonly string[]).includes(s.logLevel)) {
    problem('logLevel', `must be one of ${LOG_LEVELS.join(', ')}`);
  }

  const path = (value: string): string => resolve(environment.cwd, value);
  let kube: KubeConnection | undefined;
  if (s.kubeconfig === 'in-cluster' || (s.kubeconfig === '' && environment.inCluster)) {
    kube = { mode: 'in-cluster' };
  } else if (s.kubeconfig !== '' && s.kubeconfig !== 'none') {
    kube = { mode: 'kubeconfig', path: path(s.kubeconfig) };
  }
  const development = s.caDir === '' && s.caSecret === '' && kube === undefined && s.jwks === '';

  let verifier: VerifierConfig;
  if (s.jwks !== '') {
    let jwks: JwksSource;
    if (/^https?:\/\//.test(s.jwks)) {
      const url = new URL(s.jwks);
      if (url.protocol !== 'https:') problem('jwks', 'a JWKS URL must use https');
      jwks = { kind: 'url', url };
    } else {
      jwks = { kind: 'file', path: path(s.jwks) };
    }
    if (s.jwtIssuer === '') problem('jwtIssuer', 'is required with jwks');
    verifier = { kind: 'jwt', jwks, issuer: s.jwtIssuer };
  } else if (kube !== undefined) {
    verifier = { kind: 'token-review' };
  } else if (development) {
    verifier = { kind: 'development' };
  } else {
    verifier = { kind: 'development' };
    problem('kubeconfig', 'no way to authenticate callers: set kubeconfig (TokenReview) or jwks');
  }

  const namespace = s.namespace !== '' ? s.namespace : (environment.podNamespace ?? 'meshca');
  let caSource: CaSourceConfig;
  if (s.caDir !== '' && s.caSecret !== '') {
    caSource = { kind: 'development' };
    problem('caSecret', 'set caDir or caSecret, not both');
  } else if (s.caDir !== '') {
    caSource = { kind: 'directory', dir: path(s.caDir) };
  } else if (s.caSecret !== '') {
    const [first = '', second] = s.caSecret.split('/');
    caSource =
      second === undefined
        ? { kind: 'secret', namespace, name: first }
        : { kind: 'secret', namespace: first, name: second };
    if (kube === undefined) problem('caSecret', 'needs a cluster (kubeconfig)');
    if (
      !isDnsLabel(caSource.namespace) ||
      !isDnsSubdomain(caSource.name) ||
      s.caSecret.split('/').length > 2
    ) {
      problem('caSecret', `"${s.caSecret}" is not [namespace/]name`);
    }
  } else if (development || s.devPki) {
    caSource = { kind: 'development' };
  } else {
    caSource = { kind: 'development' };
    problem(
      'caDir',
      'a CA is required when a cluster or JWKS is configured: set caDir or caSecret (or devPki for a development CA)',
    );
  }

  const kubernetes =
    kube === undefined ? undefined : kubernetesConfig(s, namespace, environment, path, problem);

  if (problems.length > 0) throw new ConfigError(problems);
  return deepFreeze<Config>({
    mode: development ? 'development' : 'production',
    stateDir: path(s.stateDir),
    logLevel: s.logLevel as Config['logLevel'],
    grpc: {
      listen: s.listen,
      requestTimeoutMs: s.requestTimeout,
      maxInFlight: s.maxInFlight,
      shutdownGraceMs: s.shutdownGrace,
    },
    http: { listen: s.httpListen },
    trustDomain,
    cluster: { id: s.clusterId, aliases: s.clusterAliases },
    kube,
    authentication: {
      audiences: s.tokenAudiences,
      verifier,
      tokenReview: { timeoutMs: s.tokenReviewTimeout, maxConcurrent: s.tokenReviewConcurrency },
      cache: {
        ttlMs: s.tokenCacheTtl,
        negativeTtlMs: s.tokenCacheNegativeTtl,
        maxEntries: s.tokenCacheSize,
        verifyTimeoutMs: Math.max(s.tokenReviewTimeout, 1000),
      },
    },
    ca: {
      source: caSource,
      verifyIssued: s.verifyIssued,
      reloadIntervalMs: s.caReloadInterval,
      rotationChecks: s.caRotationChecks,
    },
    kubernetes,
    ttl,
    keyPolicy: { minRsaBits: s.minRsaBits, maxRsaBits: 8192, allowedCurves: ['P-256', 'P-384'] },
    serving: {
      dnsNames: s.servingDns,
      ipAddresses: s.servingIps,
      ttlSeconds: servingTtlSeconds,
      backdateSeconds: ttl.backdateSeconds,
    },
  });
}

function kubernetesConfig(
  s: Settings,
  namespace: string,
  environment: Environment,
  path: (value: string) => string,
  problem: (key: string, message: string) => void,
): KubernetesConfig {
  if (!isDnsLabel(namespace)) problem('namespace', `"${namespace}" is not a namespace name`);
  if (!(s.leaseDuration > s.leaseRenewDeadline && s.leaseRenewDeadline > s.leaseRetryPeriod)) {
    problem(
      'leaseDuration',
      'must be longer than leaseRenewDeadline, itself longer than leaseRetryPeriod',
    );
  }
  if (s.istiodKey !== 'ec' && s.istiodKey !== 'rsa') problem('istiodKey', 'must be ec or rsa');
  if (!isDnsLabel(s.istiodNamespace))
    problem('istiodNamespace', `"${s.istiodNamespace}" is not a namespace name`);
  for (const revision of s.istiodRevisions) {
    if (!isDnsLabel(revision)) problem('istiodRevisions', `"${revision}" is not a revision name`);
  }
  for (const name of s.istiodDns) {
    if (!DNS_NAME.test(name)) problem('istiodDns', `"${name}" is not a DNS name`);
  }
  if (s.istiodTtl < 10_000 || s.istiodTtl % 1000 !== 0)
    problem('istiodTtl', 'must be whole seconds, at least 10s');
  if (s.controllerWriteRate < 1) problem('controllerWriteRate', 'must be at least 1');
  for (const account of s.trustedNodeAccounts) {
    const [ns = '', sa, extra] = account.split('/');
    if (extra !== undefined || sa === undefined || !isDnsLabel(ns) || !isDnsSubdomain(sa)) {
      problem('trustedNodeAccounts', `"${account}" is not namespace/serviceaccount`);
    }
  }
  const remoteClusters: RemoteClusterConfig[] = [];
  for (const entry of s.remoteClusters) {
    const match = /^([^=+]+)((?:\+[^=+]+)*)=(.+)$/.exec(entry);
    if (!match) {
      problem('remoteClusters', `"${entry}" is not ID[+ALIAS...]=KUBECONFIG`);
      continue;
    }
    const [, id = '', aliases = '', kubeconfig = ''] = match;
    remoteClusters.push({
      id,
      aliases: aliases.split('+').filter(Boolean),
      kubeconfig: path(kubeconfig),
    });
  }
  const names = [
    s.clusterId,
    ...s.clusterAliases,
    ...remoteClusters.flatMap((c) => [c.id, ...c.aliases]),
  ];
  const duplicate = names.find((name, index) => names.indexOf(name) !== index);
  if (duplicate !== undefined)
    problem('remoteClusters', `cluster name "${duplicate}" is used twice`);
  try {
    new LabelSelector(s.trustBundleNamespaceSelector);
  } catch (error) {
    problem('trustBundleNamespaceSelector', (error as Error).message);
  }
  return {
    namespace,
    podName: s.podName !== '' ? s.podName : environment.podName,
    leaderElection: {
      enabled: s.leaderElection,
      name: s.leaseName,
      leaseDurationMs: s.leaseDuration,
      renewDeadlineMs: s.leaseRenewDeadline,
      retryPeriodMs: s.leaseRetryPeriod,
    },
    trustBundle: {
      enabled: s.trustBundle,
      configMapName: s.trustBundleConfigMap,
      namespaceSelector: s.trustBundleNamespaceSelector,
      excludedNamespaces: s.trustBundleExcludedNamespaces,
    },
    istiod: {
      enabled: s.istiodCertificate,
      namespace: s.istiodNamespace,
      secretName: s.istiodSecret,
      revisions: s.istiodRevisions,
      extraDnsNames: s.istiodDns,
      ttlSeconds: Math.floor(s.istiodTtl / 1000),
      keyType: s.istiodKey === 'rsa' ? 'rsa' : 'ec',
    },
    controllers: {
      resyncMs: s.controllerResync,
      writesPerSecond: s.controllerWriteRate,
      requestTimeoutMs: s.kubeRequestTimeout,
    },
    trustedNodeAccounts: s.trustedNodeAccounts,
    remoteClusters,
  };
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

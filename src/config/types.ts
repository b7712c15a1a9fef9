/**
 * The validated configuration: one typed, frozen object, sliced per concern so that each
 * constructor gets only its own options.
 *
 * @module
 */
import type { JwksSource, TokenCacheOptions } from '../auth/index.js';
import type { KeyPolicyOptions } from '../csr/index.js';
import type { KubeConnection } from '../kube/index.js';
import type { PostgresTlsMode, SpoolFullBehaviour } from '../ledger/index.js';
import type { RateLimitOptions } from '../limits/index.js';
import type { LOG_LEVELS } from '../logger.js';
import type { TtlOptions } from '../policy/index.js';
import type { SecretText } from './secret-text.js';

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

/** Where one layer's issuance policy comes from. */
export type PolicySourceConfig =
  /** A file (typically a mounted ConfigMap); its detached signature is `<path>.jws`. */
  | { readonly kind: 'file'; readonly path: string }
  /** A watched ConfigMap: the document under `policy.yaml`, its signature under `policy.yaml.jws`. */
  | { readonly kind: 'configmap'; readonly namespace: string; readonly name: string };

/** The layered issuance policy; without a source in either layer, meshca's TTL limits alone decide. */
export interface PolicyConfig {
  /** The security team's policy. */
  readonly central: PolicySourceConfig | undefined;
  /** The platform team's policy, which can only narrow the central one. */
  readonly local: PolicySourceConfig | undefined;
  /** Public-key files (PEM or JWKS); when any, every central version must be signed by one. */
  readonly signingKeys: readonly string[];
  /** How often files are re-read (watched ConfigMaps also reload at once). */
  readonly reloadIntervalMs: number;
}

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

/** Continuous rogue-CA discovery (`meshca serve`, leader only). */
export interface DiscoveryConfig {
  readonly enabled: boolean;
  readonly intervalMs: number;
  readonly initialDelayMs: number;
  /** PEM bundle files of roots approved besides meshca's own. */
  readonly approvedRoots: readonly string[];
  readonly allowlist: string | undefined;
  /** Empty: every namespace. */
  readonly namespaces: readonly string[];
  readonly events: boolean;
  readonly expiringWithinMs: number;
  readonly certManagerNamespace: string;
  readonly pageSize: number;
}

/** Where the identity ledger is kept. */
export type LedgerStoreConfig =
  | { readonly kind: 'off' }
  | { readonly kind: 'sqlite'; readonly path: string }
  | {
      readonly kind: 'postgres';
      /** `postgres://user@host:port/database`, never with a password. */
      readonly url: string;
      readonly passwordFile: string | undefined;
      /** From `MESHCA_LEDGER_PASSWORD`; prints as `[redacted]`. */
      readonly password: SecretText | undefined;
      readonly tls: { readonly mode: PostgresTlsMode; readonly caFile: string | undefined };
    };

/** The identity ledger, revocation and the inventory API. */
export interface LedgerConfig {
  readonly store: LedgerStoreConfig;
  /** This process's chain label: the pod name (or the host name). */
  readonly writer: string;
  /** `<stateDir>/ledger-spool.jsonl`. */
  readonly spoolPath: string;
  readonly retentionMs: number;
  readonly spoolMaxRecords: number;
  readonly spoolFull: SpoolFullBehaviour;
  readonly batchSize: number;
  readonly flushIntervalMs: number;
  readonly headIntervalMs: number;
  readonly revocation: {
    readonly enabled: boolean;
    readonly crlValidityMs: number;
    readonly crlCheckIntervalMs: number;
  };
  /** Who may read `/v1/inventory` on the ops port. */
  readonly inventory: {
    readonly serviceAccounts: readonly {
      readonly namespace: string;
      readonly serviceAccount: string;
    }[];
    readonly groups: readonly string[];
    readonly audience: string;
  };
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
  /** Where CSR signatures are checked: `threads` worker threads, or 0 for libuv's thread pool. */
  readonly csrVerification: { readonly threads: number };
  /** Rate limits on CreateCertificate, per identity and per replica. */
  readonly rateLimits: RateLimitOptions;
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
  readonly policy: PolicyConfig;
  readonly keyPolicy: KeyPolicyOptions;
  /** Continuous rogue-CA discovery. */
  readonly discovery: DiscoveryConfig;
  readonly serving: {
    readonly dnsNames: readonly string[];
    readonly ipAddresses: readonly string[];
    readonly ttlSeconds: number;
    readonly backdateSeconds: number;
  };
  readonly ledger: LedgerConfig;
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
  /** `MESHCA_LEDGER_PASSWORD`: the ledger's PostgreSQL password (never a flag). */
  readonly ledgerPassword?: string;
}

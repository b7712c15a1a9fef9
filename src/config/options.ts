/**
 * Every setting of `meshca serve`, declared once. Each is a config-file key (camelCase), a flag
 * (`--kebab-case`) and an environment variable (`MESHCA_UPPER_SNAKE`); the help text and the
 * README's configuration reference are generated from this table, so they cannot drift.
 *
 * @module
 */

/** How a raw value is read. */
export type OptionKind = 'string' | 'list' | 'duration' | 'integer' | 'boolean';

/** One setting. */
export interface OptionSpec {
  readonly key: string;
  readonly kind: OptionKind;
  /** Raw default, in the notation users write. */
  readonly default?: string | number | boolean | readonly string[];
  readonly help: string;
  /** Help-section heading. */
  readonly group:
    | 'Serving'
    | 'Identity'
    | 'Authentication'
    | 'Certificate authority'
    | 'Issuance'
    | 'Kubernetes'
    | 'Operations';
}

/** All settings, in help order. */
export const OPTIONS: readonly OptionSpec[] = [
  {
    group: 'Serving',
    key: 'listen',
    kind: 'string',
    default: '0.0.0.0:6443',
    help: 'gRPC listen address (host:port) of the certificate service.',
  },
  {
    group: 'Serving',
    key: 'httpListen',
    kind: 'string',
    default: '0.0.0.0:9402',
    help: 'Listen address of /healthz, /readyz and /metrics.',
  },
  {
    group: 'Serving',
    key: 'servingDns',
    kind: 'list',
    default: ['meshca.meshca.svc', 'localhost'],
    help: "DNS names in meshca's serving certificate; must include the host of the proxies' CA address.",
  },
  {
    group: 'Serving',
    key: 'servingIps',
    kind: 'list',
    default: ['127.0.0.1'],
    help: 'IP addresses in the serving certificate.',
  },
  {
    group: 'Serving',
    key: 'servingTtl',
    kind: 'duration',
    default: '24h',
    help: 'Lifetime of the serving certificate; renewed at two thirds.',
  },
  {
    group: 'Serving',
    key: 'requestTimeout',
    kind: 'duration',
    default: '10s',
    help: 'Server-side deadline of one CreateCertificate call (Istio clients send none).',
  },
  {
    group: 'Serving',
    key: 'maxInFlight',
    kind: 'integer',
    default: 2000,
    help: 'Calls processed at once; beyond it callers get UNAVAILABLE and retry (bounds memory).',
  },
  {
    group: 'Serving',
    key: 'shutdownGrace',
    kind: 'duration',
    default: '10s',
    help: 'Time in-flight calls get to finish on shutdown.',
  },
  {
    group: 'Identity',
    key: 'trustDomain',
    kind: 'string',
    default: 'cluster.local',
    help: "The mesh trust domain (meshConfig.trustDomain); '@' is read as '.' like istiod does.",
  },
  {
    group: 'Identity',
    key: 'clusterId',
    kind: 'string',
    default: 'Kubernetes',
    help: "This cluster's ID (global.multiCluster.clusterName), matched against the clusterid metadata.",
  },
  {
    group: 'Identity',
    key: 'clusterAliases',
    kind: 'list',
    default: [],
    help: 'Other names the local cluster is known by.',
  },
  {
    group: 'Authentication',
    key: 'kubeconfig',
    kind: 'string',
    default: '',
    help: 'Kubeconfig for TokenReview; "in-cluster" for the pod\'s service account; "none" for no cluster. Default: in-cluster when running in a pod, else none.',
  },
  {
    group: 'Authentication',
    key: 'jwks',
    kind: 'string',
    default: '',
    help: 'Verify tokens locally against this JWKS (file path or https URL) instead of TokenReview.',
  },
  {
    group: 'Authentication',
    key: 'jwtIssuer',
    kind: 'string',
    default: '',
    help: "Expected 'iss' of tokens verified with --jwks (the cluster's --service-account-issuer).",
  },
  {
    group: 'Authentication',
    key: 'tokenAudiences',
    kind: 'list',
    default: ['istio-ca'],
    help: 'Accepted token audiences (global.sds.token.aud).',
  },
  {
    group: 'Authentication',
    key: 'tokenReviewTimeout',
    kind: 'duration',
    default: '5s',
    help: 'Timeout of one TokenReview.',
  },
  {
    group: 'Authentication',
    key: 'tokenReviewConcurrency',
    kind: 'integer',
    default: 50,
    help: 'TokenReviews in flight at once per API server.',
  },
  {
    group: 'Authentication',
    key: 'tokenCacheTtl',
    kind: 'duration',
    default: '60s',
    help: 'How long a verified token is trusted without asking again (never past its expiry).',
  },
  {
    group: 'Authentication',
    key: 'tokenCacheNegativeTtl',
    kind: 'duration',
    default: '2s',
    help: 'How long a refused token stays refused without asking again (0 disables).',
  },
  {
    group: 'Authentication',
    key: 'tokenCacheSize',
    kind: 'integer',
    default: 100000,
    help: 'Tokens remembered at most.',
  },
  {
    group: 'Certificate authority',
    key: 'caDir',
    kind: 'string',
    default: '',
    help: "Directory in Istio's cacerts layout: ca-cert.pem, ca-key.pem, cert-chain.pem, root-cert.pem.",
  },
  {
    group: 'Certificate authority',
    key: 'caSecret',
    kind: 'string',
    default: '',
    help: 'A Secret ([namespace/]name) in the cacerts or kubernetes.io/tls layout, watched and reloaded; instead of caDir.',
  },
  {
    group: 'Certificate authority',
    key: 'caReloadInterval',
    kind: 'duration',
    default: '10s',
    help: 'How often caDir is checked for new material.',
  },
  {
    group: 'Certificate authority',
    key: 'caRotationChecks',
    kind: 'boolean',
    default: true,
    help: 'Refuse CA changes that skip a stage of the root rotation (switch off only in an emergency).',
  },
  {
    group: 'Certificate authority',
    key: 'stateDir',
    kind: 'string',
    default: './.meshca',
    help: 'Where meshca keeps its development PKI and token issuer.',
  },
  {
    group: 'Certificate authority',
    key: 'devPki',
    kind: 'boolean',
    default: false,
    help: 'Use (and create) the development PKI in --state-dir even when a cluster is configured.',
  },
  {
    group: 'Certificate authority',
    key: 'verifyIssued',
    kind: 'boolean',
    default: true,
    help: 'Verify every issued certificate against the intermediate before returning it.',
  },
  {
    group: 'Issuance',
    key: 'defaultTtl',
    kind: 'duration',
    default: '24h',
    help: 'Workload certificate lifetime when the request asks for none (validity_duration <= 0).',
  },
  {
    group: 'Issuance',
    key: 'maxTtl',
    kind: 'duration',
    default: '24h',
    help: 'Longest workload certificate; longer requests are clamped to it.',
  },
  {
    group: 'Issuance',
    key: 'minTtl',
    kind: 'duration',
    default: '10m',
    help: 'Shortest workload certificate (at least 10s); shorter requests are raised to it.',
  },
  {
    group: 'Issuance',
    key: 'backdate',
    kind: 'duration',
    default: '2m',
    help: 'How far notBefore is set in the past, for clock skew (istiod: 2m).',
  },
  {
    group: 'Issuance',
    key: 'minRsaBits',
    kind: 'integer',
    default: 2048,
    help: 'Smallest RSA key accepted in a CSR (at least 2048).',
  },
  {
    group: 'Kubernetes',
    key: 'namespace',
    kind: 'string',
    default: '',
    help: "meshca's own namespace (its Lease, a CA Secret named without namespace). Default: the pod's namespace, else meshca.",
  },
  {
    group: 'Kubernetes',
    key: 'podName',
    kind: 'string',
    default: '',
    help: "This replica's identity in leader election. Default: POD_NAME, else the host name.",
  },
  {
    group: 'Kubernetes',
    key: 'leaderElection',
    kind: 'boolean',
    default: true,
    help: 'Elect one writer among replicas with a Lease; off makes this replica always write.',
  },
  {
    group: 'Kubernetes',
    key: 'leaseName',
    kind: 'string',
    default: 'meshca',
    help: 'Name of the leader Lease.',
  },
  {
    group: 'Kubernetes',
    key: 'leaseDuration',
    kind: 'duration',
    default: '15s',
    help: 'How long a leader may go unrenewed before another replica takes over.',
  },
  {
    group: 'Kubernetes',
    key: 'leaseRenewDeadline',
    kind: 'duration',
    default: '10s',
    help: 'A leader that cannot renew for this long steps down.',
  },
  {
    group: 'Kubernetes',
    key: 'leaseRetryPeriod',
    kind: 'duration',
    default: '2s',
    help: 'How often candidates and the leader try the Lease.',
  },
  {
    group: 'Kubernetes',
    key: 'trustBundle',
    kind: 'boolean',
    default: true,
    help: 'Write the trust bundle as a ConfigMap into every selected namespace.',
  },
  {
    group: 'Kubernetes',
    key: 'trustBundleConfigMap',
    kind: 'string',
    default: 'istio-ca-root-cert',
    help: "Name of that ConfigMap (Istio's global.trustBundleName).",
  },
  {
    group: 'Kubernetes',
    key: 'trustBundleNamespaceSelector',
    kind: 'string',
    default: '',
    help: 'Label selector of the namespaces to serve (e.g. istio-injection=enabled); empty: all.',
  },
  {
    group: 'Kubernetes',
    key: 'trustBundleExcludedNamespaces',
    kind: 'list',
    default: ['kube-public', 'kube-node-lease', 'local-path-storage'],
    help: 'Namespaces never written (as istiod skips them).',
  },
  {
    group: 'Kubernetes',
    key: 'istiodCertificate',
    kind: 'boolean',
    default: true,
    help: "Issue istiod's serving certificate into a Secret (istiod with ENABLE_CA_SERVER=false reads it).",
  },
  {
    group: 'Kubernetes',
    key: 'istiodNamespace',
    kind: 'string',
    default: 'istio-system',
    help: "istiod's namespace.",
  },
  {
    group: 'Kubernetes',
    key: 'istiodSecret',
    kind: 'string',
    default: 'istiod-tls',
    help: 'Name of the Secret istiod mounts at /var/run/secrets/istiod/tls.',
  },
  {
    group: 'Kubernetes',
    key: 'istiodRevisions',
    kind: 'list',
    default: ['default'],
    help: 'Istio revisions: default gives istiod.<ns>.svc, others istiod-<rev>.<ns>.svc.',
  },
  {
    group: 'Kubernetes',
    key: 'istiodDns',
    kind: 'list',
    default: [],
    help: "Extra DNS names in istiod's certificate.",
  },
  {
    group: 'Kubernetes',
    key: 'istiodTtl',
    kind: 'duration',
    default: '24h',
    help: "Lifetime of istiod's certificate (at least 10s); renewed at two thirds.",
  },
  {
    group: 'Kubernetes',
    key: 'istiodKey',
    kind: 'string',
    default: 'ec',
    help: "Key of istiod's certificate: ec (P-256) or rsa (2048).",
  },
  {
    group: 'Kubernetes',
    key: 'trustedNodeAccounts',
    kind: 'list',
    default: ['istio-system/ztunnel'],
    help: 'namespace/serviceaccount of node proxies allowed to impersonate pods of their node (ztunnel); empty disables.',
  },
  {
    group: 'Kubernetes',
    key: 'remoteClusters',
    kind: 'list',
    default: [],
    help: 'Other clusters whose proxies meshca serves: ID[+ALIAS...]=KUBECONFIG, one per cluster.',
  },
  {
    group: 'Kubernetes',
    key: 'controllerResync',
    kind: 'duration',
    default: '5m',
    help: 'How often controllers re-check every object they keep right.',
  },
  {
    group: 'Kubernetes',
    key: 'controllerWriteRate',
    kind: 'integer',
    default: 20,
    help: 'Writes per second the controllers may make (burst twice that); separate from TokenReview.',
  },
  {
    group: 'Kubernetes',
    key: 'kubeRequestTimeout',
    kind: 'duration',
    default: '10s',
    help: 'Timeout of one request of the controllers to the API server.',
  },
  {
    group: 'Operations',
    key: 'logLevel',
    kind: 'string',
    default: 'info',
    help: 'fatal, error, warn, info, debug, trace or silent.',
  },
];

/** `fooBar` → `foo-bar`. */
export function flagName(key: string): string {
  return key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}

/** `fooBar` → `MESHCA_FOO_BAR`. */
export function envName(key: string): string {
  return `MESHCA_${key.replace(/[A-Z]/g, (letter) => `_${letter}`).toUpperCase()}`;
}

/**
 * Settings of `meshca serve`, group "Kubernetes": The cluster side: leader election, trust bundle, istiod certificate, ambient, remote clusters.
 *
 * @module
 */
import type { OptionTable } from './option.js';

/** Keys, kinds, defaults and help; the order is the help order. */
export const KUBERNETES_OPTIONS = {
  namespace: {
    group: 'Kubernetes',
    kind: 'string',
    default: '',
    help: "meshca's own namespace (its Lease, a CA Secret named without namespace). Default: the pod's namespace, else meshca.",
  },
  podName: {
    group: 'Kubernetes',
    kind: 'string',
    default: '',
    help: "This replica's identity in leader election. Default: POD_NAME, else the host name.",
  },
  leaderElection: {
    group: 'Kubernetes',
    kind: 'boolean',
    default: true,
    help: 'Elect one writer among replicas with a Lease; off makes this replica always write.',
  },
  leaseName: {
    group: 'Kubernetes',
    kind: 'string',
    default: 'meshca',
    help: 'Name of the leader Lease.',
  },
  leaseDuration: {
    group: 'Kubernetes',
    kind: 'duration',
    default: '15s',
    help: 'How long a leader may go unrenewed before another replica takes over.',
  },
  leaseRenewDeadline: {
    group: 'Kubernetes',
    kind: 'duration',
    default: '10s',
    help: 'A leader that cannot renew for this long steps down.',
  },
  leaseRetryPeriod: {
    group: 'Kubernetes',
    kind: 'duration',
    default: '2s',
    help: 'How often candidates and the leader try the Lease.',
  },
  trustBundle: {
    group: 'Kubernetes',
    kind: 'boolean',
    default: true,
    help: 'Write the trust bundle as a ConfigMap into every selected namespace.',
  },
  trustBundleConfigMap: {
    group: 'Kubernetes',
    kind: 'string',
    default: 'istio-ca-root-cert',
    help: "Name of that ConfigMap (Istio's global.trustBundleName).",
  },
  trustBundleNamespaceSelector: {
    group: 'Kubernetes',
    kind: 'string',
    default: '',
    help: 'Label selector of the namespaces to serve (e.g. istio-injection=enabled); empty: all.',
  },
  trustBundleExcludedNamespaces: {
    group: 'Kubernetes',
    kind: 'list',
    default: ['kube-public', 'kube-node-lease', 'local-path-storage'],
    help: 'Namespaces never written (as istiod skips them).',
  },
  istiodCertificate: {
    group: 'Kubernetes',
    kind: 'boolean',
    default: true,
    help: "Issue istiod's serving certificate into a Secret (istiod with ENABLE_CA_SERVER=false reads it).",
  },
  istiodNamespace: {
    group: 'Kubernetes',
    kind: 'string',
    default: 'istio-system',
    help: "istiod's namespace.",
  },
  istiodSecret: {
    group: 'Kubernetes',
    kind: 'string',
    default: 'istiod-tls',
    help: 'Name of the Secret istiod mounts at /var/run/secrets/istiod/tls.',
  },
  istiodRevisions: {
    group: 'Kubernetes',
    kind: 'list',
    default: ['default'],
    help: 'Istio revisions: default gives istiod.<ns>.svc, others istiod-<rev>.<ns>.svc.',
  },
  istiodDns: {
    group: 'Kubernetes',
    kind: 'list',
    default: [],
    help: "Extra DNS names in istiod's certificate.",
  },
  istiodTtl: {
    group: 'Kubernetes',
    kind: 'duration',
    default: '24h',
    help: "Lifetime of istiod's certificate (at least 10s); renewed at two thirds.",
  },
  istiodKey: {
    group: 'Kubernetes',
    kind: 'string',
    default: 'ec',
    help: "Key of istiod's certificate: ec (P-256) or rsa (2048).",
  },
  trustedNodeAccounts: {
    group: 'Kubernetes',
    kind: 'list',
    default: ['istio-system/ztunnel'],
    help: 'namespace/serviceaccount of node proxies allowed to impersonate pods of their node (ztunnel); empty disables.',
  },
  remoteClusters: {
    group: 'Kubernetes',
    kind: 'list',
    default: [],
    help: 'Other clusters whose proxies meshca serves: ID[+ALIAS...]=KUBECONFIG, one per cluster.',
  },
  controllerResync: {
    group: 'Kubernetes',
    kind: 'duration',
    default: '5m',
    help: 'How often controllers re-check every object they keep right.',
  },
  controllerWriteRate: {
    group: 'Kubernetes',
    kind: 'integer',
    default: 20,
    help: 'Writes per second the controllers may make (burst twice that); separate from TokenReview.',
  },
  kubeRequestTimeout: {
    group: 'Kubernetes',
    kind: 'duration',
    default: '10s',
    help: 'Timeout of one request of the controllers to the API server.',
  },
} as const satisfies OptionTable;

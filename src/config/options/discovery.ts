/**
 * Settings of `meshca serve`, group "Discovery": continuous rogue-CA discovery on the leader
 * (the same scan as `meshca scan`).
 *
 * @module
 */
import type { OptionTable } from './option.js';

/** Keys, kinds, defaults and help; the order is the help order. */
export const DISCOVERY_OPTIONS = {
  discovery: {
    group: 'Discovery',
    kind: 'boolean',
    default: false,
    help: 'Scan the cluster continuously for certificates and CAs that do not chain to approved roots (leader only; needs the RBAC of manifests/discovery).',
  },
  discoveryInterval: {
    group: 'Discovery',
    kind: 'duration',
    default: '1h',
    help: 'Time from the start of one scan to the start of the next.',
  },
  discoveryInitialDelay: {
    group: 'Discovery',
    kind: 'duration',
    default: '1m',
    help: 'Wait after becoming leader before the first scan.',
  },
  discoveryApprovedRoots: {
    group: 'Discovery',
    kind: 'list',
    default: [],
    help: "PEM bundles of roots approved besides meshca's own (e.g. the company's web PKI for public Ingresses).",
  },
  discoveryAllowlist: {
    group: 'Discovery',
    kind: 'string',
    default: '',
    help: 'Allowlist file (YAML or JSON) of known exceptions, each with a reason: reported as allowlisted, not counted.',
  },
  discoveryNamespaces: {
    group: 'Discovery',
    kind: 'list',
    default: [],
    help: 'Namespaces to scan (empty: all); cluster-scoped objects are always scanned.',
  },
  discoveryEvents: {
    group: 'Discovery',
    kind: 'boolean',
    default: true,
    help: 'Post a Kubernetes Event on each object with a finding (deduplicated, rate-limited).',
  },
  discoveryExpiringWithin: {
    group: 'Discovery',
    kind: 'duration',
    default: '30d',
    help: 'A certificate expiring within this is an expiring-soon finding.',
  },
  discoveryCertManagerNamespace: {
    group: 'Discovery',
    kind: 'string',
    default: 'cert-manager',
    help: "cert-manager's cluster resource namespace, where ClusterIssuers keep their CA Secret.",
  },
  discoveryPageSize: {
    group: 'Discovery',
    kind: 'integer',
    default: 100,
    help: 'Objects per list request: bounds the memory a scan holds at once.',
  },
} as const satisfies OptionTable;

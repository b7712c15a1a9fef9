/**
 * Settings of `meshca serve`, group "Identity": The trust domain and the names of this cluster.
 *
 * @module
 */
import type { OptionTable } from './option.js';

/** Keys, kinds, defaults and help; the order is the help order. */
export const IDENTITY_OPTIONS = {
  trustDomain: {
    group: 'Identity',
    kind: 'string',
    default: 'cluster.local',
    help: "The mesh trust domain (meshConfig.trustDomain); '@' is read as '.' like istiod does.",
  },
  clusterId: {
    group: 'Identity',
    kind: 'string',
    default: 'Kubernetes',
    help: "This cluster's ID (global.multiCluster.clusterName), matched against the clusterid metadata.",
  },
  clusterAliases: {
    group: 'Identity',
    kind: 'list',
    default: [],
    help: 'Other names the local cluster is known by.',
  },
} as const satisfies OptionTable;

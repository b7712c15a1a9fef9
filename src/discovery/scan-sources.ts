/**
 * What a scan reads: the sources of serving references, of cert-manager issuers and of CA
 * bundles (GOVERNANCE.md §4), the Secret entries that matter for each, and how objects compare.
 *
 * @module
 */
import type { ObjectRef } from './finding.js';
import type { CaBundleSource, IssuerSource, ServingSource } from './ports.js';

/** Sources whose objects serve a Secret's certificate to TLS clients. */
export const SERVING_SOURCES: readonly ServingSource[] = [
  'ingresses',
  'istio-gateways',
  'gateway-api-gateways',
];
/** cert-manager issuers (self-signed and CA kinds). */
export const ISSUER_SOURCES: readonly IssuerSource[] = [
  'cert-manager-issuers',
  'cert-manager-cluster-issuers',
];
/** Cluster-scoped objects holding a caBundle. */
export const CA_BUNDLE_SOURCES: readonly CaBundleSource[] = [
  'validating-webhook-configurations',
  'mutating-webhook-configurations',
  'api-services',
];
/** Longest stretch a scan keeps the event loop before letting other work run. */
export const MAX_SLICE_MS = 10;
/** The entry a Secret serves to TLS clients: `tls.crt`, or Istio's generic `cert`. */
export const SERVED_ENTRIES = ['tls.crt', 'cert'];
/** Entries that complete a CA issuer's chain. */
export const ISSUER_CHAIN_ENTRIES = ['tls.crt', 'ca.crt'];

/** A Secret's key in the scan's maps: namespace/name. */
export function secretKey(object: ObjectRef): string {
  return `${object.namespace ?? ''}/${object.name}`;
}

/** Whether two references name the same object. */
export function sameObject(a: ObjectRef, b: ObjectRef): boolean {
  return a.kind === b.kind && a.namespace === b.namespace && a.name === b.name;
}

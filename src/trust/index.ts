/**
 * Distribution to the namespaces of the mesh: the trust bundle (`istio-ca-root-cert`) and the CRL
 * (`istio-ca-crl`), with one ConfigMap machinery.
 *
 * @module
 */
export type {
  NamespacedConfigMapsDeps,
  NamespacedConfigMapsOptions,
} from './namespaced-configmaps.js';
export {
  ISTIO_CONFIG_LABEL,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  NamespacedConfigMaps,
} from './namespaced-configmaps.js';
export type { TrustBundleDistributorOptions } from './trust-bundle-distributor.js';
export { ROOT_CERT_KEY, TrustBundleDistributor } from './trust-bundle-distributor.js';
export { CRL_CONFIGMAP_NAME, CRL_KEY, crlConfigMaps } from './crl-configmaps.js';

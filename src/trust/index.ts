/**
 * Trust-bundle distribution to the namespaces of the mesh.
 *
 * @module
 */
export type { TrustBundleDistributorOptions } from './configmap-distributor.js';
export {
  ISTIO_CONFIG_LABEL,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  ROOT_CERT_KEY,
  TrustBundleDistributor,
} from './configmap-distributor.js';

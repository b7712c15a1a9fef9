/**
 * The CRL's ConfigMaps: `istio-ca-crl`, key `ca-crl.pem`, in every namespace that gets the trust
 * bundle, as istiod writes them for a plugged-in CA whose `cacerts` holds a `ca-crl.pem`
 * (ISTIO-CONTRACT.md §5.1: `ENABLE_CA_CRL`, `PILOT_CRL_CONFIGMAP`). The same machinery as the
 * trust bundle ({@link NamespacedConfigMaps}); the CRL publisher hands it each new CRL.
 *
 * @module
 */
import type { KubeClient } from '../kube/index.js';
import type { Logger } from '../logger.js';
import type { CaMetrics } from '../metrics/index.js';
import { NamespacedConfigMaps, type NamespacedConfigMapsOptions } from './namespaced-configmaps.js';

/** The ConfigMap istiod distributes the CRL in. */
export const CRL_CONFIGMAP_NAME = 'istio-ca-crl';
/** Its key: the CRL, PEM (`-----BEGIN X509 CRL-----`). */
export const CRL_KEY = 'ca-crl.pem';

/**
 * The part that writes `istio-ca-crl` into the trust bundle's namespaces of one cluster; hand it
 * each new CRL with `publish(pem)`.
 */
export function crlConfigMaps(
  client: KubeClient,
  options: Omit<NamespacedConfigMapsOptions, 'configMapName' | 'dataKey'>,
  deps: { readonly logger: Logger; readonly metrics: CaMetrics; readonly clusterId?: string },
): NamespacedConfigMaps {
  return new NamespacedConfigMaps(
    client,
    { ...options, configMapName: CRL_CONFIGMAP_NAME, dataKey: CRL_KEY },
    {
      logger: deps.logger,
      controller: 'crl',
      what: 'CRL',
      ...(deps.clusterId === undefined ? {} : { clusterId: deps.clusterId }),
      onReconcileError: () => {
        deps.metrics.reconcileError('crl');
      },
    },
  );
}

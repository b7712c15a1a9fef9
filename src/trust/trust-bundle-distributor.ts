/**
 * Trust-bundle distribution: the ConfigMap `istio-ca-root-cert` (key `root-cert.pem`, label
 * `istio.io/config: "true"`) in every selected namespace, as istiod's NamespaceController writes
 * it when istiod runs its own CA (ISTIO-CONTRACT.md §6.3, checklist 31-32). istio-agent and
 * ztunnel read it to verify meshca's and istiod's serving certificates, so it must be present,
 * exact, and carry the very bytes of the last element of every CreateCertificate response. The
 * writing is {@link NamespacedConfigMaps}'; this part follows the authority's bundle.
 *
 * @module
 */
import type { CertificateAuthority, TrustBundle } from '../ca/index.js';
import type { KubeClient } from '../kube/index.js';
import type { Logger } from '../logger.js';
import type { CaMetrics } from '../metrics/index.js';
import type { LeadershipFollower, Part } from '../runtime/index.js';
import { NamespacedConfigMaps, type NamespacedConfigMapsOptions } from './namespaced-configmaps.js';

/** The key istio-agent and ztunnel read (`constants.CACertNamespaceConfigMapDataName`). */
export const ROOT_CERT_KEY = 'root-cert.pem';

/** Options of {@link TrustBundleDistributor}. */
export interface TrustBundleDistributorOptions extends Omit<
  NamespacedConfigMapsOptions,
  'dataKey'
> {
  /** `istio-ca-root-cert` unless Istio's `global.trustBundleName` says otherwise. */
  readonly configMapName: string;
}

/** Keeps `istio-ca-root-cert` right in every selected namespace. */
export class TrustBundleDistributor implements Part, LeadershipFollower {
  readonly name: string;
  readonly #authority: CertificateAuthority;
  readonly #configMaps: NamespacedConfigMaps;
  #unsubscribe: (() => void) | undefined;

  /**
   * @param authority The bundle to publish is its current one, followed on every change.
   * @param clusterId Names the part when it writes into a remote cluster.
   */
  constructor(
    client: KubeClient,
    authority: CertificateAuthority,
    options: TrustBundleDistributorOptions,
    deps: { readonly logger: Logger; readonly metrics: CaMetrics; readonly clusterId?: string },
  ) {
    this.#authority = authority;
    this.#configMaps = new NamespacedConfigMaps(
      client,
      { ...options, dataKey: ROOT_CERT_KEY },
      {
        logger: deps.logger,
        controller: 'trust-bundle',
        what: 'trust bundle',
        ...(deps.clusterId === undefined ? {} : { clusterId: deps.clusterId }),
        onWrite: (action) => {
          deps.metrics.trustBundleWrite(action);
        },
        onReconcileError: () => {
          deps.metrics.reconcileError('trust-bundle');
        },
      },
    );
    this.name = this.#configMaps.name;
  }

  /**
   * Starts the informers (on every replica, so that a new leader starts warm) and follows the
   * authority's trust bundle. Resolves at once.
   */
  async start(signal: AbortSignal): Promise<void> {
    this.#unsubscribe = this.#authority.onChange((next) => {
      this.setBundle(next.material.trustBundle);
    });
    if (this.#authority.ready) this.setBundle(this.#authority.current().material.trustBundle);
    await this.#configMaps.start(signal);
  }

  /** Stops writing and watching; waits for the loops. */
  async close(): Promise<void> {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    await this.#configMaps.close();
  }

  /** Publishes `bundle` everywhere (now, or once this replica leads). */
  setBundle(bundle: TrustBundle): void {
    this.#configMaps.publish(bundle.pem);
  }

  /** Leadership changed: the leader writes, the others only watch. */
  setLeading(leading: boolean): void {
    this.#configMaps.setLeading(leading);
  }
}

/**
 * Trust-bundle distribution: the ConfigMap `istio-ca-root-cert` (key `root-cert.pem`, label
 * `istio.io/config: "true"`) in every selected namespace, as istiod's NamespaceController writes
 * it when istiod runs its own CA (ISTIO-CONTRACT.md §6.3, checklist 31-32). istio-agent and
 * ztunnel read it to verify meshca's and istiod's serving certificates, so it must be present,
 * exact, and carry the very bytes of the last element of every CreateCertificate response.
 *
 * Level-triggered: every event (namespace created or relabelled, ConfigMap edited or deleted, a
 * new bundle, a periodic resync) queues the namespace, and the reconcile compares the desired
 * state with the cache and writes only the difference. Better than istio-csr here (ISTIO-CSR.md
 * §3, §9.12): extra keys are removed but foreign labels and annotations kept; a namespace that
 * leaves the selector loses the ConfigMap meshca created there; terminating namespaces are left
 * alone; writes are paced by their own rate limiter; only the leader writes.
 *
 * @module
 */
import type { CertificateAuthority, TrustBundle } from '../ca/index.js';
import { errorMessage } from '../errors.js';
import {
  Informer,
  LabelSelector,
  apiStatus,
  type KubeClient,
  type RawObject,
} from '../kube/index.js';
import type { Logger } from '../logger.js';
import type { CaMetrics } from '../metrics/index.js';
import { BackgroundLoops, type LeadershipFollower, type Part } from '../runtime/index.js';
import { RateLimiter, WorkQueue } from '../util/index.js';

/** The key istio-agent and ztunnel read (`constants.CACertNamespaceConfigMapDataName`). */
export const ROOT_CERT_KEY = 'root-cert.pem';
/** The label istiod puts on the ConfigMap (`namespacecontroller.go`). */
export const ISTIO_CONFIG_LABEL = 'istio.io/config';
/** Marks ConfigMaps meshca wrote, so it only ever deletes its own. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'meshca';

/** Options of {@link TrustBundleDistributor}. */
export interface TrustBundleDistributorOptions {
  /** `istio-ca-root-cert` unless Istio's `global.trustBundleName` says otherwise. */
  readonly configMapName: string;
  /** Namespaces to serve; empty selects all. */
  readonly namespaceSelector: string;
  /** Never written (istiod skips kube-public, kube-node-lease, local-path-storage). */
  readonly excludedNamespaces: readonly string[];
  readonly resyncMs: number;
  readonly requestTimeoutMs: number;
  /** Writes per second (burst twice that) this controller may make. */
  readonly writesPerSecond: number;
}

interface NamespaceView {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly terminating: boolean;
}

interface ConfigMapView {
  readonly namespace: string;
  readonly name: string;
  readonly resourceVersion: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly raw: RawConfigMap;
}

interface RawConfigMap extends RawObject {
  apiVersion?: string;
  kind?: string;
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}

/** Keeps `istio-ca-root-cert` right in every selected namespace. */
export class TrustBundleDistributor implements Part, LeadershipFollower {
  readonly name: string;
  readonly #client: KubeClient;
  readonly #authority: CertificateAuthority;
  readonly #loops: BackgroundLoops;
  #unsubscribe: (() => void) | undefined;
  readonly #options: TrustBundleDistributorOptions;
  readonly #logger: Logger;
  readonly #metrics: CaMetrics;
  readonly #selector: LabelSelector;
  readonly #namespaces: Informer<NamespaceView>;
  readonly #configMaps: Informer<ConfigMapView>;
  readonly #queue: WorkQueue;
  readonly #limiter: RateLimiter;
  #bundle: TrustBundle | undefined;
  #leading = false;

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
    this.name = deps.clusterId === undefined ? 'trust-bundle' : `trust-bundle:${deps.clusterId}`;
    this.#client = client;
    this.#authority = authority;
    this.#options = options;
    this.#logger = deps.logger.child({ controller: 'trust-bundle' });
    this.#loops = new BackgroundLoops(this.#logger);
    this.#metrics = deps.metrics;
    this.#selector = new LabelSelector(options.namespaceSelector);
    this.#limiter = new RateLimiter(options.writesPerSecond, options.writesPerSecond * 2);
    this.#namespaces = new Informer<NamespaceView>(
      client,
      {
        name: 'namespaces',
        path: '/api/v1/namespaces',
        resyncMs: options.resyncMs,
        requestTimeoutMs: options.requestTimeoutMs,
        transform: (raw) => {
          const status = (raw as { status?: { phase?: string } }).status;
          return {
            name: raw.metadata?.name ?? '',
            labels: raw.metadata?.labels ?? {},
            terminating:
              raw.metadata?.deletionTimestamp !== undefined || status?.phase === 'Terminating',
          };
        },
      },
      this.#logger,
    );
    this.#configMaps = new Informer<ConfigMapView>(
      client,
      {
        name: 'configmaps',
        path: '/api/v1/configmaps',
        // Only our ConfigMaps, not every ConfigMap of the cluster (istio-csr caches all).
        fieldSelector: `metadata.name=${options.configMapName}`,
        resyncMs: 0,
        requestTimeoutMs: options.requestTimeoutMs,
        transform: (raw) => ({
          namespace: raw.metadata?.namespace ?? '',
          name: raw.metadata?.name ?? '',
          resourceVersion: raw.metadata?.resourceVersion ?? '',
          labels: raw.metadata?.labels ?? {},
          raw,
        }),
      },
      this.#logger,
    );
    this.#queue = new WorkQueue((namespace) => this.#reconcile(namespace), {
      workers: 4,
      retryInitialMs: 200,
      // A few seconds at most, so that writes resume promptly after an API-server outage.
      retryMaxMs: 5_000,
      onError: (namespace, error) => {
        this.#metrics.reconcileError('trust-bundle');
        this.#logger.warn({ namespace, err: errorMessage(error) }, 'reconcile failed; will retry');
      },
    });
    this.#namespaces.on((_event, namespace) => {
      this.#enqueue(namespace.name);
    });
    this.#configMaps.on((_event, configMap) => {
      this.#enqueue(configMap.namespace);
    });
  }

  /**
   * Starts the informers (on every replica, so that a new leader starts warm) and follows the
   * authority's trust bundle. Resolves at once.
   */
  async start(signal: AbortSignal): Promise<void> {
    this.#loops.link(signal);
    this.#loops.signal.addEventListener(
      'abort',
      () => {
        this.#queue.stop();
      },
      { once: true },
    );
    this.#unsubscribe = this.#authority.onChange((next) => {
      this.setBundle(next.material.trustBundle);
    });
    if (this.#authority.ready) this.setBundle(this.#authority.current().material.trustBundle);
    await this.#namespaces.start(this.#loops.signal);
    await this.#configMaps.start(this.#loops.signal);
  }

  /** Stops writing and watching; waits for the loops. */
  async close(): Promise<void> {
    this.#queue.stop();
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    await this.#loops.close();
    await this.#queue.close();
    await this.#namespaces.close();
    await this.#configMaps.close();
  }

  /** Publishes `bundle` everywhere (now, or once this replica leads). */
  setBundle(bundle: TrustBundle): void {
    if (this.#bundle?.pem === bundle.pem) return;
    this.#bundle = bundle;
    this.#enqueueAll();
  }

  /** Leadership changed: the leader writes, the others only watch. */
  setLeading(leading: boolean): void {
    this.#leading = leading;
    if (leading) {
      this.#loops.run('catch-up', async (signal) => {
        await Promise.all([
          this.#namespaces.waitForSync(signal),
          this.#configMaps.waitForSync(signal),
        ]);
        if (!signal.aborted) this.#enqueueAll();
      });
    }
  }

  #enqueueAll(): void {
    for (const namespace of this.#namespaces.list()) this.#enqueue(namespace.name);
  }

  #enqueue(namespace: string): void {
    if (this.#leading && this.#bundle !== undefined && namespace !== '') this.#queue.add(namespace);
  }

  async #reconcile(name: string): Promise<void> {
    const bundle = this.#bundle;
    if (!this.#leading || bundle === undefined) return;
    if (!this.#namespaces.synced || !this.#configMaps.synced)
      throw new Error('caches not synced yet');
    const namespace = this.#namespaces.get(name);
    if (namespace === undefined || namespace.terminating) return; // gone or going: nothing to write
    const wanted = this.#selected(namespace);
    const existing = this.#configMaps.get(`${name}/${this.#options.configMapName}`);
    const path = `/api/v1/namespaces/${name}/configmaps`;
    const timeout = AbortSignal.any([
      this.#loops.signal,
      AbortSignal.timeout(this.#options.requestTimeoutMs),
    ]);

    if (!wanted) {
      if (existing?.labels[MANAGED_BY_LABEL] !== MANAGED_BY_VALUE) return;
      await this.#limiter.take(this.#loops.signal);
      await this.#write(() =>
        this.#client.requestJson('DELETE', `${path}/${existing.name}`, undefined, timeout),
      );
      this.#metrics.trustBundleWrite('deleted');
      this.#logger.info(
        { namespace: name },
        'trust bundle ConfigMap removed (namespace no longer selected)',
      );
      return;
    }
    if (existing === undefined) {
      await this.#limiter.take(this.#loops.signal);
      await this.#write(() =>
        this.#client.requestJson(
          'POST',
          path,
          {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: {
              name: this.#options.configMapName,
              namespace: name,
              labels: { [ISTIO_CONFIG_LABEL]: 'true', [MANAGED_BY_LABEL]: MANAGED_BY_VALUE },
            },
            data: { [ROOT_CERT_KEY]: bundle.pem },
          },
          timeout,
        ),
      );
      this.#metrics.trustBundleWrite('created');
      this.#logger.debug({ namespace: name }, 'trust bundle ConfigMap created');
      return;
    }
    if (isExact(existing, bundle.pem)) return;
    // Replace data wholesale (extra keys removed), keep foreign labels and annotations; the
    // resourceVersion makes a concurrent edit fail with 409 and be retried from fresh state.
    const replacement: RawConfigMap = {
      ...existing.raw,
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        ...existing.raw.metadata,
        labels: {
          ...existing.labels,
          [ISTIO_CONFIG_LABEL]: 'true',
          [MANAGED_BY_LABEL]: MANAGED_BY_VALUE,
        },
      },
      data: { [ROOT_CERT_KEY]: bundle.pem },
    };
    delete replacement.binaryData;
    await this.#limiter.take(this.#loops.signal);
    await this.#write(() =>
      this.#client.requestJson('PUT', `${path}/${existing.name}`, replacement, timeout),
    );
    this.#metrics.trustBundleWrite('updated');
    this.#logger.info({ namespace: name }, 'trust bundle ConfigMap repaired');
  }

  /** Runs a write; a namespace that is being deleted (403/404/409 on create) is not an error. */
  async #write(request: () => Promise<unknown>): Promise<void> {
    try {
      await request();
    } catch (error) {
      const status = apiStatus(error);
      const namespace =
        status === 404 || (status === 403 && errorMessage(error).includes('terminat'));
      if (namespace) return;
      throw error;
    }
  }

  #selected(namespace: NamespaceView): boolean {
    return (
      !this.#options.excludedNamespaces.includes(namespace.name) &&
      this.#selector.matches(namespace.labels)
    );
  }
}

function isExact(configMap: ConfigMapView, pem: string): boolean {
  const data = configMap.raw.data ?? {};
  const keys = Object.keys(data);
  return (
    keys.length === 1 &&
    data[ROOT_CERT_KEY] === pem &&
    Object.keys(configMap.raw.binaryData ?? {}).length === 0 &&
    configMap.labels[ISTIO_CONFIG_LABEL] === 'true'
  );
}

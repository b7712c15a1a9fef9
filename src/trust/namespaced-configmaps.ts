/**
 * The ConfigMap machinery shared by the trust bundle (`istio-ca-root-cert`, key `root-cert.pem`)
 * and the CRL (`istio-ca-crl`, key `ca-crl.pem`): one ConfigMap of a given name, holding one key,
 * in every selected namespace, as istiod's NamespaceController writes both when it runs its own
 * CA (ISTIO-CONTRACT.md §5.1, §6.3, checklist 31-32).
 *
 * Level-triggered: every event (namespace created or relabelled, ConfigMap edited or deleted, new
 * content, a periodic resync) queues the namespace, and the reconcile compares the desired state
 * with the cache and writes only the difference. Better than istio-csr here (ISTIO-CSR.md §3,
 * §9.12): extra keys are removed but foreign labels and annotations kept; a namespace that leaves
 * the selector loses the ConfigMap meshca created there; terminating namespaces are left alone;
 * writes are paced by their own rate limiter; only the leader writes.
 *
 * @module
 */
import { errorMessage } from '../errors.js';
import {
  Informer,
  LabelSelector,
  apiStatus,
  type KubeClient,
  type RawObject,
} from '../kube/index.js';
import type { Logger } from '../logger.js';
import { BackgroundLoops, type LeadershipFollower, type Part } from '../runtime/index.js';
import { RateLimiter, WorkQueue } from '../util/index.js';

/** The label istiod puts on the ConfigMaps it distributes (`namespacecontroller.go`). */
export const ISTIO_CONFIG_LABEL = 'istio.io/config';
/** Marks ConfigMaps meshca wrote, so it only ever deletes its own. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'meshca';

/** Options of {@link NamespacedConfigMaps}. */
export interface NamespacedConfigMapsOptions {
  /** The ConfigMap's name, e.g. `istio-ca-root-cert`. */
  readonly configMapName: string;
  /** Its one data key, e.g. `root-cert.pem`. */
  readonly dataKey: string;
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

/** Collaborators of {@link NamespacedConfigMaps}. */
export interface NamespacedConfigMapsDeps {
  readonly logger: Logger;
  /** Names the part, its logs and its reconcile errors: `trust-bundle`, `crl`. */
  readonly controller: string;
  /** Names the ConfigMap in log messages: `trust bundle`, `CRL`. */
  readonly what: string;
  /** Names the part when it writes into a remote cluster. */
  readonly clusterId?: string;
  readonly onWrite?: (action: 'created' | 'updated' | 'deleted') => void;
  readonly onReconcileError?: () => void;
}

/** Keeps one ConfigMap right in every selected namespace. */
export class NamespacedConfigMaps implements Part, LeadershipFollower {
  readonly name: string;
  readonly #client: KubeClient;
  readonly #loops: BackgroundLoops;
  readonly #options: NamespacedConfigMapsOptions;
  readonly #deps: NamespacedConfigMapsDeps;
  readonly #logger: Logger;
  readonly #selector: LabelSelector;
  readonly #namespaces: Informer<NamespaceView>;
  readonly #configMaps: Informer<ConfigMapView>;
  readonly #queue: WorkQueue;
  readonly #limiter: RateLimiter;
  /** What every ConfigMap must hold; nothing is written before it is known. */
  #content: string | undefined;
  #leading = false;

  constructor(
    client: KubeClient,
    options: NamespacedConfigMapsOptions,
    deps: NamespacedConfigMapsDeps,
  ) {
    this.name =
      deps.clusterId === undefined ? deps.controller : `${deps.controller}:${deps.clusterId}`;
    this.#client = client;
    this.#options = options;
    this.#deps = deps;
    this.#logger = deps.logger.child({ controller: deps.controller });
    this.#loops = new BackgroundLoops(this.#logger);
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
        this.#deps.onReconcileError?.();
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
   * Starts the informers (on every replica, so that a new leader starts warm). Resolves at once.
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
    await this.#namespaces.start(this.#loops.signal);
    await this.#configMaps.start(this.#loops.signal);
  }

  /** Stops writing and watching; waits for the loops. */
  async close(): Promise<void> {
    this.#queue.stop();
    await this.#loops.close();
    await this.#queue.close();
    await this.#namespaces.close();
    await this.#configMaps.close();
  }

  /** Publishes `content` everywhere (now, or once this replica leads). */
  publish(content: string): void {
    if (this.#content === content) return;
    this.#content = content;
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
    if (this.#leading && this.#content !== undefined && namespace !== '') {
      this.#queue.add(namespace);
    }
  }

  async #reconcile(name: string): Promise<void> {
    const content = this.#content;
    if (!this.#leading || content === undefined) return;
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
      this.#deps.onWrite?.('deleted');
      this.#logger.info(
        { namespace: name },
        `${this.#deps.what} ConfigMap removed (namespace no longer selected)`,
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
            data: { [this.#options.dataKey]: content },
          },
          timeout,
        ),
      );
      this.#deps.onWrite?.('created');
      this.#logger.debug({ namespace: name }, `${this.#deps.what} ConfigMap created`);
      return;
    }
    if (isExact(existing, this.#options.dataKey, content)) return;
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
      data: { [this.#options.dataKey]: content },
    };
    delete replacement.binaryData;
    await this.#limiter.take(this.#loops.signal);
    await this.#write(() =>
      this.#client.requestJson('PUT', `${path}/${existing.name}`, replacement, timeout),
    );
    this.#deps.onWrite?.('updated');
    this.#logger.info({ namespace: name }, `${this.#deps.what} ConfigMap repaired`);
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

function isExact(configMap: ConfigMapView, key: string, content: string): boolean {
  const data = configMap.raw.data ?? {};
  const keys = Object.keys(data);
  return (
    keys.length === 1 &&
    data[key] === content &&
    Object.keys(configMap.raw.binaryData ?? {}).length === 0 &&
    configMap.labels[ISTIO_CONFIG_LABEL] === 'true'
  );
}

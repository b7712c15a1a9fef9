/**
 * The Kubernetes implementation of discovery's `ClusterCertificateReader`: paged lists
 * (`limit`/`continue`, one page in memory at a time) of Secrets, Ingresses, Istio and Gateway API
 * Gateways, cert-manager issuers, webhook configurations and APIServices, each reduced to the
 * few fields discovery needs as soon as its page arrives. APIs the cluster does not serve are
 * found by API discovery and skipped. Secrets are reduced while they are parsed, so that private
 * keys never reach an object we hold (see `secret-reduction.ts`).
 *
 * @module
 */
import type {
  CaBundleRecord,
  CaBundleSource,
  ClusterCertificateReader,
  IssuerRecord,
  IssuerSource,
  ListProgress,
  ObjectRef,
  ScanScope,
  SecretRecord,
  ServingObject,
  ServingSource,
  SourceAvailability,
  SourceName,
} from '../discovery/index.js';
import { ApiDiscovery, type ResourceWish, type ServedResource } from './api-discovery.js';
import { KubeApiError, type KubeClient } from './client.js';
import { servedSecrets, type RawServing } from './serving-references.js';
import {
  SECRET_FIELD_SELECTOR,
  secretListReviver,
  toSecretRecord,
  type ReducedSecret,
} from './secret-reduction.js';

/** Options of {@link KubeClusterCertificateReader}. */
export interface KubeClusterCertificateReaderOptions {
  /** Objects per list page (`limit`): bounds memory, at one round trip per page. */
  readonly pageSize: number;
  /** Timeout of one request. */
  readonly requestTimeoutMs: number;
}

interface SourceSpec extends ResourceWish {
  readonly kind: string;
  readonly namespaced: boolean;
}

/** Where each source is looked for, newest API version first. */
const SPECS: Readonly<Record<SourceName, SourceSpec>> = {
  secrets: {
    resource: 'secrets',
    kind: 'Secret',
    namespaced: true,
    candidates: [{ group: '', versions: ['v1'] }],
  },
  ingresses: {
    resource: 'ingresses',
    kind: 'Ingress',
    namespaced: true,
    candidates: [
      { group: 'networking.k8s.io', versions: ['v1', 'v1beta1'] },
      { group: 'extensions', versions: ['v1beta1'] },
    ],
  },
  'istio-gateways': {
    resource: 'gateways',
    kind: 'Gateway',
    namespaced: true,
    candidates: [{ group: 'networking.istio.io', versions: ['v1', 'v1beta1', 'v1alpha3'] }],
  },
  'gateway-api-gateways': {
    resource: 'gateways',
    kind: 'Gateway',
    namespaced: true,
    candidates: [{ group: 'gateway.networking.k8s.io', versions: ['v1', 'v1beta1'] }],
  },
  'cert-manager-issuers': {
    resource: 'issuers',
    kind: 'Issuer',
    namespaced: true,
    candidates: [{ group: 'cert-manager.io', versions: ['v1', 'v1beta1', 'v1alpha3', 'v1alpha2'] }],
  },
  'cert-manager-cluster-issuers': {
    resource: 'clusterissuers',
    kind: 'ClusterIssuer',
    namespaced: false,
    candidates: [{ group: 'cert-manager.io', versions: ['v1', 'v1beta1', 'v1alpha3', 'v1alpha2'] }],
  },
  'validating-webhook-configurations': {
    resource: 'validatingwebhookconfigurations',
    kind: 'ValidatingWebhookConfiguration',
    namespaced: false,
    candidates: [{ group: 'admissionregistration.k8s.io', versions: ['v1', 'v1beta1'] }],
  },
  'mutating-webhook-configurations': {
    resource: 'mutatingwebhookconfigurations',
    kind: 'MutatingWebhookConfiguration',
    namespaced: false,
    candidates: [{ group: 'admissionregistration.k8s.io', versions: ['v1', 'v1beta1'] }],
  },
  'api-services': {
    resource: 'apiservices',
    kind: 'APIService',
    namespaced: false,
    candidates: [{ group: 'apiregistration.k8s.io', versions: ['v1', 'v1beta1'] }],
  },
};

/** The metadata every raw object has. */
interface RawMeta {
  readonly metadata?: {
    readonly name?: string;
    readonly namespace?: string;
    readonly uid?: string;
  };
}

interface ListPage<T> {
  readonly items?: readonly T[];
  readonly metadata?: { readonly continue?: string; readonly remainingItemCount?: number };
}

type Reviver = (this: unknown, key: string, value: unknown) => unknown;

/** Reads certificate holders and references from one cluster. */
export class KubeClusterCertificateReader implements ClusterCertificateReader {
  readonly #client: KubeClient;
  readonly #options: KubeClusterCertificateReaderOptions;
  #served: Promise<ReadonlyMap<SourceName, ServedResource | undefined>> | undefined;

  constructor(client: KubeClient, options: KubeClusterCertificateReaderOptions) {
    if (!(options.pageSize >= 1)) throw new TypeError('pageSize must be at least 1');
    this.#client = client;
    this.#options = options;
  }

  /** Runs API discovery (again: CRDs come and go between scans). */
  async availability(signal: AbortSignal): Promise<readonly SourceAvailability[]> {
    const discovery = new ApiDiscovery(this.#client, this.#options.requestTimeoutMs);
    const resolved = (async () => {
      const entries: [SourceName, ServedResource | undefined][] = [];
      for (const [source, spec] of Object.entries(SPECS) as [SourceName, SourceSpec][]) {
        entries.push([source, await discovery.resolve(spec, signal)]);
      }
      return new Map(entries);
    })();
    this.#served = resolved;
    const served = await resolved;
    return [...served].map(([source, resource]) => ({
      source,
      served: resource !== undefined,
      ...(resource === undefined
        ? {}
        : { resource: `${resource.apiVersion}/${resource.resource}` }),
    }));
  }

  async *secrets(
    scope: ScanScope,
    signal: AbortSignal,
    progress?: (progress: ListProgress) => void,
  ): AsyncIterable<SecretRecord> {
    let listed = 0;
    const pages = this.#pages<ReducedSecret>('secrets', scope, signal, {
      fieldSelector: SECRET_FIELD_SELECTOR,
      reviver: secretListReviver,
    });
    for await (const page of pages) {
      listed += page.items?.length ?? 0;
      const remaining = page.metadata?.remainingItemCount;
      progress?.({ listed, ...(remaining === undefined ? {} : { remaining }) });
      for (const raw of page.items ?? []) yield toSecretRecord(raw);
    }
  }

  async secret(
    namespace: string,
    name: string,
    signal: AbortSignal,
  ): Promise<SecretRecord | undefined> {
    const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(name)}`;
    try {
      const raw = (await this.#client.requestJson('GET', path, undefined, this.#timeout(signal), {
        reviver: secretListReviver,
      })) as ReducedSecret;
      return toSecretRecord(raw);
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 404) return undefined;
      throw error;
    }
  }

  async *servingObjects(
    source: ServingSource,
    scope: ScanScope,
    signal: AbortSignal,
  ): AsyncIterable<ServingObject> {
    const resource = await this.#resource(source, signal);
    for await (const page of this.#pages<RawServing>(source, scope, signal)) {
      for (const raw of page.items ?? []) {
        const object = this.#ref(source, resource, raw);
        const namespace = object.namespace ?? '';
        yield { object, references: servedSecrets(source, raw, namespace) };
      }
    }
  }

  async *issuers(
    source: IssuerSource,
    scope: ScanScope,
    signal: AbortSignal,
  ): AsyncIterable<IssuerRecord> {
    const resource = await this.#resource(source, signal);
    for await (const page of this.#pages<RawIssuer>(source, scope, signal)) {
      for (const raw of page.items ?? []) {
        const object = this.#ref(source, resource, raw);
        const spec = raw.spec ?? {};
        const caSecretName = spec.ca?.secretName;
        if (spec.selfSigned !== undefined && spec.selfSigned !== null) {
          yield { object, type: 'selfSigned' };
        } else if (typeof caSecretName === 'string' && caSecretName !== '') {
          yield {
            object,
            type: 'ca',
            caSecret: {
              name: caSecretName,
              ...(object.namespace === undefined ? {} : { namespace: object.namespace }),
            },
          };
        } else {
          yield { object, type: 'other' };
        }
      }
    }
  }

  async *caBundles(source: CaBundleSource, signal: AbortSignal): AsyncIterable<CaBundleRecord> {
    const resource = await this.#resource(source, signal);
    for await (const page of this.#pages<RawCaBundleHolder>(source, { namespaces: [] }, signal)) {
      for (const raw of page.items ?? []) {
        const bundles: { location: string; pem: string }[] = [];
        if (source === 'api-services') {
          const bundle = raw.spec?.caBundle;
          if (typeof bundle === 'string' && bundle !== '') {
            bundles.push({ location: 'spec.caBundle', pem: decodeBase64(bundle) });
          }
        } else {
          for (const [index, webhook] of (raw.webhooks ?? []).entries()) {
            const bundle = webhook.clientConfig?.caBundle;
            if (typeof bundle !== 'string' || bundle === '') continue;
            bundles.push({
              location: `webhooks[${webhook.name ?? index}].clientConfig.caBundle`,
              pem: decodeBase64(bundle),
            });
          }
        }
        yield { object: this.#ref(source, resource, raw), bundles };
      }
    }
  }

  /** Pages through one source in scope (each namespace in turn when the scope names some). */
  async *#pages<T>(
    source: SourceName,
    scope: ScanScope,
    signal: AbortSignal,
    options: { readonly fieldSelector?: string; readonly reviver?: Reviver } = {},
  ): AsyncIterable<ListPage<T>> {
    const spec = SPECS[source];
    const resource = await this.#resource(source, signal);
    const collections =
      spec.namespaced && scope.namespaces.length > 0
        ? scope.namespaces.map(
            (namespace) =>
              `${resource.basePath}/namespaces/${encodeURIComponent(namespace)}/${resource.resource}`,
          )
        : [`${resource.basePath}/${resource.resource}`];
    for (const collection of collections) {
      let continueToken = '';
      for (;;) {
        const query = new URLSearchParams({ limit: String(this.#options.pageSize) });
        if (options.fieldSelector !== undefined) query.set('fieldSelector', options.fieldSelector);
        if (continueToken !== '') query.set('continue', continueToken);
        let page: ListPage<T>;
        try {
          page = (await this.#client.requestJson(
            'GET',
            `${collection}?${query.toString()}`,
            undefined,
            this.#timeout(signal),
            options.reviver === undefined ? {} : { reviver: options.reviver },
          )) as ListPage<T>;
        } catch (error) {
          // A scan slower than etcd's compaction window loses its snapshot: resume from the next
          // key in a newer one, as the API server offers (objects changed meanwhile may be seen
          // in their newer state; none is skipped or seen twice).
          if (error instanceof KubeApiError && error.status === 410 && error.continueToken) {
            continueToken = error.continueToken;
            continue;
          }
          throw error;
        }
        yield page;
        continueToken = page.metadata?.continue ?? '';
        if (continueToken === '') break;
      }
    }
  }

  async #resource(source: SourceName, signal: AbortSignal): Promise<ServedResource> {
    if (this.#served === undefined) await this.availability(signal);
    const resource = (await this.#served)?.get(source);
    if (resource === undefined) {
      throw new KubeApiError(404, 'GET', SPECS[source].resource, `${source} is not served`);
    }
    return resource;
  }

  #ref(source: SourceName, resource: ServedResource, raw: RawMeta): ObjectRef {
    const metadata = raw.metadata ?? {};
    return {
      apiVersion: resource.apiVersion,
      kind: SPECS[source].kind,
      name: metadata.name ?? '',
      ...(metadata.namespace === undefined ? {} : { namespace: metadata.namespace }),
      ...(metadata.uid === undefined ? {} : { uid: metadata.uid }),
    };
  }

  #timeout(signal: AbortSignal): AbortSignal {
    return AbortSignal.any([signal, AbortSignal.timeout(this.#options.requestTimeoutMs)]);
  }
}

interface RawIssuer extends RawMeta {
  readonly spec?: {
    readonly selfSigned?: unknown;
    readonly ca?: { readonly secretName?: unknown };
  };
}

interface RawCaBundleHolder extends RawMeta {
  readonly webhooks?: readonly {
    readonly name?: string;
    readonly clientConfig?: { readonly caBundle?: unknown };
  }[];
  readonly spec?: { readonly caBundle?: unknown };
}

function decodeBase64(value: string): string {
  return Buffer.from(value, 'base64').toString('utf8');
}

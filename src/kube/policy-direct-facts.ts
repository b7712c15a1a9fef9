/**
 * The policy's facts about a cluster read straight from the API server, one request per fact,
 * without watches: for one-shot tools (`meshca policy explain --kubeconfig`), never for the
 * issuance path (use {@link KubePolicyFacts} there).
 *
 * @module
 */
import type {
  ClusterFacts,
  NamespaceFacts,
  NamespaceLookup,
  ObjectKind,
  ObjectListing,
  ObjectLookup,
  PodLookup,
} from '../policy/index.js';
import { apiStatus, type KubeClient } from './client.js';
import type { RawObject } from './informer.js';
import { podFactsOf, type RawPod } from './policy-pods.js';

interface ApiResourceList {
  readonly resources?: readonly {
    readonly name?: string;
    readonly kind?: string;
    readonly namespaced?: boolean;
  }[];
}

/** Reads facts with one API request each. */
export class KubeDirectPolicyFacts implements ClusterFacts {
  readonly pods: PodLookup;
  readonly namespaces: NamespaceLookup;
  readonly objects: ObjectLookup;

  constructor(client: KubeClient, requestTimeoutMs: number) {
    const get = async (path: string, signal: AbortSignal): Promise<unknown> => {
      try {
        return await client.requestJson(
          'GET',
          path,
          undefined,
          AbortSignal.any([signal, AbortSignal.timeout(requestTimeoutMs)]),
        );
      } catch (error) {
        if (apiStatus(error) === 404) return undefined;
        throw error;
      }
    };
    this.pods = {
      async pod(namespace, name, _uid, signal) {
        const raw = (await get(
          `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}`,
          signal,
        )) as RawPod | undefined;
        return raw === undefined ? undefined : podFactsOf(raw);
      },
      async podsOnNode(namespace, serviceAccount, nodeName, signal) {
        const query = new URLSearchParams({
          fieldSelector: `spec.nodeName=${nodeName},spec.serviceAccountName=${serviceAccount}`,
        });
        const list = (await get(
          `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods?${query.toString()}`,
          signal,
        )) as { items?: RawPod[] } | undefined;
        return (list?.items ?? []).map(podFactsOf);
      },
    };
    this.namespaces = {
      async namespace(name, signal): Promise<NamespaceFacts | undefined> {
        const raw = (await get(`/api/v1/namespaces/${encodeURIComponent(name)}`, signal)) as
          RawObject | undefined;
        return raw === undefined
          ? undefined
          : { name: raw.metadata?.name ?? name, labels: { ...(raw.metadata?.labels ?? {}) } };
      },
    };
    /** The list path of a kind (with `{namespace}`), or why it is not served. */
    const discover = async (
      kind: ObjectKind,
      signal: AbortSignal,
    ): Promise<string | ObjectListing> => {
      const core = !kind.apiVersion.includes('/');
      const base = core ? `/api/${kind.apiVersion}` : `/apis/${kind.apiVersion}`;
      const list = (await get(base, signal)) as ApiResourceList | undefined;
      if (list === undefined) {
        return {
          served: false,
          reason: `the cluster does not serve ${kind.apiVersion} (is the API or its CRD installed?)`,
        };
      }
      const resource = list.resources?.find(
        (candidate) => candidate.kind === kind.kind && candidate.name?.includes('/') === false,
      );
      if (resource?.name === undefined) {
        return {
          served: false,
          reason: `the cluster serves no ${kind.kind} in ${kind.apiVersion}`,
        };
      }
      if (resource.namespaced !== true) {
        return {
          served: false,
          reason: `${kind.kind} (${kind.apiVersion}) is cluster-scoped; only namespaced kinds can be required`,
        };
      }
      return `${base}/namespaces/{namespace}/${resource.name}`;
    };
    const resources = new Map<string, Promise<string | ObjectListing>>();
    this.objects = {
      async objects(kind: ObjectKind, namespace: string, signal): Promise<ObjectListing> {
        const key = objectKindKey(kind);
        let resource = resources.get(key);
        if (resource === undefined) {
          resource = discover(kind, signal);
          resources.set(key, resource);
        }
        const found = await resource;
        if (typeof found !== 'string') return found;
        const list = (await get(
          found.replace('{namespace}', encodeURIComponent(namespace)),
          signal,
        )) as { items?: RawObject[] } | undefined;
        return {
          served: true,
          objects: (list?.items ?? []).map((raw) => ({
            name: raw.metadata?.name ?? '',
            labels: { ...(raw.metadata?.labels ?? {}) },
          })),
        };
      },
    };
  }
}

/** `networking.k8s.io/v1/Ingress` (the same key as policy's `objectKindKey`). */
function objectKindKey(kind: ObjectKind): string {
  return `${kind.apiVersion}/${kind.kind}`;
}

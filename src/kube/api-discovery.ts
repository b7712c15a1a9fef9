/**
 * API discovery: which group/version serves a resource in this cluster, so that readers skip
 * APIs and CRDs that are not installed (cert-manager, Istio, Gateway API) instead of failing on
 * them, and read the newest version the cluster serves.
 *
 * @module
 */
import type { KubeClient } from './client.js';

/** A resource as we would like to read it: candidate group/versions in preference order. */
export interface ResourceWish {
  /** Plural resource name, e.g. `ingresses`. */
  readonly resource: string;
  /** `''` for the core group. Each with its versions, newest first. */
  readonly candidates: readonly { readonly group: string; readonly versions: readonly string[] }[];
}

/** Where a resource is served. */
export interface ServedResource {
  readonly group: string;
  readonly version: string;
  readonly resource: string;
  /** `v1` or `group/version`, as objects' `apiVersion`. */
  readonly apiVersion: string;
  /** `/api/v1` or `/apis/group/version`. */
  readonly basePath: string;
}

interface ApiGroupList {
  readonly groups?: readonly {
    readonly name?: string;
    readonly versions?: readonly { readonly version?: string }[];
  }[];
}

interface ApiResourceList {
  readonly resources?: readonly { readonly name?: string }[];
}

/** Resolves resource wishes against one API server. One instance per discovery round. */
export class ApiDiscovery {
  readonly #client: KubeClient;
  readonly #timeoutMs: number;
  #groups: Promise<ReadonlyMap<string, readonly string[]>> | undefined;
  readonly #resources = new Map<string, Promise<ReadonlySet<string>>>();

  constructor(client: KubeClient, timeoutMs: number) {
    this.#client = client;
    this.#timeoutMs = timeoutMs;
  }

  /**
   * The first candidate group/version that serves the resource, or undefined.
   *
   * @throws when the API server cannot be asked.
   */
  async resolve(wish: ResourceWish, signal: AbortSignal): Promise<ServedResource | undefined> {
    for (const { group, versions } of wish.candidates) {
      const served = group === '' ? ['v1'] : ((await this.#servedGroups(signal)).get(group) ?? []);
      for (const version of versions) {
        if (!served.includes(version)) continue;
        const basePath = group === '' ? `/api/${version}` : `/apis/${group}/${version}`;
        const resources = await this.#resourcesOf(basePath, signal);
        if (resources.has(wish.resource)) {
          return {
            group,
            version,
            resource: wish.resource,
            apiVersion: group === '' ? version : `${group}/${version}`,
            basePath,
          };
        }
      }
    }
    return undefined;
  }

  #servedGroups(signal: AbortSignal): Promise<ReadonlyMap<string, readonly string[]>> {
    this.#groups ??= this.#get('/apis', signal).then((body) => {
      const list = body as ApiGroupList;
      return new Map(
        (list.groups ?? []).map((group) => [
          group.name ?? '',
          (group.versions ?? []).map((entry) => entry.version ?? ''),
        ]),
      );
    });
    return this.#groups;
  }

  #resourcesOf(basePath: string, signal: AbortSignal): Promise<ReadonlySet<string>> {
    let resources = this.#resources.get(basePath);
    if (resources === undefined) {
      resources = this.#get(basePath, signal).then(
        (body) => new Set(((body as ApiResourceList).resources ?? []).map((r) => r.name ?? '')),
      );
      this.#resources.set(basePath, resources);
    }
    return resources;
  }

  #get(path: string, signal: AbortSignal): Promise<unknown> {
    return this.#client.requestJson(
      'GET',
      path,
      undefined,
      AbortSignal.any([signal, AbortSignal.timeout(this.#timeoutMs)]),
    );
  }
}

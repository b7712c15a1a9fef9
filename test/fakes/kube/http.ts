/**
 * The HTTP side of the fake API server: request paths to resources, `Status` bodies, request
 * bodies, and list paging with continue tokens.
 */
import type { IncomingMessage } from 'node:http';
import { objectFilter } from './selectors.js';
import {
  RESOURCE_TYPES,
  StoreError,
  apiVersionOf,
  type FakeObject,
  type ObjectStore,
  type ResourceType,
} from './store.js';

interface Snapshot {
  readonly resourceVersion: number;
  readonly items: FakeObject[];
  readonly offset: number;
}

/**
 * Serves lists page by page: the first page cuts a snapshot at the current version, and each
 * `continue` token reads on from it, so that every page is consistent with the first (as etcd
 * serves them). A token older than the compacted version is 410 Gone.
 */
export class ListPager {
  readonly #store: ObjectStore;
  readonly #snapshots = new Map<string, Snapshot>();
  #serial = 0;

  constructor(store: ObjectStore) {
    this.#store = store;
  }

  /** One page of `route`'s collection, as the query (`limit`, `continue`, selectors) asks. */
  page(route: Route, query: Readonly<Record<string, string>>): unknown {
    const limit = Number(query['limit'] ?? '0');
    const token = query['continue'];
    let snapshot: Snapshot;
    if (token !== undefined && token !== '') {
      const found = this.#snapshots.get(token);
      if (found === undefined || found.resourceVersion < this.#store.compactedVersion) {
        throw new StoreError(
          410,
          'Expired',
          'The provided continue parameter is too old to display a consistent list result.',
        );
      }
      this.#snapshots.delete(token);
      snapshot = found;
    } else {
      const filter = objectFilter(
        route.namespace,
        query['fieldSelector'] ?? null,
        query['labelSelector'] ?? null,
      );
      snapshot = {
        resourceVersion: this.#store.resourceVersion,
        items: this.#store.list(route.type.resource, route.namespace).filter(filter),
        offset: 0,
      };
    }
    const end = limit > 0 ? snapshot.offset + limit : snapshot.items.length;
    const items = snapshot.items.slice(snapshot.offset, end);
    const remaining = snapshot.items.length - Math.min(end, snapshot.items.length);
    let next: string | undefined;
    if (remaining > 0) {
      next = `page-${++this.#serial}`;
      this.#snapshots.set(next, { ...snapshot, offset: end });
    }
    return {
      kind: `${route.type.kind}List`,
      apiVersion: apiVersionOf(route.type),
      metadata: {
        resourceVersion: String(snapshot.resourceVersion),
        ...(next === undefined ? {} : { continue: next, remainingItemCount: remaining }),
      },
      items,
    };
  }
}

/** The resource, namespace and name a request path names. */
export interface Route {
  readonly type: ResourceType;
  readonly namespace: string | undefined;
  readonly name: string | undefined;
}

/** `/api/v1/...` or `/apis/<group>/<version>/...` into a resource, namespace and name. */
export function parseRoute(path: string): Route | undefined {
  const segments = path.split('/').filter((segment) => segment !== '');
  let group: string;
  let rest: string[];
  if (segments[0] === 'api' && segments[1] === 'v1') {
    group = '';
    rest = segments.slice(2);
  } else if (segments[0] === 'apis' && segments.length >= 3) {
    group = segments[1] ?? '';
    rest = segments.slice(3);
  } else {
    return undefined;
  }
  const find = (resource: string | undefined): ResourceType | undefined =>
    RESOURCE_TYPES.find((type) => type.resource === resource && type.group === group);
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    const type = find(rest[2]);
    if (type === undefined || !type.namespaced || rest.length > 4) return undefined;
    return { type, namespace: rest[1], name: rest[3] };
  }
  const type = find(rest[0]);
  if (type === undefined || rest.length > 2) return undefined;
  if (type.namespaced && rest.length === 2) return undefined;
  return { type, namespace: undefined, name: rest[1] };
}

/** A `Status` object, as the API server answers errors. */
export function status(code: number, reason: string, message: string): Record<string, unknown> {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    code,
  };
}

/** The JSON body of a request, if any. */
export async function readBody(request: IncomingMessage): Promise<FakeObject | undefined> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  if (chunks.length === 0) return undefined;
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as FakeObject;
}

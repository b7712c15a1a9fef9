/**
 * The object store behind {@link FakeKubeApiServer}: what etcd and the registry do for the few
 * resources meshca's parts use. One global resourceVersion counter (like etcd's revision), an
 * event history for watches that resume from a version, compaction (older versions are gone:
 * 410), optimistic concurrency on update (409), and the namespace rules the controllers meet
 * (no objects in a missing namespace: 404; none in a terminating one: 403).
 */
import { randomUUID } from 'node:crypto';

/** The metadata the fake reads and maintains. */
export interface FakeObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [field: string]: unknown;
}

/** A Kubernetes object as JSON. */
export interface FakeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: FakeObjectMeta;
  [field: string]: unknown;
}

/** A resource the fake serves. */
export interface ResourceType {
  /** The plural path segment: `configmaps`. */
  readonly resource: string;
  /** `''` for the core group. */
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly namespaced: boolean;
}

/** The resources meshca's parts use. */
export const RESOURCE_TYPES: readonly ResourceType[] = [
  { resource: 'namespaces', group: '', version: 'v1', kind: 'Namespace', namespaced: false },
  { resource: 'configmaps', group: '', version: 'v1', kind: 'ConfigMap', namespaced: true },
  { resource: 'secrets', group: '', version: 'v1', kind: 'Secret', namespaced: true },
  { resource: 'pods', group: '', version: 'v1', kind: 'Pod', namespaced: true },
  {
    resource: 'leases',
    group: 'coordination.k8s.io',
    version: 'v1',
    kind: 'Lease',
    namespaced: true,
  },
];

/** The `apiVersion` of a resource type. */
export function apiVersionOf(type: ResourceType): string {
  return type.group === '' ? type.version : `${type.group}/${type.version}`;
}

/** One change, as a watch reports it. */
export interface StoreEvent {
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly resource: string;
  /** The object after the change (for DELETED: its last state, at the deletion's version). */
  readonly object: FakeObject;
  /** The object before the change (MODIFIED and DELETED). */
  readonly previous: FakeObject | undefined;
  readonly resourceVersion: number;
}

/** A refusal with the HTTP status and `reason` the real API server would answer. */
export class StoreError extends Error {
  readonly status: number;
  readonly reason: string;

  constructor(status: number, reason: string, message: string) {
    super(message);
    this.name = 'StoreError';
    this.status = status;
    this.reason = reason;
  }
}

/** The objects, their versions and their history. */
export class ObjectStore {
  #revision = 1000;
  #compacted = 1000;
  readonly #objects = new Map<string, FakeObject>();
  readonly #history: StoreEvent[] = [];
  readonly #listeners = new Set<(event: StoreEvent) => void>();

  /** The current resourceVersion (the latest write's). */
  get resourceVersion(): number {
    return this.#revision;
  }

  /** Versions at or before this one are compacted away: watching from them is 410 Gone. */
  get compactedVersion(): number {
    return this.#compacted;
  }

  /** A copy of `resource` `namespace/name`, if it exists. */
  get(resource: string, namespace: string | undefined, name: string): FakeObject | undefined {
    const object = this.#objects.get(storeKey(typeOf(resource), namespace, name));
    return object === undefined ? undefined : structuredClone(object);
  }

  /** Copies of every `resource`, in one namespace or all, sorted by namespace and name. */
  list(resource: string, namespace?: string): FakeObject[] {
    const prefix = `${resource}|${namespace === undefined ? '' : `${namespace}|`}`;
    return [...this.#objects.entries()]
      .filter(([key]) => key.startsWith(prefix))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, object]) => structuredClone(object));
  }

  /**
   * Creates an object (its namespace and name from its metadata).
   *
   * @throws {@link StoreError} 409 when it exists, 404/403 for a missing/terminating namespace,
   * 400 when a resourceVersion is set.
   */
  create(resource: string, body: FakeObject): FakeObject {
    const type = typeOf(resource);
    const { name, namespace } = identify(type, body);
    if (body.metadata?.resourceVersion) {
      throw new StoreError(
        400,
        'BadRequest',
        'resourceVersion should not be set on objects to be created',
      );
    }
    if (type.namespaced) this.#checkNamespaceAccepts(type, namespace ?? '', name);
    const key = storeKey(type, namespace, name);
    if (this.#objects.has(key)) {
      throw new StoreError(409, 'AlreadyExists', `${type.resource} "${name}" already exists`);
    }
    const object: FakeObject = {
      ...structuredClone(body),
      apiVersion: apiVersionOf(type),
      kind: type.kind,
      metadata: {
        ...structuredClone(body.metadata ?? {}),
        name,
        ...(namespace === undefined ? {} : { namespace }),
        uid: randomUUID(),
        creationTimestamp: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      },
    };
    if (type.resource === 'namespaces') object['status'] = { phase: 'Active' };
    return this.#commit('ADDED', type, key, object, undefined);
  }

  /**
   * Replaces an object. An empty resourceVersion is an unconditional update (as the API server
   * allows for these resources); any other must be the current one.
   *
   * @throws {@link StoreError} 404 when it does not exist, 409 on a resourceVersion conflict.
   */
  update(resource: string, body: FakeObject): FakeObject {
    const type = typeOf(resource);
    const { name, namespace } = identify(type, body);
    const key = storeKey(type, namespace, name);
    const current = this.#objects.get(key);
    if (current === undefined) {
      throw new StoreError(404, 'NotFound', `${type.resource} "${name}" not found`);
    }
    const wanted = body.metadata?.resourceVersion;
    if (wanted !== undefined && wanted !== '' && wanted !== current.metadata?.resourceVersion) {
      throw new StoreError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${type.resource} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      );
    }
    const object: FakeObject = {
      ...structuredClone(body),
      apiVersion: apiVersionOf(type),
      kind: type.kind,
      metadata: {
        ...structuredClone(body.metadata ?? {}),
        name,
        ...(namespace === undefined ? {} : { namespace }),
        // Immutable fields keep their values whatever the body says.
        uid: current.metadata?.uid ?? '',
        creationTimestamp: current.metadata?.creationTimestamp ?? '',
        ...(current.metadata?.deletionTimestamp === undefined
          ? {}
          : { deletionTimestamp: current.metadata.deletionTimestamp }),
      },
    };
    // An update that changes nothing is a no-op: no new version, no watch event.
    if (canonical(withoutVersion(object)) === canonical(withoutVersion(current))) {
      return structuredClone(current);
    }
    return this.#commit('MODIFIED', type, key, object, current);
  }

  /**
   * Deletes an object. A namespace only starts terminating (its phase becomes `Terminating`);
   * {@link finishNamespaceDeletion} removes it and its content, as the namespace controller would.
   *
   * @throws {@link StoreError} 404 when it does not exist.
   */
  delete(resource: string, namespace: string | undefined, name: string): FakeObject {
    const type = typeOf(resource);
    const key = storeKey(type, namespace, name);
    const current = this.#objects.get(key);
    if (current === undefined) {
      throw new StoreError(404, 'NotFound', `${type.resource} "${name}" not found`);
    }
    if (type.resource === 'namespaces') {
      if (current.metadata?.deletionTimestamp !== undefined) return structuredClone(current);
      const terminating: FakeObject = {
        ...structuredClone(current),
        metadata: { ...structuredClone(current.metadata), deletionTimestamp: now() },
        status: { phase: 'Terminating' },
      };
      return this.#commit('MODIFIED', type, key, terminating, current);
    }
    return this.#remove(type, key, current);
  }

  /** Removes a terminating namespace and everything in it. */
  finishNamespaceDeletion(name: string): void {
    for (const type of RESOURCE_TYPES.filter((candidate) => candidate.namespaced)) {
      for (const object of this.list(type.resource, name)) {
        const key = storeKey(type, name, object.metadata?.name ?? '');
        const current = this.#objects.get(key);
        if (current !== undefined) this.#remove(type, key, current);
      }
    }
    const type = typeOf('namespaces');
    const key = storeKey(type, undefined, name);
    const current = this.#objects.get(key);
    if (current !== undefined) this.#remove(type, key, current);
  }

  /** Forgets the history: resuming a watch from any version up to now is 410 Gone. */
  compact(): void {
    this.#compacted = this.#revision;
    this.#history.length = 0;
  }

  /**
   * The changes after `resourceVersion`.
   *
   * @throws {@link StoreError} 410 when that version is compacted away.
   */
  eventsSince(resourceVersion: number): readonly StoreEvent[] {
    if (resourceVersion < this.#compacted) {
      throw new StoreError(
        410,
        'Expired',
        `too old resource version: ${resourceVersion} (${this.#compacted})`,
      );
    }
    return this.#history.filter((event) => event.resourceVersion > resourceVersion);
  }

  /** Calls `listener` with every change from now on; returns a function that unsubscribes. */
  subscribe(listener: (event: StoreEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #checkNamespaceAccepts(type: ResourceType, namespace: string, name: string): void {
    const owner = this.#objects.get(storeKey(typeOf('namespaces'), undefined, namespace));
    if (owner === undefined) {
      throw new StoreError(404, 'NotFound', `namespaces "${namespace}" not found`);
    }
    if (owner.metadata?.deletionTimestamp !== undefined) {
      throw new StoreError(
        403,
        'Forbidden',
        `${type.resource} "${name}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`,
      );
    }
  }

  #remove(type: ResourceType, key: string, current: FakeObject): FakeObject {
    this.#objects.delete(key);
    this.#revision++;
    const object: FakeObject = {
      ...structuredClone(current),
      metadata: { ...structuredClone(current.metadata), resourceVersion: String(this.#revision) },
    };
    this.#publish({
      type: 'DELETED',
      resource: type.resource,
      object,
      previous: current,
      resourceVersion: this.#revision,
    });
    return structuredClone(object);
  }

  #commit(
    type: 'ADDED' | 'MODIFIED',
    resourceType: ResourceType,
    key: string,
    object: FakeObject,
    previous: FakeObject | undefined,
  ): FakeObject {
    this.#revision++;
    const stored: FakeObject = {
      ...object,
      metadata: { ...object.metadata, resourceVersion: String(this.#revision) },
    };
    this.#objects.set(key, stored);
    this.#publish({
      type,
      resource: resourceType.resource,
      object: structuredClone(stored),
      previous: previous === undefined ? undefined : structuredClone(previous),
      resourceVersion: this.#revision,
    });
    return structuredClone(stored);
  }

  #publish(event: StoreEvent): void {
    this.#history.push(event);
    for (const listener of this.#listeners) listener(event);
  }
}

/** The resource type named `resource`. */
export function typeOf(resource: string): ResourceType {
  const type = RESOURCE_TYPES.find((candidate) => candidate.resource === resource);
  if (type === undefined) throw new TypeError(`the fake API server does not serve ${resource}`);
  return type;
}

function storeKey(type: ResourceType, namespace: string | undefined, name: string): string {
  return type.namespaced
    ? `${type.resource}|${namespace ?? ''}|${name}`
    : `${type.resource}|${name}`;
}

function identify(
  type: ResourceType,
  body: FakeObject,
): { readonly name: string; readonly namespace: string | undefined } {
  const name = body.metadata?.name ?? '';
  if (name === '') throw new StoreError(422, 'Invalid', 'metadata.name: Required value');
  const namespace = type.namespaced ? (body.metadata?.namespace ?? '') : undefined;
  if (type.namespaced && namespace === '') {
    throw new StoreError(422, 'Invalid', 'metadata.namespace: Required value');
  }
  return { name, namespace };
}

function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function withoutVersion(object: FakeObject): FakeObject {
  return { ...object, metadata: { ...object.metadata, resourceVersion: '' } };
}

/** JSON with sorted keys, to compare objects whatever the order their fields were set in. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, field]) => field !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, field]) => `${JSON.stringify(k)}:${canonical(field)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

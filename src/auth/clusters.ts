/**
 * Which cluster a caller claims to be in, from the `clusterid` metadata, resolved as istiod's
 * KubeJWTAuthenticator does (ISTIO-CONTRACT.md §4.3): exactly one value is honoured (several
 * values count as none); empty, the local cluster ID or one of its aliases mean the local cluster;
 * another configured cluster (or its alias) means that cluster; anything else is refused.
 *
 * @module
 */
import { UnauthenticatedError } from '../errors.js';

/** One cluster whose tokens meshca can check. */
export interface ClusterEntry<T> {
  readonly id: string;
  readonly aliases: readonly string[];
  readonly value: T;
}

/** Maps `clusterid` header values to per-cluster values (token verifiers, pod indexes). */
export class ClusterResolver<T> {
  readonly #local: ClusterEntry<T>;
  readonly #byName = new Map<string, ClusterEntry<T>>();

  /**
   * @throws `TypeError` when two clusters share an ID or alias.
   */
  constructor(local: ClusterEntry<T>, remotes: readonly ClusterEntry<T>[] = []) {
    this.#local = local;
    for (const entry of [local, ...remotes]) {
      for (const name of [entry.id, ...entry.aliases]) {
        if (this.#byName.has(name)) throw new TypeError(`cluster name ${name} is used twice`);
        this.#byName.set(name, entry);
      }
    }
  }

  /** The local cluster. */
  get local(): ClusterEntry<T> {
    return this.#local;
  }

  /**
   * @param headerValues Every `clusterid` metadata value.
   * @throws {@link UnauthenticatedError} `ERR_AUTH_UNKNOWN_CLUSTER`.
   */
  resolve(headerValues: readonly string[]): ClusterEntry<T> {
    const claimed = headerValues.length === 1 ? (headerValues[0] ?? '') : '';
    if (claimed === '') return this.#local;
    const entry = this.#byName.get(claimed);
    if (entry === undefined) {
      throw new UnauthenticatedError(
        'ERR_AUTH_UNKNOWN_CLUSTER',
        `client claims to be in cluster ${JSON.stringify(claimed.slice(0, 100))}, which is neither ` +
          `the local cluster ${JSON.stringify(this.#local.id)} nor a configured remote cluster`,
      );
    }
    return entry;
  }
}

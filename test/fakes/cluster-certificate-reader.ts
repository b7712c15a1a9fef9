/**
 * An in-memory ClusterCertificateReader for unit tests of the scanner: objects are given as
 * records, sources can be made absent or to fail, and every call is counted.
 */
import type {
  CaBundleRecord,
  CaBundleSource,
  ClusterCertificateReader,
  IssuerRecord,
  IssuerSource,
  ListProgress,
  ScanScope,
  SecretRecord,
  ServingObject,
  ServingSource,
  SourceAvailability,
  SourceName,
} from '../../src/discovery/index.js';
import { SOURCES } from '../../src/discovery/index.js';

/** What the fake cluster holds. */
export interface FakeCluster {
  secrets?: SecretRecord[];
  serving?: Partial<Record<ServingSource, ServingObject[]>>;
  issuers?: Partial<Record<IssuerSource, IssuerRecord[]>>;
  caBundles?: Partial<Record<CaBundleSource, CaBundleRecord[]>>;
  /** Sources the cluster does not serve. */
  absent?: SourceName[];
  /** Sources whose listing throws this error. */
  failing?: Partial<Record<SourceName, Error>>;
  /** API discovery throws. */
  discoveryFails?: boolean;
}

/** The fake. */
export class FakeClusterCertificateReader implements ClusterCertificateReader {
  readonly cluster: FakeCluster;
  readonly secretLookups: string[] = [];

  constructor(cluster: FakeCluster) {
    this.cluster = cluster;
  }

  availability(): Promise<readonly SourceAvailability[]> {
    if (this.cluster.discoveryFails === true)
      return Promise.reject(new Error('connection refused'));
    return Promise.resolve(
      SOURCES.map((source) => ({
        source,
        served: !(this.cluster.absent ?? []).includes(source),
        resource: `fake/${source}`,
      })),
    );
  }

  async *secrets(
    scope: ScanScope,
    _signal: AbortSignal,
    progress?: (progress: ListProgress) => void,
  ): AsyncIterable<SecretRecord> {
    this.#fail('secrets');
    const inScope = (this.cluster.secrets ?? []).filter(
      (secret) =>
        scope.namespaces.length === 0 || scope.namespaces.includes(secret.object.namespace ?? ''),
    );
    let listed = 0;
    for (const secret of inScope) {
      listed++;
      progress?.({ listed, remaining: inScope.length - listed });
      yield await Promise.resolve(secret);
    }
  }

  secret(namespace: string, name: string): Promise<SecretRecord | undefined> {
    this.secretLookups.push(`${namespace}/${name}`);
    return Promise.resolve(
      (this.cluster.secrets ?? []).find(
        (secret) => secret.object.namespace === namespace && secret.object.name === name,
      ),
    );
  }

  async *servingObjects(source: ServingSource, scope: ScanScope): AsyncIterable<ServingObject> {
    this.#fail(source);
    for (const object of this.cluster.serving?.[source] ?? []) {
      if (
        scope.namespaces.length > 0 &&
        !scope.namespaces.includes(object.object.namespace ?? '')
      ) {
        continue;
      }
      yield await Promise.resolve(object);
    }
  }

  async *issuers(source: IssuerSource): AsyncIterable<IssuerRecord> {
    this.#fail(source);
    for (const issuer of this.cluster.issuers?.[source] ?? []) yield await Promise.resolve(issuer);
  }

  async *caBundles(source: CaBundleSource): AsyncIterable<CaBundleRecord> {
    this.#fail(source);
    for (const record of this.cluster.caBundles?.[source] ?? [])
      yield await Promise.resolve(record);
  }

  #fail(source: SourceName): void {
    const error = this.cluster.failing?.[source];
    if (error !== undefined) throw error;
  }
}

/** A Secret record holding `entries` (key → PEM) and private-key entry names. */
export function secretRecord(
  namespace: string,
  name: string,
  entries: Record<string, string>,
  privateKeyEntries: string[] = [],
  type = 'kubernetes.io/tls',
): SecretRecord {
  return {
    object: { apiVersion: 'v1', kind: 'Secret', namespace, name, uid: `uid-${namespace}-${name}` },
    type,
    certificateEntries: Object.entries(entries).map(([key, pem]) => ({ key, pem })),
    privateKeyEntries,
  };
}

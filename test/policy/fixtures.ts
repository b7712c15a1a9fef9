/**
 * Builders for policy tests: documents from YAML text, decision requests, and in-memory facts
 * that implement the real ports (`FactSource`, `PodLookup`, ...).
 */
import {
  compilePolicy,
  parsePolicyDocument,
  type ClusterFacts,
  type CompiledPolicy,
  type DecisionRequest,
  type FactSource,
  type NamespaceFacts,
  type ObjectFacts,
  type ObjectKind,
  type ObjectListing,
  type PodFacts,
} from '../../src/policy/index.js';
import { UnavailableError } from '../../src/errors.js';
import { workloadSpiffeId } from '../../src/identity/index.js';

export const CLUSTER = 'Kubernetes';
export const TRUST_DOMAIN = 'cluster.local';

/** A compiled policy from a spec written as YAML (the header is added). */
export function policy(spec: string, name = 'test', file = `${name}.yaml`): CompiledPolicy {
  return compilePolicy(parsePolicyDocument(Buffer.from(document(spec, name)), file));
}

/** A whole document from a spec written as YAML. */
export function document(spec: string, name = 'test'): string {
  const indented = spec
    .trim()
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
  return `apiVersion: meshca.io/v1alpha1\nkind: IssuancePolicy\nmetadata:\n  name: ${name}\nspec:\n${indented}\n`;
}

/** What a request can vary. */
export interface RequestShape {
  readonly namespace?: string;
  readonly serviceAccount?: string;
  readonly trustDomain?: string;
  readonly clusterId?: string;
  readonly key?: DecisionRequest['key'];
  readonly ttl?: bigint;
  /** The caller's pod binding; `null` for a token that is not pod-bound. */
  readonly pod?: { readonly name: string; readonly uid: string } | null;
  /** ztunnel impersonating the subject: the caller is `istio-system/ztunnel`. */
  readonly impersonatedBy?: { readonly pod: { readonly name: string; readonly uid: string } };
}

export const P256 = { algorithm: 'EC', bits: 256, curve: 'P-256' } as const;
export const P384 = { algorithm: 'EC', bits: 384, curve: 'P-384' } as const;
export const RSA2048 = { algorithm: 'RSA', bits: 2048, curve: undefined } as const;
export const RSA8192 = { algorithm: 'RSA', bits: 8192, curve: undefined } as const;

/** A decision request; by default `shop/web`, pod `web-1` (uid `uid-web-1`), P-256, TTL 0. */
export function request(shape: RequestShape = {}): DecisionRequest {
  const namespace = shape.namespace ?? 'shop';
  const serviceAccount = shape.serviceAccount ?? 'web';
  const trustDomain = shape.trustDomain ?? TRUST_DOMAIN;
  const subject = workloadSpiffeId(trustDomain, namespace, serviceAccount);
  const pod = shape.pod === undefined ? { name: 'web-1', uid: 'uid-web-1' } : shape.pod;
  const impersonating = shape.impersonatedBy;
  const callerNamespace = impersonating ? 'istio-system' : namespace;
  const callerAccount = impersonating ? 'ztunnel' : serviceAccount;
  const callerPod = impersonating ? impersonating.pod : pod;
  return {
    subject,
    caller: {
      namespace: callerNamespace,
      serviceAccount: callerAccount,
      podName: callerPod?.name,
      podUid: callerPod?.uid,
      expiresAt: undefined,
      identity: workloadSpiffeId(trustDomain, callerNamespace, callerAccount),
      clusterId: shape.clusterId ?? CLUSTER,
      method: 'token-review',
    },
    impersonated: impersonating !== undefined,
    key: shape.key ?? P256,
    requestedTtlSeconds: shape.ttl ?? 0n,
  };
}

/** A running pod. */
export function pod(fields: Partial<PodFacts> = {}): PodFacts {
  return {
    namespace: 'shop',
    name: 'web-1',
    uid: 'uid-web-1',
    serviceAccount: 'web',
    nodeName: 'node-a',
    phase: 'Running',
    terminating: false,
    ...fields,
  };
}

/** In-memory facts of one cluster; counts lookups so tests can assert what was read. */
export class FakeCluster implements ClusterFacts {
  readonly podList: PodFacts[] = [];
  readonly namespaceList = new Map<string, NamespaceFacts>();
  /** `apiVersion/kind` → namespace → objects; absent kind: not served. */
  readonly objectsByKind = new Map<string, Map<string, ObjectFacts[]>>();
  /** Kinds whose watch has not loaded yet. */
  readonly loading = new Set<string>();
  lookups = { pods: 0, namespaces: 0, objects: 0 };

  readonly pods = {
    pod: (namespace: string, name: string): Promise<PodFacts | undefined> => {
      this.lookups.pods++;
      return Promise.resolve(
        this.podList.find(
          (candidate) => candidate.namespace === namespace && candidate.name === name,
        ),
      );
    },
    podsOnNode: (
      namespace: string,
      serviceAccount: string,
      nodeName: string,
    ): Promise<PodFacts[]> => {
      this.lookups.pods++;
      return Promise.resolve(
        this.podList.filter(
          (candidate) =>
            candidate.namespace === namespace &&
            candidate.serviceAccount === serviceAccount &&
            candidate.nodeName === nodeName,
        ),
      );
    },
  };

  readonly namespaces = {
    namespace: (name: string): Promise<NamespaceFacts | undefined> => {
      this.lookups.namespaces++;
      return Promise.resolve(this.namespaceList.get(name));
    },
  };

  readonly objects = {
    objects: (kind: ObjectKind, namespace: string): Promise<ObjectListing> => {
      this.lookups.objects++;
      const key = `${kind.apiVersion}/${kind.kind}`;
      if (this.loading.has(key)) {
        return Promise.reject(new UnavailableError('ERR_POLICY_UNAVAILABLE', `${key} loading`));
      }
      const byNamespace = this.objectsByKind.get(key);
      if (byNamespace === undefined) {
        return Promise.resolve({ served: false, reason: `the cluster serves no ${kind.kind}` });
      }
      return Promise.resolve({ served: true, objects: byNamespace.get(namespace) ?? [] });
    },
  };

  withNamespace(name: string, labels: Record<string, string> = {}): this {
    this.namespaceList.set(name, { name, labels });
    return this;
  }

  withPod(fields: Partial<PodFacts> = {}): this {
    this.podList.push(pod(fields));
    return this;
  }

  withObject(
    apiVersion: string,
    kind: string,
    namespace: string,
    name: string,
    labels: Record<string, string> = {},
  ): this {
    const key = `${apiVersion}/${kind}`;
    let byNamespace = this.objectsByKind.get(key);
    if (byNamespace === undefined) {
      byNamespace = new Map();
      this.objectsByKind.set(key, byNamespace);
    }
    byNamespace.set(namespace, [...(byNamespace.get(namespace) ?? []), { name, labels }]);
    return this;
  }

  /** Makes a kind served, with no objects yet. */
  serving(apiVersion: string, kind: string): this {
    const key = `${apiVersion}/${kind}`;
    if (!this.objectsByKind.has(key)) this.objectsByKind.set(key, new Map());
    return this;
  }
}

/** Facts of the given clusters (none: development mode). */
export function facts(...clusters: [string, FakeCluster][]): FactSource {
  const map = new Map(clusters);
  return { cluster: (id) => map.get(id) };
}

/** A cluster with namespace `shop` and the running pod `shop/web-1`. */
export function liveCluster(): FakeCluster {
  return new FakeCluster().withNamespace('shop').withPod();
}

export const never = new AbortController().signal;

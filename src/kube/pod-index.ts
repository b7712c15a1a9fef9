/**
 * What the ambient node authorizer and the live-workload policy need to know about pods, and
 * nothing more: for each pod that is not finished, its namespace, name, UID, service account,
 * node, phase and whether it is terminating, indexed by
 * (namespace/service account, node). The watch asks the API server to leave out finished pods
 * (`status.phase!=Succeeded,status.phase!=Failed`), and each pod is reduced to those seven fields,
 * so a cluster with many thousand pods costs a few hundred bytes per pod.
 *
 * @module
 */
import type { Logger } from '../logger.js';
import type { Part, ReadinessCheck } from '../runtime/index.js';
import type { KubeClient } from './client.js';
import { Informer, type InformerHandler, type RawObject } from './informer.js';

/** The fields of a pod the authorizer reads. */
export interface PodRecord {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly serviceAccount: string;
  readonly nodeName: string;
  readonly phase: string;
  /** True once the pod has a deletionTimestamp (it is shutting down). */
  readonly terminating: boolean;
}

interface RawPod extends RawObject {
  readonly spec?: { readonly serviceAccountName?: string; readonly nodeName?: string };
  readonly status?: { readonly phase?: string };
}

/** Options of {@link PodIndex}. */
export interface PodIndexOptions {
  readonly requestTimeoutMs: number;
}

/** An index of unfinished pods by identity and node. */
export class PodIndex implements Part {
  readonly name: string;
  readonly #informer: Informer<PodRecord>;
  /** `namespace/serviceAccount@node` → keys of pods. */
  readonly #byIdentityAndNode = new Map<string, Set<string>>();

  /** @param clusterId Names the index in logs and readiness (`pods` for the local cluster). */
  constructor(client: KubeClient, options: PodIndexOptions, logger: Logger, clusterId?: string) {
    this.name = clusterId === undefined ? 'pods' : `pods:${clusterId}`;
    this.#informer = new Informer<PodRecord>(
      client,
      {
        name: 'pods',
        path: '/api/v1/pods',
        fieldSelector: 'status.phase!=Succeeded,status.phase!=Failed',
        resyncMs: 0,
        requestTimeoutMs: options.requestTimeoutMs,
        transform: (raw) => {
          const pod = raw as RawPod;
          return {
            namespace: pod.metadata?.namespace ?? '',
            name: pod.metadata?.name ?? '',
            uid: pod.metadata?.uid ?? '',
            serviceAccount: pod.spec?.serviceAccountName ?? 'default',
            nodeName: pod.spec?.nodeName ?? '',
            phase: pod.status?.phase ?? '',
            terminating: pod.metadata?.deletionTimestamp !== undefined,
          };
        },
      },
      logger,
    );
    this.#informer.on((event, pod, old) => {
      if (old !== undefined) this.#unindex(old);
      if (event !== 'delete') this.#index(pod);
    });
  }

  /** Starts watching pods; resolves at once (readiness says when the first list is in). */
  start(signal: AbortSignal): Promise<void> {
    return this.#informer.start(signal);
  }

  /** Stops watching. */
  close(): Promise<void> {
    return this.#informer.close();
  }

  /** Not ready until the first list is in: before that, absence proves nothing. */
  readiness(): readonly ReadinessCheck[] {
    return [
      {
        name: this.name,
        check: () => (this.synced ? undefined : 'pod index not loaded'),
      },
    ];
  }

  /** True once the first list is loaded: before that, absence proves nothing. */
  get synced(): boolean {
    return this.#informer.synced;
  }

  /** Resolves once synced or when `signal` aborts. */
  waitForSync(signal: AbortSignal): Promise<void> {
    return this.#informer.waitForSync(signal);
  }

  /** The pod `namespace/name`, when it exists and is not finished. */
  pod(namespace: string, name: string): PodRecord | undefined {
    return this.#informer.get(`${namespace}/${name}`);
  }

  /**
   * Registers a change handler (add, update, delete), e.g. to notice deletions; call before
   * {@link start} to see the initial list as adds.
   */
  on(handler: InformerHandler<PodRecord>): void {
    this.#informer.on(handler);
  }

  /** The unfinished pods of `namespace/serviceAccount` scheduled on `nodeName`. */
  podsOnNode(namespace: string, serviceAccount: string, nodeName: string): PodRecord[] {
    const keys = this.#byIdentityAndNode.get(indexKey(namespace, serviceAccount, nodeName));
    const pods: PodRecord[] = [];
    for (const key of keys ?? []) {
      const pod = this.#informer.get(key);
      if (pod !== undefined) pods.push(pod);
    }
    return pods;
  }

  /** True when an unfinished pod of `namespace/serviceAccount` is scheduled on `nodeName`. */
  hasPodOnNode(namespace: string, serviceAccount: string, nodeName: string): boolean {
    return (
      (this.#byIdentityAndNode.get(indexKey(namespace, serviceAccount, nodeName))?.size ?? 0) > 0
    );
  }

  #index(pod: PodRecord): void {
    if (pod.nodeName === '' || pod.phase === 'Succeeded' || pod.phase === 'Failed') return;
    const key = indexKey(pod.namespace, pod.serviceAccount, pod.nodeName);
    let pods = this.#byIdentityAndNode.get(key);
    if (pods === undefined) {
      pods = new Set();
      this.#byIdentityAndNode.set(key, pods);
    }
    pods.add(`${pod.namespace}/${pod.name}`);
  }

  #unindex(pod: PodRecord): void {
    const key = indexKey(pod.namespace, pod.serviceAccount, pod.nodeName);
    const pods = this.#byIdentityAndNode.get(key);
    if (pods === undefined) return;
    pods.delete(`${pod.namespace}/${pod.name}`);
    if (pods.size === 0) this.#byIdentityAndNode.delete(key);
  }
}

function indexKey(namespace: string, serviceAccount: string, nodeName: string): string {
  return `${namespace}/${serviceAccount}@${nodeName}`;
}

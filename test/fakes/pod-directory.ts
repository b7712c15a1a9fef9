/**
 * A fake {@link PodDirectory}: pods a test lists, looked up as the pod caches would.
 */
import type { PodDirectory } from '../../src/server/index.js';

/** One cached pod. */
export interface FakePod {
  readonly clusterId: string;
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly serviceAccount: string;
  readonly nodeName: string;
}

/** Pods by cluster, namespace and name. */
export class FakePodDirectory implements PodDirectory {
  readonly pods: FakePod[];

  constructor(pods: readonly FakePod[] = []) {
    this.pods = [...pods];
  }

  pod(
    clusterId: string,
    namespace: string,
    name: string,
  ): { readonly uid: string; readonly nodeName: string } | undefined {
    return this.pods.find(
      (pod) => pod.clusterId === clusterId && pod.namespace === namespace && pod.name === name,
    );
  }

  podsOnNode(
    clusterId: string,
    namespace: string,
    serviceAccount: string,
    nodeName: string,
  ): readonly { readonly name: string; readonly uid: string }[] {
    return this.pods.filter(
      (pod) =>
        pod.clusterId === clusterId &&
        pod.namespace === namespace &&
        pod.serviceAccount === serviceAccount &&
        pod.nodeName === nodeName,
    );
  }
}

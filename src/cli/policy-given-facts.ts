/**
 * Facts given on the command line, for `meshca policy explain` without a cluster: the subject
 * namespace's labels, the state of the caller's pod, and the objects that exist.
 *
 * @module
 */
import type {
  ClusterFacts,
  NamespaceFacts,
  ObjectFacts,
  ObjectKind,
  ObjectListing,
  PodFacts,
} from '../policy/index.js';
import { UsageError } from './io.js';

/** What the caller's pod is doing. */
export type GivenPodState = 'running' | 'pending' | 'terminating' | 'finished' | 'gone';

/** The states `--pod-state` accepts. */
export const POD_STATES: readonly GivenPodState[] = [
  'running',
  'pending',
  'terminating',
  'finished',
  'gone',
];

interface GivenObject {
  readonly kind: ObjectKind;
  readonly namespace: string;
  readonly object: ObjectFacts;
}

/** One cluster's facts, as given. */
export class GivenFacts implements ClusterFacts {
  readonly #pod: PodFacts | undefined;
  readonly #namespace: NamespaceFacts;
  readonly #objects: readonly GivenObject[];

  constructor(options: {
    readonly namespace: string;
    readonly namespaceLabels: Readonly<Record<string, string>>;
    readonly serviceAccount: string;
    readonly pod:
      { readonly name: string; readonly uid: string; readonly state: GivenPodState } | undefined;
    readonly objects: readonly GivenObject[];
  }) {
    this.#namespace = { name: options.namespace, labels: options.namespaceLabels };
    this.#objects = options.objects;
    const pod = options.pod;
    this.#pod =
      pod === undefined || pod.state === 'gone'
        ? undefined
        : {
            namespace: options.namespace,
            name: pod.name,
            uid: pod.uid,
            serviceAccount: options.serviceAccount,
            nodeName: pod.state === 'pending' ? '' : 'node',
            phase:
              pod.state === 'finished'
                ? 'Succeeded'
                : pod.state === 'pending'
                  ? 'Pending'
                  : 'Running',
            terminating: pod.state === 'terminating',
          };
  }

  readonly pods = {
    pod: (namespace: string, name: string): Promise<PodFacts | undefined> =>
      Promise.resolve(
        this.#pod?.namespace === namespace && this.#pod.name === name ? this.#pod : undefined,
      ),
    podsOnNode: (): Promise<readonly PodFacts[]> => Promise.resolve([]),
  };

  readonly namespaces = {
    namespace: (name: string): Promise<NamespaceFacts | undefined> =>
      Promise.resolve(name === this.#namespace.name ? this.#namespace : { name, labels: {} }),
  };

  readonly objects = {
    objects: (kind: ObjectKind, namespace: string): Promise<ObjectListing> =>
      Promise.resolve({
        served: true,
        objects: this.#objects
          .filter(
            (given) =>
              given.namespace === namespace &&
              given.kind.apiVersion === kind.apiVersion &&
              given.kind.kind === kind.kind,
          )
          .map((given) => given.object),
      }),
  };
}

/**
 * Reads `APIVERSION/KIND/NAMESPACE/NAME[:label=value,...]`, e.g.
 * `networking.k8s.io/v1/Ingress/shop/web` or `v1/Service/shop/web:tier=public`.
 *
 * @throws {@link UsageError} for anything else.
 */
export function parseGivenObject(text: string): GivenObject {
  const [path = '', labelText] = text.split(':', 2);
  const parts = path.split('/');
  if (parts.length < 4 || parts.length > 5 || parts.some((part) => part === '')) {
    throw new UsageError(
      `meshca policy explain: --object ${text}: expected APIVERSION/KIND/NAMESPACE/NAME[:label=value,...]`,
    );
  }
  const name = parts.pop() ?? '';
  const namespace = parts.pop() ?? '';
  const kind = parts.pop() ?? '';
  return {
    kind: { apiVersion: parts.join('/'), kind },
    namespace,
    object: {
      name,
      labels: labelText === undefined ? {} : parseLabels(labelText.split(','), '--object'),
    },
  };
}

/**
 * Reads `key=value` pairs.
 *
 * @throws {@link UsageError} for a pair without `=`.
 */
export function parseLabels(pairs: readonly string[], flag: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new UsageError(`meshca policy explain: ${flag} ${pair}: expected key=value`);
    labels[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return labels;
}

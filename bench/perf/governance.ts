/**
 * The "governance on" configuration of the scale benchmark (issue #12): meshca as a security
 * team runs it, against a real kube-apiserver holding a pod for every proxy of the load.
 *
 * - the example central policy (`examples/policy/central-baseline.yaml`: kube-system allowlist,
 *   key types, lifetime, and the just-in-time `liveWorkload` rule) and the example local policy
 *   (`local-namespace-only.yaml`, default deny, narrowed to the bench namespace);
 * - tokens bound to pods (the projected token's `kubernetes.io.pod` claims), verified locally
 *   against the JWKS, each checked against the pod index (one watch of the cluster's pods);
 * - the identity ledger on SQLite in the state directory (the default);
 * - the Kubernetes controllers a replica runs (leader election, `istio-ca-root-cert`).
 *
 * @module
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pool, startBenchKube, type BenchKube } from '../kube.js';
import { commonArgs, type Fixture } from './scale.js';

/** A pod the API server knows, which a proxy's token is bound to. */
export interface BenchPod {
  readonly name: string;
  readonly uid: string;
}

/** The cluster and the policy files of the governance-on configuration. */
export interface GovernanceCluster {
  readonly kube: BenchKube;
  /** One pod per identity index (pod `pod-<i>` runs as `sa-<i>`). */
  readonly pods: readonly BenchPod[];
  readonly centralPolicy: string;
  readonly localPolicy: string;
}

const REPO_ROOT = new URL('../../', import.meta.url).pathname;

/**
 * Starts an API server and creates, in `namespace`, a service account and a pod for each of
 * `count` identities; writes the policy files under `dir`.
 */
export async function prepareGovernance(
  dir: string,
  namespace: string,
  count: number,
  line: (text: string) => void,
): Promise<GovernanceCluster | { readonly unavailable: string }> {
  const kube = startBenchKube();
  if ('unavailable' in kube) return kube;
  try {
    const { client } = kube;
    const signal = (): AbortSignal => AbortSignal.timeout(60_000);
    for (const name of [namespace, 'istio-system']) {
      await client.requestJson('POST', '/api/v1/namespaces', { metadata: { name } }, signal());
    }
    const started = performance.now();
    const pods: BenchPod[] = new Array<BenchPod>(count);
    await pool(count, 32, async (index) => {
      await client.requestJson(
        'POST',
        `/api/v1/namespaces/${namespace}/serviceaccounts`,
        { metadata: { name: `sa-${index}` } },
        signal(),
      );
      const pod = (await client.requestJson(
        'POST',
        `/api/v1/namespaces/${namespace}/pods`,
        {
          metadata: { name: `pod-${index}`, labels: { app: `app-${index % 100}` } },
          spec: {
            serviceAccountName: `sa-${index}`,
            // No scheduler here: the pod is bound to a node at creation, as the scheduler would.
            nodeName: `node-${index % 50}`,
            automountServiceAccountToken: false,
            containers: [{ name: 'app', image: 'registry.invalid/app:1' }],
          },
        },
        signal(),
      )) as { metadata?: { uid?: string } };
      pods[index] = { name: `pod-${index}`, uid: pod.metadata?.uid ?? '' };
    });
    line(
      `   governance on: ${count} service accounts and pods created in a real kube-apiserver in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    const policyDir = join(dir, 'policies');
    mkdirSync(policyDir, { recursive: true });
    const centralPolicy = join(policyDir, 'central.yaml');
    const localPolicy = join(policyDir, 'local.yaml');
    writeFileSync(
      centralPolicy,
      readFileSync(join(REPO_ROOT, 'examples/policy/central-baseline.yaml'), 'utf8'),
    );
    // The example local policy, with the bench's namespace in the place of its `shop`.
    writeFileSync(
      localPolicy,
      readFileSync(join(REPO_ROOT, 'examples/policy/local-namespace-only.yaml'), 'utf8').replace(
        'namespaces: [shop]',
        `namespaces: [${namespace}]`,
      ),
    );
    return { kube, pods, centralPolicy, localPolicy };
  } catch (error) {
    await kube.stop();
    return { unavailable: `cannot fill the API server: ${String(error)}` };
  }
}

/** meshca's arguments with governance on (see the module comment). */
export function governanceArgs(cluster: GovernanceCluster) {
  return (fixture: Fixture, caDir: string): string[] => [
    ...commonArgs(fixture, caDir),
    '--kubeconfig',
    cluster.kube.kubeconfig,
    '--policy-central',
    cluster.centralPolicy,
    '--policy-local',
    cluster.localPolicy,
  ];
}

/**
 * The cost of one policy decision with the example policies (examples/policy/), on facts held in
 * maps as the informer caches hold them: the central baseline alone (live workload: one pod
 * lookup), with each local example, and a denial. Sequential: a decision is CPU only.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { workloadSpiffeId } from '../src/identity/index.js';
import { silentLogger } from '../src/logger.js';
import {
  ClusterFactsMap,
  LayeredPolicyDecider,
  PolicyStore,
  TtlPolicy,
  compilePolicy,
  parsePolicyDocument,
  type ClusterFacts,
  type CompiledPolicy,
  type DecisionRequest,
  type NamespaceFacts,
  type ObjectListing,
  type PodFacts,
} from '../src/policy/index.js';

const EXAMPLES = join(import.meta.dirname, '..', 'examples', 'policy');

function example(name: string): CompiledPolicy {
  const file = join(EXAMPLES, name);
  return compilePolicy(parsePolicyDocument(readFileSync(file), file));
}

/** Facts in maps, as the informer caches keep them: 10,000 pods, 500 namespaces. */
function mapFacts(): ClusterFacts {
  const pods = new Map<string, PodFacts>();
  const namespaces = new Map<string, NamespaceFacts>();
  const ingresses = new Map<string, ObjectListing>();
  for (let n = 0; n < 500; n++) {
    const namespace = n === 0 ? 'shop' : n === 1 ? 'kube-system' : `team-${n}`;
    namespaces.set(namespace, { name: namespace, labels: { team: `t${n % 7}` } });
    ingresses.set(namespace, { served: true, objects: [{ name: 'web', labels: {} }] });
    for (let p = 0; p < 20; p++) {
      const name = `web-${p}`;
      const serviceAccount = n === 1 ? 'kube-proxy' : 'web';
      pods.set(`${namespace}/${name}`, {
        namespace,
        name,
        uid: `uid-${namespace}-${name}`,
        serviceAccount,
        nodeName: `node-${p % 50}`,
        phase: 'Running',
        terminating: false,
      });
    }
  }
  return {
    pods: {
      pod: (namespace, name) => Promise.resolve(pods.get(`${namespace}/${name}`)),
      podsOnNode: () => Promise.resolve([]),
    },
    namespaces: { namespace: (name) => Promise.resolve(namespaces.get(name)) },
    objects: {
      objects: (_kind, namespace) =>
        Promise.resolve(ingresses.get(namespace) ?? { served: true, objects: [] }),
    },
  };
}

function request(namespace: string, serviceAccount: string): DecisionRequest {
  const identity = workloadSpiffeId('cluster.local', namespace, serviceAccount);
  return {
    subject: identity,
    caller: {
      namespace,
      serviceAccount,
      podName: 'web-3',
      podUid: `uid-${namespace}-web-3`,
      expiresAt: undefined,
      identity,
      clusterId: 'Kubernetes',
      method: 'token-review',
    },
    impersonated: false,
    key: { algorithm: 'EC', bits: 256, curve: 'P-256' },
    requestedTtlSeconds: 0n,
  };
}

/** Prints the cost of a decision in each setting. */
export async function policyBench(out: (line?: string) => void, total: number): Promise<void> {
  out(
    '## 5. Policy decisions with examples/policy (facts in maps, as informer caches), sequential',
  );
  const facts = new ClusterFactsMap(new Map([['Kubernetes', mapFacts()]]));
  const never = new AbortController().signal;
  const cases: [string, CompiledPolicy | undefined, DecisionRequest, string][] = [
    ['central baseline', undefined, request('shop', 'web'), 'allow'],
    [
      '+ local-namespace-only',
      example('local-namespace-only.yaml'),
      request('shop', 'web'),
      'allow',
    ],
    [
      '+ local-ingress-required',
      example('local-ingress-required.yaml'),
      request('shop', 'web'),
      'allow',
    ],
    ['denied (kube-system)', undefined, request('kube-system', 'kube-proxy'), 'deny'],
  ];
  for (const [label, local, decisionRequest, expected] of cases) {
    const store = new PolicyStore();
    store.install('central', example('central-baseline.yaml'));
    if (local !== undefined) store.install('local', local);
    const decider = new LayeredPolicyDecider({
      policies: store,
      facts,
      inner: new TtlPolicy({
        defaultTtlSeconds: 86400,
        maxTtlSeconds: 86400,
        minTtlSeconds: 600,
      }),
      logger: silentLogger(),
    });
    const first = await decider.decide(decisionRequest, never);
    if (first.effect !== expected)
      throw new Error(`${label}: expected ${expected}, got ${first.effect}`);
    for (let i = 0; i < Math.min(total, 5000); i++) await decider.decide(decisionRequest, never);
    const started = performance.now();
    for (let i = 0; i < total; i++) await decider.decide(decisionRequest, never);
    const seconds = (performance.now() - started) / 1000;
    out(
      `   ${label.padEnd(26)} ${((seconds * 1e6) / total).toFixed(2).padStart(7)} µs/decision  ${Math.round(
        total / seconds,
      )
        .toLocaleString('en-US')
        .padStart(10)} decisions/s`,
    );
  }
  out();
}

/**
 * `meshca policy explain`: would this identity get a certificate, and why not? Evaluates the
 * central and local policies exactly as `meshca serve` does (the same LayeredPolicyDecider, the
 * server's TTL limits behind it), on facts read from a cluster (`--kubeconfig`) or given on the
 * command line, and prints every rule's verdict in each layer and the final decision.
 *
 * Exit code: 0 when the certificate would be issued, 3 when it would be refused.
 *
 * @module
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { OPTIONS, parseDurationMs } from '../config/index.js';
import { workloadSpiffeId } from '../identity/index.js';
import { KubeClient, KubeDirectPolicyFacts } from '../kube/index.js';
import { silentLogger } from '../logger.js';
import {
  ClusterFactsMap,
  KEY_TYPES,
  LayeredPolicyDecider,
  PolicyStore,
  TtlPolicy,
  type ClusterFacts,
  type DecisionKey,
  type DecisionRequest,
  type ExplainedDecision,
} from '../policy/index.js';
import { UsageError, type CommandIo } from './io.js';
import { renderExplanation, explanationJson } from './policy-explain-output.js';
import {
  GivenFacts,
  POD_STATES,
  parseGivenObject,
  parseLabels,
  type GivenPodState,
} from './policy-given-facts.js';
import { loadPolicyFile } from './policy-load.js';

export const EXPLAIN_USAGE = `Usage: meshca policy explain --namespace NS --service-account SA [options]

Shows how the central and the local policy decide for one identity: each rule's verdict in each
layer, and the final decision with its TTL. Exit code 0: issued; 3: refused.

Policies (at least one):
      --central FILE           the central policy
      --local FILE             the local policy

The request:
  -n, --namespace NS           namespace of the workload (required)
  -s, --service-account SA     service account of the workload (required)
      --pod NAME               the caller's token is bound to this pod (default: not pod-bound)
      --pod-uid UID            the UID the token names (default: the pod's current UID)
      --key TYPE               ${KEY_TYPES.join(', ')} or RSA-<bits> (default: ECDSA-P256)
      --ttl DURATION           the TTL the proxy asks for (default: 0, "the default")
      --trust-domain TD        (default: cluster.local)
      --cluster-id ID          (default: Kubernetes)

Facts from a cluster:
      --kubeconfig FILE        read pods, namespaces and required objects from this cluster
      --context NAME           kubeconfig context

Facts given instead (without --kubeconfig):
      --namespace-label K=V    a label of the namespace; repeatable
      --pod-state STATE        ${POD_STATES.join(', ')} (default: running)
      --object OBJECT          an object that exists: APIVERSION/KIND/NAMESPACE/NAME[:k=v,...],
                               e.g. networking.k8s.io/v1/Ingress/shop/web; repeatable

The server's own limits (as "meshca serve" is configured):
      --default-ttl DURATION   (default: ${optionDefault('defaultTtl')})
      --max-ttl DURATION       (default: ${optionDefault('maxTtl')})
      --min-ttl DURATION       (default: ${optionDefault('minTtl')})

      --json                   print the explanation as JSON
`;

const REQUEST_TIMEOUT_MS = 10_000;

/** Runs `meshca policy explain`. */
export async function explainCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      central: { type: 'string' },
      local: { type: 'string' },
      namespace: { type: 'string', short: 'n' },
      'service-account': { type: 'string', short: 's' },
      pod: { type: 'string' },
      'pod-uid': { type: 'string' },
      key: { type: 'string' },
      ttl: { type: 'string' },
      'trust-domain': { type: 'string' },
      'cluster-id': { type: 'string' },
      kubeconfig: { type: 'string' },
      context: { type: 'string' },
      'namespace-label': { type: 'string', multiple: true },
      'pod-state': { type: 'string' },
      object: { type: 'string', multiple: true },
      'default-ttl': { type: 'string' },
      'max-ttl': { type: 'string' },
      'min-ttl': { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help === true) {
    io.stdout.write(EXPLAIN_USAGE);
    return 0;
  }
  const namespace = values.namespace;
  const serviceAccount = values['service-account'];
  if (namespace === undefined || serviceAccount === undefined) {
    throw new UsageError('meshca policy explain: --namespace and --service-account are required');
  }
  if (values.central === undefined && values.local === undefined) {
    throw new UsageError('meshca policy explain: give --central FILE, --local FILE or both');
  }
  const kubeconfig = values.kubeconfig ?? undefined;
  if (
    kubeconfig !== undefined &&
    (values['namespace-label'] !== undefined ||
      values['pod-state'] !== undefined ||
      values.object !== undefined)
  ) {
    throw new UsageError(
      'meshca policy explain: facts come from --kubeconfig or from --namespace-label/--pod-state/--object, not both',
    );
  }
  const podState = (values['pod-state'] ?? 'running') as GivenPodState;
  if (!POD_STATES.includes(podState)) {
    throw new UsageError(
      `meshca policy explain: --pod-state must be one of ${POD_STATES.join(', ')}`,
    );
  }

  const store = new PolicyStore();
  if (values.central !== undefined) {
    store.install('central', await loadPolicyFile(resolve(io.cwd, values.central), values.central));
  }
  if (values.local !== undefined) {
    store.install('local', await loadPolicyFile(resolve(io.cwd, values.local), values.local));
  }
  const clusterId = values['cluster-id'] ?? 'Kubernetes';
  const key = parseKey(values.key ?? 'ECDSA-P256');
  const requestedTtlSeconds = BigInt(Math.round(seconds(values.ttl ?? '0', '--ttl')));
  const signal = AbortSignal.timeout(REQUEST_TIMEOUT_MS * 3);

  let client: KubeClient | undefined;
  try {
    let facts: ClusterFacts;
    let podUid = values['pod-uid'];
    if (kubeconfig !== undefined) {
      client = new KubeClient({
        connection: {
          mode: 'kubeconfig',
          path: resolve(io.cwd, kubeconfig),
          ...(values.context === undefined ? {} : { context: values.context }),
        },
        maxSockets: 4,
      });
      facts = new KubeDirectPolicyFacts(client, REQUEST_TIMEOUT_MS);
      if (values.pod !== undefined && podUid === undefined) {
        // As a token minted for the pod as it is now would say.
        podUid = (await facts.pods.pod(namespace, values.pod, '', signal))?.uid ?? '(no such pod)';
      }
    } else {
      facts = new GivenFacts({
        namespace,
        namespaceLabels: parseLabels(values['namespace-label'] ?? [], '--namespace-label'),
        serviceAccount,
        pod:
          values.pod === undefined
            ? undefined
            : { name: values.pod, uid: podUid ?? 'given', state: podState },
        objects: (values.object ?? []).map(parseGivenObject),
      });
      podUid ??= 'given';
    }
    const trustDomain = values['trust-domain'] ?? 'cluster.local';
    const request: DecisionRequest = {
      subject: workloadSpiffeId(trustDomain, namespace, serviceAccount),
      caller: {
        namespace,
        serviceAccount,
        podName: values.pod,
        podUid: values.pod === undefined ? undefined : podUid,
        expiresAt: undefined,
        identity: workloadSpiffeId(trustDomain, namespace, serviceAccount),
        clusterId,
        method: 'token-review',
      },
      impersonated: false,
      key,
      requestedTtlSeconds,
    };
    const decider = new LayeredPolicyDecider({
      policies: store,
      facts: new ClusterFactsMap(new Map([[clusterId, facts]])),
      inner: ttlPolicy(values),
      logger: silentLogger(),
    });
    const explained: ExplainedDecision = await decider.explain(request, signal);
    const context = {
      request,
      keyName: values.key ?? 'ECDSA-P256',
      facts: kubeconfig === undefined ? 'given' : `cluster (${kubeconfig})`,
    };
    io.stdout.write(
      values.json === true
        ? `${JSON.stringify(explanationJson(explained, context), null, 2)}\n`
        : renderExplanation(explained, context),
    );
    return explained.decision.effect === 'allow' ? 0 : 3;
  } finally {
    await client?.close();
  }
}

/** The key of `--key`. */
function parseKey(text: string): DecisionKey {
  const upper = text.toUpperCase();
  if (upper === 'ECDSA-P256' || upper === 'EC')
    return { algorithm: 'EC', bits: 256, curve: 'P-256' };
  if (upper === 'ECDSA-P384') return { algorithm: 'EC', bits: 384, curve: 'P-384' };
  const rsa = /^RSA-(\d{3,5})$/.exec(upper);
  if (rsa !== null) return { algorithm: 'RSA', bits: Number(rsa[1]), curve: undefined };
  if (upper === 'RSA') return { algorithm: 'RSA', bits: 2048, curve: undefined };
  throw new UsageError(
    `meshca policy explain: --key must be one of ${KEY_TYPES.join(', ')} or RSA-<bits>`,
  );
}

/** meshca's own TTL limits as `serve` would have them with these flags. */
function ttlPolicy(values: {
  readonly 'default-ttl'?: string | undefined;
  readonly 'max-ttl'?: string | undefined;
  readonly 'min-ttl'?: string | undefined;
}): TtlPolicy {
  const limits = {
    defaultTtlSeconds: seconds(
      values['default-ttl'] ?? optionDefault('defaultTtl'),
      '--default-ttl',
    ),
    maxTtlSeconds: seconds(values['max-ttl'] ?? optionDefault('maxTtl'), '--max-ttl'),
    minTtlSeconds: seconds(values['min-ttl'] ?? optionDefault('minTtl'), '--min-ttl'),
  };
  const { minTtlSeconds: min, defaultTtlSeconds: fallback, maxTtlSeconds: max } = limits;
  // The same rule serve's configuration enforces, said in the flags' words.
  if (!(min > 0 && min <= fallback && fallback <= max)) {
    throw new UsageError(
      `meshca policy explain: the TTL limits must satisfy 0 < --min-ttl (${min}s) <= --default-ttl (${fallback}s) <= --max-ttl (${max}s)`,
    );
  }
  return new TtlPolicy(limits);
}

function seconds(text: string, flag: string): number {
  try {
    return Math.floor(parseDurationMs(text) / 1000);
  } catch (error) {
    throw new UsageError(`meshca policy explain: ${flag}: ${(error as Error).message}`);
  }
}

/** A setting's default as `meshca serve` has it. */
function optionDefault(key: string): string {
  const value = OPTIONS.find((option) => option.key === key)?.default;
  if (typeof value !== 'string') throw new TypeError(`no default for ${key}`);
  return value;
}

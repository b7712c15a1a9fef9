/**
 * Wiring of `meshca serve`: the layered issuance policy (#9, GOVERNANCE.md §1 and §3). The
 * central policy (verified against `policySigningKeys` when set) and the local one, each kept in
 * force by a {@link PolicySource}; the facts they read — one {@link KubePolicyFacts} per cluster
 * over that cluster's shared pod index, or, without a cluster, none, so that a rule needing the
 * cluster refuses and says why; and the {@link LayeredPolicyDecider} in front of meshca's own TTL
 * limits. Without a policy source the TTL limits decide alone, exactly as before.
 *
 * @module
 */
import type { Config, PolicySourceConfig } from '../config/index.js';
import type { PolicyFacts } from '../inventory/index.js';
import { errorMessage } from '../errors.js';
import {
  DEFAULT_POLICY_FACTS_OPTIONS,
  KubeConfigMapPolicyReader,
  KubePolicyFacts,
} from '../kube/index.js';
import type { Logger } from '../logger.js';
import { PolicyMetrics, type CaMetrics } from '../metrics/index.js';
import {
  ClusterFactsMap,
  FilePolicyReader,
  LayeredPolicyDecider,
  PolicySignatureVerifier,
  PolicySource,
  PolicyStore,
  type ClusterFacts,
  type CompiledPolicy,
  type IssuanceDecider,
  type PolicyDocumentReader,
  type PolicyLayer,
} from '../policy/index.js';
import type { Part, PartRunner } from '../runtime/index.js';
import type { ClusterRuntime } from './serve-clusters.js';
import type { PodCaches } from './serve-kubernetes.js';

/** Shared collaborators. */
interface Deps {
  readonly logger: Logger;
  readonly metrics: CaMetrics;
}

/** The decider, and what is in force for the console's overview. */
export interface PolicyWiring {
  readonly decider: IssuanceDecider;
  /** The policy layers in force now (none without a policy). */
  inForce(): PolicyFacts[];
}

/**
 * The service's decider: `inner` (meshca's TTL limits) alone when no policy is configured, else
 * the layered policy in front of it. Adds the policy sources (central, then local) and the
 * per-cluster facts to `runner`; a source whose first version cannot be loaded (missing, invalid,
 * unsigned or badly signed with `policySigningKeys`) makes `runner.start` fail, so meshca does not
 * start without the policy it was given.
 *
 * @throws `Error` naming the file when a signing key cannot be read.
 */
export async function policyDecider(
  config: Config,
  clusters: readonly ClusterRuntime[],
  pods: PodCaches | undefined,
  runner: PartRunner,
  inner: IssuanceDecider,
  deps: Deps,
): Promise<PolicyWiring> {
  const { central, local, signingKeys, reloadIntervalMs } = config.policy;
  if (central === undefined && local === undefined) return { decider: inner, inForce: () => [] };
  const logger = deps.logger.child({ component: 'policy' });
  const verifier = await signatureVerifier(signingKeys, logger);
  const metrics = new PolicyMetrics(deps.metrics.registry);
  const store = new PolicyStore();

  const sources: Partial<Record<PolicyLayer, PolicySource>> = {};
  for (const [layer, source] of [
    ['central', central],
    ['local', local],
  ] as const) {
    if (source === undefined) continue;
    sources[layer] = runner.add(
      new PolicySource({
        layer,
        reader: reader(source, clusters, config, logger),
        verifier: layer === 'central' ? verifier : undefined,
        store,
        reloadIntervalMs,
        metrics,
        logger,
      }),
    );
  }
  runner.addCheck({
    name: 'policy',
    severity: 'informational',
    // Informational details are shown as they are: this one names what is in force.
    check: () => inForce(sources),
  });

  const clusterFacts = new Map<string, ClusterFacts>();
  const watchers: KubePolicyFacts[] = [];
  for (const [position, cluster] of clusters.entries()) {
    const index = pods?.indexes.get(cluster.id);
    if (index === undefined) continue;
    const facts = new KubePolicyFacts(
      cluster.client,
      index,
      DEFAULT_POLICY_FACTS_OPTIONS,
      logger.child({ cluster: cluster.id }),
    );
    runner.add(position === 0 ? facts : namedFor(facts, cluster.id));
    clusterFacts.set(cluster.id, facts);
    watchers.push(facts);
  }
  // Only the kinds the policies in force name are watched, from the first version on.
  store.onChange((_snapshot, layer) => {
    const kinds = store.requiredKinds();
    for (const facts of watchers) facts.watchKinds(kinds);
    if (clusterFacts.size === 0) warnWithoutCluster(store.snapshot()[layer], config, logger);
  });

  logger.info(
    {
      central: central === undefined ? undefined : describe(central),
      local: local === undefined ? undefined : describe(local),
      signingKeys: verifier?.keys.map((key) => `${key.kid} (${key.source})`),
      clusters: [...clusterFacts.keys()],
    },
    'issuance policy configured',
  );
  return {
    decider: new LayeredPolicyDecider({
      policies: store,
      facts: new ClusterFactsMap(clusterFacts),
      inner,
      metrics,
      logger,
    }),
    inForce: () => policyFacts(sources, verifier !== undefined),
  };
}

/** The layers in force, as the overview shows them. */
function policyFacts(
  sources: Partial<Record<PolicyLayer, PolicySource>>,
  signaturesChecked: boolean,
): PolicyFacts[] {
  return (['central', 'local'] as const).flatMap((layer) => {
    const source = sources[layer];
    const policy = source?.current;
    if (source === undefined || policy === undefined) return [];
    const signedBy = source.signedBy;
    return [
      {
        layer,
        name: policy.name,
        sha256: policy.sha256,
        origin: policy.origin,
        // Only the central layer is ever verified (serve wires the verifier to it alone).
        signature:
          layer === 'central' && signaturesChecked && signedBy !== undefined
            ? 'verified'
            : 'not-required',
        signedBy: signedBy ?? null,
      },
    ];
  });
}

async function signatureVerifier(
  paths: readonly string[],
  logger: Logger,
): Promise<PolicySignatureVerifier | undefined> {
  if (paths.length === 0) return undefined;
  try {
    const verifier = await PolicySignatureVerifier.fromFiles(paths);
    logger.info(
      { keys: verifier.keys.map((key) => ({ kid: key.kid, source: key.source })) },
      'central policy signing keys loaded',
    );
    return verifier;
  } catch (error) {
    throw new Error(`policySigningKeys: ${errorMessage(error)}`, { cause: error });
  }
}

function reader(
  source: PolicySourceConfig,
  clusters: readonly ClusterRuntime[],
  config: Config,
  logger: Logger,
): PolicyDocumentReader {
  if (source.kind === 'file') return new FilePolicyReader(source.path);
  const [cluster] = clusters;
  // The settings' validation refuses a ConfigMap source without a cluster.
  if (cluster === undefined || config.kubernetes === undefined) {
    throw new TypeError('a policy ConfigMap needs a cluster');
  }
  return new KubeConfigMapPolicyReader(
    cluster.client,
    {
      namespace: source.namespace,
      name: source.name,
      requestTimeoutMs: config.kubernetes.controllers.requestTimeoutMs,
    },
    logger,
  );
}

/** A remote cluster's facts, its part and readiness checks named after it (`policy-objects:east`). */
function namedFor(facts: KubePolicyFacts, clusterId: string): Part {
  return {
    name: `${facts.name}:${clusterId}`,
    start: (signal) => facts.start(signal),
    close: () => facts.close(),
    readiness: () =>
      facts.readiness().map((check) => ({
        name: `${check.name}:${clusterId}`,
        severity: check.severity ?? 'required',
        check: () => check.check(),
      })),
  };
}

function describe(source: PolicySourceConfig): string {
  return source.kind === 'file' ? source.path : `ConfigMap ${source.namespace}/${source.name}`;
}

/** `central security-baseline (sha256 29b0c569eceb…), local shop-only (…)`. */
function inForce(sources: Partial<Record<PolicyLayer, PolicySource>>): string {
  const layers = (['central', 'local'] as const).flatMap((layer) => {
    const source = sources[layer];
    if (source === undefined) return [];
    const policy = source.current;
    return [
      policy === undefined
        ? `${layer}: none loaded`
        : `${layer}: ${policy.name} (sha256 ${policy.sha256})`,
    ];
  });
  return `in force: ${layers.join(', ')}`;
}

/**
 * Without a cluster (development mode, or tokens verified against a JWKS alone) a rule that needs
 * the cluster's pods, namespaces or objects refuses every request it applies to, saying why; the
 * operator hears it once per policy version, at load, rather than from every refused proxy.
 */
function warnWithoutCluster(
  policy: CompiledPolicy | undefined,
  config: Config,
  logger: Logger,
): void {
  if (policy === undefined) return;
  const rules = policy.rules
    .filter(
      (rule) =>
        rule.needs.liveWorkload === true ||
        rule.needs.namespaceLabels === true ||
        (rule.needs.objects?.length ?? 0) > 0 ||
        rule.selector.usesNamespaceLabels,
    )
    .map((rule) => rule.name);
  if (rules.length === 0) return;
  logger.warn(
    { policy: policy.name, rules, cluster: config.cluster.id },
    'these policy rules need a cluster; without one they refuse every request they apply to',
  );
}

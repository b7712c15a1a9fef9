/**
 * Evaluation of the two policy layers for one request.
 *
 * **Within a layer** (central and local alike, each on its own):
 * 1. A rule *applies* when its selector matches the request (no selector: every request).
 * 2. An applying rule *allows* when every one of its constraints holds; otherwise it *denies*,
 *    with the reason of the first constraint that fails.
 * 3. Enforce-mode rules decide. The layer denies when an applying enforce rule denies (the first
 *    in document order is named). Otherwise it allows when an applying enforce rule allows (the
 *    first is named). Otherwise the layer's `defaultAction` decides (named `default`): `allow`
 *    allows; `deny` denies, or, when `spec.mode` is `audit`, allows.
 * 4. Audit-mode rules never change the outcome: each applying audit rule that denies adds an
 *    `audit` verdict ("would deny"). A `deny` default in audit mode adds one when no applying
 *    rule, of either mode, allows or denies (the default would have decided). An audit rule's
 *    allow counts for nothing, and its TTL is not applied: a dry run changes nothing issued.
 * 5. The layer's TTL limits are those of its applying enforce rules.
 *
 * **Across layers**: the request is issued only when both layers allow (AND). A denial names
 * the central layer's rule when central denies, else the local one's. An allow names the local
 * layer's deciding rule (the last layer that allowed), or the central one's without a local
 * policy. Modes act only within their own layer, so nothing in a local policy can turn a central
 * enforce rule into audit, and a local rule can only narrow what central allows.
 *
 * Facts are gathered once per request, and only those the applying rules need: the namespace's
 * labels (when a policy reads them), the caller's pod (when an applying rule requires a live
 * workload), the listings of required objects. Then every rule runs synchronously.
 *
 * @module
 */
import type { PolicyVerdict } from '../events/index.js';
import type { CompiledPolicy, CompiledRule } from './compile.js';
import {
  isUnknown,
  objectListingKey,
  type ConstraintKind,
  type EvaluationContext,
  type UnknownFact,
} from './context.js';
import type { DecisionRequest } from './decision.js';
import { DEFAULT_RULE_NAME, type RuleMode } from './document.js';
import type { FactSource, ObjectKind, ObjectListing } from './facts.js';
import type { Labels } from './label-match.js';
import { keyTypeOf } from './rules/key-types.js';
import { checkLiveWorkload } from './rules/live-workload.js';
import type { Selection } from './selector.js';

/** The two layers of policy. */
export type PolicyLayer = 'central' | 'local';

/** The policies in force, one per layer (either may be absent). */
export interface PolicySnapshot {
  readonly central: CompiledPolicy | undefined;
  readonly local: CompiledPolicy | undefined;
}

/** What one rule said about a request. */
export interface RuleVerdict {
  readonly rule: string;
  readonly mode: RuleMode;
  /** `not-applicable` when its selector did not match. */
  readonly verdict: 'not-applicable' | 'allow' | 'deny';
  /** For a denial: the constraint that failed (`selector` when the selector could not tell). */
  readonly constraint: ConstraintKind | 'selector' | undefined;
  readonly reason: string | undefined;
  /** The rule's TTL limits, seconds, when it sets them. */
  readonly ttlMaxSeconds: number | undefined;
  readonly ttlDefaultSeconds: number | undefined;
}

/** The smallest TTL limits that apply, and which layer/rule set each. */
export interface TtlBounds {
  readonly maxSeconds: number | undefined;
  readonly maxSetBy: string | undefined;
  readonly defaultSeconds: number | undefined;
  readonly defaultSetBy: string | undefined;
}

/** The outcome of one layer. */
export interface LayerEvaluation {
  readonly layer: PolicyLayer;
  readonly policy: { readonly name: string; readonly sha256: string };
  readonly effect: 'allow' | 'deny';
  /** The deciding rule, or `default`. */
  readonly rule: string;
  readonly reason: string | undefined;
  /** Every rule, in document order. */
  readonly rules: readonly RuleVerdict[];
  readonly audits: readonly PolicyVerdict[];
  readonly ttl: TtlBounds;
}

/** The outcome of both layers. */
export interface PolicyEvaluation {
  readonly effect: 'allow' | 'deny';
  readonly layer: PolicyLayer;
  readonly rule: string;
  readonly reason: string | undefined;
  readonly audits: readonly PolicyVerdict[];
  /** Central first, then local; only the layers that have a policy. */
  readonly layers: readonly LayerEvaluation[];
  /** Across both layers. */
  readonly ttl: TtlBounds;
}

/** Reasons are for operators and clients alike: bounded, whatever a policy holds. */
const MAX_REASON_LENGTH = 240;

/**
 * Evaluates the policies of `snapshot` for `request`.
 *
 * @returns undefined when there is no policy at all.
 * @throws `UnavailableError` when a fact cannot be known now (from the lookups).
 */
export async function evaluatePolicies(
  snapshot: PolicySnapshot,
  request: DecisionRequest,
  facts: FactSource,
  signal: AbortSignal,
): Promise<PolicyEvaluation | undefined> {
  const policies: [PolicyLayer, CompiledPolicy][] = [];
  if (snapshot.central !== undefined) policies.push(['central', snapshot.central]);
  if (snapshot.local !== undefined) policies.push(['local', snapshot.local]);
  if (policies.length === 0) return undefined;

  const { subject } = request;
  const base: EvaluationContext = {
    request,
    subjectKey: `${subject.namespace}/${subject.serviceAccount}`,
    keyType: keyTypeOf(request.key),
    namespaceLabels: policies.some(([, policy]) => policy.usesNamespaceLabels)
      ? await namespaceLabels(request, facts, signal)
      : undefined,
    liveWorkload: undefined,
    objects: new Map(),
  };

  // Which rules apply decides which facts are needed.
  const selections = policies.map(([, policy]) =>
    policy.rules.map((rule) => rule.selector.select(base)),
  );
  let needsLiveWorkload = false;
  const objectNeeds = new Map<string, { kind: ObjectKind; namespace: string }>();
  for (const [layerIndex, [, policy]] of policies.entries()) {
    for (const [ruleIndex, rule] of policy.rules.entries()) {
      if (selections[layerIndex]?.[ruleIndex] === false) continue;
      needsLiveWorkload ||= rule.needs.liveWorkload === true;
      for (const { kind, namespace } of rule.needs.objects ?? []) {
        const where = namespace ?? subject.namespace;
        objectNeeds.set(objectListingKey(kind, where), { kind, namespace: where });
      }
    }
  }
  const context: EvaluationContext = {
    ...base,
    liveWorkload: needsLiveWorkload ? await checkLiveWorkload(request, facts, signal) : undefined,
    objects: await objectListings(request, facts, [...objectNeeds.values()], signal),
  };

  const layers = policies.map(([layer, policy], index) =>
    evaluateLayer(layer, policy, selections[index] ?? [], context),
  );
  const denied = layers.find((layer) => layer.effect === 'deny');
  const decided = denied ?? layers[layers.length - 1];
  if (decided === undefined) return undefined;
  return {
    effect: decided.effect,
    layer: decided.layer,
    rule: decided.rule,
    reason: decided.reason,
    audits: layers.flatMap((layer) => layer.audits),
    layers,
    ttl: combineTtl(layers.map((layer) => layer.ttl)),
  };
}

/** One layer, on gathered facts (steps 2 to 5 of the module comment). */
function evaluateLayer(
  layer: PolicyLayer,
  policy: CompiledPolicy,
  selections: readonly Selection[],
  context: EvaluationContext,
): LayerEvaluation {
  const rules: RuleVerdict[] = [];
  const audits: PolicyVerdict[] = [];
  let enforcedDeny: RuleVerdict | undefined;
  let enforcedAllow: RuleVerdict | undefined;
  let anyApplied = false;
  let maxSeconds: number | undefined;
  let maxSetBy: string | undefined;
  let defaultSeconds: number | undefined;
  let defaultSetBy: string | undefined;

  for (const [index, rule] of policy.rules.entries()) {
    const verdict = ruleVerdict(rule, selections[index] ?? false, context);
    rules.push(verdict);
    if (verdict.verdict === 'not-applicable') continue;
    anyApplied = true;
    if (rule.mode === 'audit') {
      if (verdict.verdict === 'deny') {
        audits.push({ effect: 'audit', layer, rule: rule.name, reason: verdict.reason });
      }
      continue;
    }
    if (verdict.verdict === 'deny') {
      enforcedDeny ??= verdict;
      continue;
    }
    enforcedAllow ??= verdict;
    const { ttl } = rule;
    if (
      ttl?.maxSeconds !== undefined &&
      (maxSeconds === undefined || ttl.maxSeconds < maxSeconds)
    ) {
      maxSeconds = ttl.maxSeconds;
      maxSetBy = `${layer}/${rule.name}`;
    }
    if (
      ttl?.defaultSeconds !== undefined &&
      (defaultSeconds === undefined || ttl.defaultSeconds < defaultSeconds)
    ) {
      defaultSeconds = ttl.defaultSeconds;
      defaultSetBy = `${layer}/${rule.name}`;
    }
  }

  const outcome = {
    layer,
    policy: { name: policy.name, sha256: policy.sha256 },
    rules,
    audits,
    ttl: { maxSeconds, maxSetBy, defaultSeconds, defaultSetBy },
  };
  if (enforcedDeny !== undefined) {
    return { ...outcome, effect: 'deny', rule: enforcedDeny.rule, reason: enforcedDeny.reason };
  }
  if (enforcedAllow !== undefined) {
    return { ...outcome, effect: 'allow', rule: enforcedAllow.rule, reason: undefined };
  }
  if (policy.defaultAction === 'allow') {
    return { ...outcome, effect: 'allow', rule: DEFAULT_RULE_NAME, reason: undefined };
  }
  const reason = bound(
    `no ${layer} rule allows ${context.subjectKey} and the default action is deny`,
  );
  if (policy.mode === 'enforce') {
    return { ...outcome, effect: 'deny', rule: DEFAULT_RULE_NAME, reason };
  }
  // A deny default in audit mode: recorded when it would have decided, i.e. when no rule
  // applied at all (an applying audit rule allowed, or already recorded its own denial).
  if (!anyApplied) audits.push({ effect: 'audit', layer, rule: DEFAULT_RULE_NAME, reason });
  return { ...outcome, effect: 'allow', rule: DEFAULT_RULE_NAME, reason: undefined };
}

function ruleVerdict(
  rule: CompiledRule,
  selection: Selection,
  context: EvaluationContext,
): RuleVerdict {
  if (selection === false) return verdictOf(rule, 'not-applicable', undefined, undefined);
  if (isUnknown(selection)) return verdictOf(rule, 'deny', 'selector', bound(selection.unknown));
  for (const constraint of rule.constraints) {
    const reason = constraint.check(context);
    if (reason !== undefined) return verdictOf(rule, 'deny', constraint.kind, bound(reason));
  }
  return verdictOf(rule, 'allow', undefined, undefined);
}

/** One shape for every verdict (a hot path: no spreads). */
function verdictOf(
  rule: CompiledRule,
  verdict: RuleVerdict['verdict'],
  constraint: RuleVerdict['constraint'],
  reason: string | undefined,
): RuleVerdict {
  return {
    rule: rule.name,
    mode: rule.mode,
    verdict,
    constraint,
    reason,
    ttlMaxSeconds: rule.ttl?.maxSeconds,
    ttlDefaultSeconds: rule.ttl?.defaultSeconds,
  };
}

function combineTtl(bounds: readonly TtlBounds[]): TtlBounds {
  let result: TtlBounds = {
    maxSeconds: undefined,
    maxSetBy: undefined,
    defaultSeconds: undefined,
    defaultSetBy: undefined,
  };
  for (const next of bounds) {
    if (
      next.maxSeconds !== undefined &&
      (result.maxSeconds === undefined || next.maxSeconds < result.maxSeconds)
    ) {
      result = { ...result, maxSeconds: next.maxSeconds, maxSetBy: next.maxSetBy };
    }
    if (
      next.defaultSeconds !== undefined &&
      (result.defaultSeconds === undefined || next.defaultSeconds < result.defaultSeconds)
    ) {
      result = { ...result, defaultSeconds: next.defaultSeconds, defaultSetBy: next.defaultSetBy };
    }
  }
  return result;
}

async function namespaceLabels(
  request: DecisionRequest,
  facts: FactSource,
  signal: AbortSignal,
): Promise<Labels | UnknownFact> {
  const { clusterId } = request.caller;
  const cluster = facts.cluster(clusterId);
  if (cluster === undefined) {
    return {
      unknown: `namespace labels cannot be read: meshca has no connection to cluster ${clusterId} (development mode)`,
    };
  }
  const namespace = await cluster.namespaces.namespace(request.subject.namespace, signal);
  if (namespace === undefined) {
    return { unknown: `namespace ${request.subject.namespace} does not exist` };
  }
  return namespace.labels;
}

async function objectListings(
  request: DecisionRequest,
  facts: FactSource,
  needs: readonly { kind: ObjectKind; namespace: string }[],
  signal: AbortSignal,
): Promise<Map<string, ObjectListing | UnknownFact>> {
  const listings = new Map<string, ObjectListing | UnknownFact>();
  if (needs.length === 0) return listings;
  const { clusterId } = request.caller;
  const cluster = facts.cluster(clusterId);
  for (const { kind, namespace } of needs) {
    listings.set(
      objectListingKey(kind, namespace),
      cluster === undefined
        ? {
            unknown: `required objects cannot be checked: meshca has no connection to cluster ${clusterId} (development mode)`,
          }
        : await cluster.objects.objects(kind, namespace, signal),
    );
  }
  return listings;
}

function bound(reason: string): string {
  return reason.length <= MAX_REASON_LENGTH
    ? reason
    : `${reason.slice(0, MAX_REASON_LENGTH - 3)}...`;
}

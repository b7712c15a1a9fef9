/**
 * Turns a parsed document into what decisions run on: every glob, label selector and constraint
 * compiled once, at load, so that a decision is a few set and map lookups.
 *
 * @module
 */
import type { Constraint, FactNeeds } from './context.js';
import type { DefaultAction, RuleMode, RuleSpec } from './document.js';
import { objectKindKey, type ObjectKind } from './facts.js';
import type { ParsedPolicy, SourcePosition } from './parse.js';
import { identitiesConstraint } from './rules/identities.js';
import { keyTypesConstraint } from './rules/key-types.js';
import { liveWorkloadConstraint } from './rules/live-workload.js';
import { namespaceLabelsConstraint } from './rules/namespace-labels.js';
import { requiredObjectsConstraint } from './rules/required-objects.js';
import { ttlLimit, type TtlLimit } from './rules/ttl-limit.js';
import { trustDomainsConstraint } from './rules/trust-domains.js';
import { RuleSelector } from './selector.js';

/** One rule, ready to evaluate. */
export interface CompiledRule {
  readonly name: string;
  /** The rule's own mode, or the document's `spec.mode`. */
  readonly mode: RuleMode;
  readonly selector: RuleSelector;
  /** In document order; the first that fails gives the rule's reason. */
  readonly constraints: readonly Constraint[];
  readonly ttl: TtlLimit | undefined;
  /** The facts its constraints need gathered. */
  readonly needs: FactNeeds;
  /** The rule as written, for lint and explain. */
  readonly spec: RuleSpec;
  readonly position: SourcePosition | undefined;
}

/** A policy document, ready to evaluate. */
export interface CompiledPolicy {
  readonly name: string;
  readonly sha256: string;
  /** Where it was loaded from. */
  readonly origin: string;
  readonly defaultAction: DefaultAction;
  /** The mode of the default action (and of rules that set none). */
  readonly mode: RuleMode;
  readonly rules: readonly CompiledRule[];
  /** Every kind named by `requiredObjects`, once each. */
  readonly requiredKinds: readonly ObjectKind[];
  /** True when a selector or constraint reads namespace labels. */
  readonly usesNamespaceLabels: boolean;
}

/** Compiles a parsed document. */
export function compilePolicy(parsed: ParsedPolicy): CompiledPolicy {
  const { spec, metadata } = parsed.document;
  const rules = spec.rules.map((rule, index): CompiledRule => {
    const constraints = constraintsOf(rule);
    return {
      name: rule.name,
      mode: rule.mode ?? spec.mode,
      selector: new RuleSelector(rule.selector),
      constraints,
      ttl: ttlLimit(rule.ttl),
      needs: mergeNeeds(constraints),
      spec: rule,
      position: parsed.rulePositions[index],
    };
  });
  const kinds = new Map<string, ObjectKind>();
  for (const rule of rules) {
    for (const { kind } of rule.needs.objects ?? []) kinds.set(objectKindKey(kind), kind);
  }
  return {
    name: metadata.name,
    sha256: parsed.sha256,
    origin: parsed.file,
    defaultAction: spec.defaultAction,
    mode: spec.mode,
    rules,
    requiredKinds: [...kinds.values()],
    usesNamespaceLabels: rules.some(
      (rule) => rule.selector.usesNamespaceLabels || rule.needs.namespaceLabels === true,
    ),
  };
}

/** The facts some constraints need, merged. */
function mergeNeeds(constraints: readonly Constraint[]): FactNeeds {
  let liveWorkload = false;
  let namespaceLabels = false;
  const objects: NonNullable<FactNeeds['objects']>[number][] = [];
  for (const constraint of constraints) {
    liveWorkload ||= constraint.needs.liveWorkload === true;
    namespaceLabels ||= constraint.needs.namespaceLabels === true;
    objects.push(...(constraint.needs.objects ?? []));
  }
  return { liveWorkload, namespaceLabels, objects };
}

/** The constraints of a rule, in a fixed order: cheap and static ones first. */
function constraintsOf(rule: RuleSpec): Constraint[] {
  const constraints: Constraint[] = [];
  if (rule.identities !== undefined) constraints.push(identitiesConstraint(rule.identities));
  if (rule.trustDomains !== undefined) constraints.push(trustDomainsConstraint(rule.trustDomains));
  if (rule.keyTypes !== undefined) constraints.push(keyTypesConstraint(rule.keyTypes));
  if (rule.namespaceLabels !== undefined) {
    constraints.push(namespaceLabelsConstraint(rule.namespaceLabels));
  }
  if (rule.liveWorkload === true) constraints.push(liveWorkloadConstraint());
  if (rule.requiredObjects !== undefined) {
    constraints.push(requiredObjectsConstraint(rule.requiredObjects));
  }
  return constraints;
}

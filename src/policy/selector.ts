/**
 * A rule's selector, compiled: which requests the rule applies to. Every field given must match
 * (AND); a rule without a selector applies to every request. Namespaces and service accounts are
 * the subject's; cluster IDs are the caller's.
 *
 * When the subject namespace's labels are needed and unknown, the selector cannot tell: the rule
 * then refuses (fail closed) rather than being skipped, which would let a guard rule go unheard.
 *
 * @module
 */
import { isUnknown, type EvaluationContext, type UnknownFact } from './context.js';
import type { SelectorSpec } from './document.js';
import { GlobList } from './glob.js';
import { compileLabelSelector, type LabelPredicate } from './label-match.js';

/** Whether a rule applies: yes, no, or cannot tell (and why). */
export type Selection = boolean | UnknownFact;

/** A compiled selector. */
export class RuleSelector {
  readonly namespaces: GlobList | undefined;
  readonly serviceAccounts: GlobList | undefined;
  readonly clusterIds: GlobList | undefined;
  readonly namespaceSelector: LabelPredicate | undefined;
  /** The selector as written, for lint comparisons. */
  readonly spec: SelectorSpec | undefined;

  constructor(spec: SelectorSpec | undefined) {
    this.spec = spec;
    this.namespaces = spec?.namespaces === undefined ? undefined : new GlobList(spec.namespaces);
    this.serviceAccounts =
      spec?.serviceAccounts === undefined ? undefined : new GlobList(spec.serviceAccounts);
    this.clusterIds = spec?.clusterIds === undefined ? undefined : new GlobList(spec.clusterIds);
    this.namespaceSelector =
      spec?.namespaceSelector === undefined
        ? undefined
        : compileLabelSelector(spec.namespaceSelector);
  }

  /** True when the selector reads the namespace's labels. */
  get usesNamespaceLabels(): boolean {
    return this.namespaceSelector !== undefined;
  }

  /** True when every request is selected. */
  get selectsEverything(): boolean {
    return (
      (this.namespaces?.matchesEverything ?? true) &&
      (this.serviceAccounts?.matchesEverything ?? true) &&
      (this.clusterIds?.matchesEverything ?? true) &&
      this.namespaceSelector === undefined
    );
  }

  /** Whether the rule applies to the request of `context`. */
  select(context: EvaluationContext): Selection {
    const { subject, caller } = context.request;
    if (this.namespaces !== undefined && !this.namespaces.matches(subject.namespace)) return false;
    if (this.serviceAccounts !== undefined && !this.serviceAccounts.matches(subject.serviceAccount))
      return false;
    if (this.clusterIds !== undefined && !this.clusterIds.matches(caller.clusterId)) return false;
    if (this.namespaceSelector !== undefined) {
      const labels = context.namespaceLabels;
      if (labels === undefined) return { unknown: 'namespace labels were not gathered' };
      if (isUnknown(labels)) return labels;
      return this.namespaceSelector(labels);
    }
    return true;
  }
}

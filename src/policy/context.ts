/**
 * What a rule is evaluated against: the request and the facts gathered for it, all settled before
 * any rule runs, so that every check is synchronous and cheap. The contract every rule kind
 * (`rules/*.ts`) implements.
 *
 * @module
 */
import type { DecisionRequest } from './decision.js';
import type { KeyType } from './document.js';
import type { ObjectKind, ObjectListing } from './facts.js';
import type { Labels } from './label-match.js';

/** A fact that could not be established, and why (said in the verdict that needed it). */
export interface UnknownFact {
  readonly unknown: string;
}

/** Whether the workload behind the request is alive. */
export type LiveWorkloadFact =
  { readonly live: true } | { readonly live: false; readonly reason: string };

/** Everything a rule reads. */
export interface EvaluationContext {
  readonly request: DecisionRequest;
  /** `<namespace>/<service-account>` of the subject. */
  readonly subjectKey: string;
  /** The CSR's key as a policy key type; undefined when it is none of them (e.g. RSA-8192). */
  readonly keyType: KeyType | undefined;
  /** The labels of the subject's namespace (gathered when a policy uses namespace labels). */
  readonly namespaceLabels: Labels | UnknownFact | undefined;
  /** Gathered when a selected rule requires a live workload. */
  readonly liveWorkload: LiveWorkloadFact | undefined;
  /** Listings by {@link objectListingKey}, gathered for the selected rules' required objects. */
  readonly objects: ReadonlyMap<string, ObjectListing | UnknownFact>;
}

/** The facts a constraint needs gathered before it can be checked. */
export interface FactNeeds {
  readonly namespaceLabels?: boolean;
  readonly liveWorkload?: boolean;
  /** Kinds and namespaces; `undefined` namespace means the subject's own. */
  readonly objects?: readonly {
    readonly kind: ObjectKind;
    readonly namespace: string | undefined;
  }[];
}

/** The kinds of constraint; also the `constraint` field of explained verdicts. */
export type ConstraintKind =
  | 'identities'
  | 'trustDomains'
  | 'keyTypes'
  | 'liveWorkload'
  | 'requiredObjects'
  | 'namespaceLabels';

/** One compiled constraint of a rule. */
export interface Constraint {
  readonly kind: ConstraintKind;
  readonly needs: FactNeeds;
  /** Undefined when the request satisfies it; else why not (short, bounded, operator-facing). */
  check(context: EvaluationContext): string | undefined;
}

/** The map key of one object listing. */
export function objectListingKey(kind: ObjectKind, namespace: string): string {
  return `${kind.apiVersion}/${kind.kind}@${namespace}`;
}

/** True when `value` is an {@link UnknownFact}. */
export function isUnknown(value: unknown): value is UnknownFact {
  return typeof value === 'object' && value !== null && 'unknown' in value;
}

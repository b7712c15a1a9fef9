/**
 * `requiredObjects`: Kubernetes objects that must exist for an identity to be issued, e.g. "an
 * Ingress (networking.k8s.io/v1) in the workload's namespace" or "an Istio Gateway in namespace
 * edge labelled tier=public". Each entry names a kind, optionally a namespace (default: the
 * subject's own), a name and a label selector; every entry must be met by at least one object.
 *
 * Only the kinds the policies in force name are watched, and only when the cluster serves their
 * API: a kind the cluster does not serve (no CRD) refuses, saying so.
 *
 * @module
 */
import { isUnknown, objectListingKey, type Constraint } from '../context.js';
import type { RequiredObjectSpec } from '../document.js';
import type { ObjectKind } from '../facts.js';
import { compileLabelSelector, type LabelPredicate } from '../label-match.js';

interface CompiledRequirement {
  readonly kind: ObjectKind;
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  readonly selector: LabelPredicate | undefined;
  readonly what: string;
}

/** The `requiredObjects` constraint of a rule. */
export function requiredObjectsConstraint(specs: readonly RequiredObjectSpec[]): Constraint {
  const requirements: CompiledRequirement[] = specs.map((spec) => ({
    kind: { apiVersion: spec.apiVersion, kind: spec.kind },
    namespace: spec.namespace,
    name: spec.name,
    selector: spec.selector === undefined ? undefined : compileLabelSelector(spec.selector),
    what: `${spec.kind} (${spec.apiVersion})${spec.name === undefined ? '' : ` named ${spec.name}`}${
      spec.selector === undefined ? '' : ' with the required labels'
    }`,
  }));
  return {
    kind: 'requiredObjects',
    needs: {
      objects: requirements.map(({ kind, namespace }) => ({ kind, namespace })),
    },
    check({ objects, request }) {
      for (const requirement of requirements) {
        const namespace = requirement.namespace ?? request.subject.namespace;
        const listing = objects.get(objectListingKey(requirement.kind, namespace));
        if (listing === undefined) return `${requirement.what} was not looked up`;
        if (isUnknown(listing)) return listing.unknown;
        if (!listing.served) return listing.reason;
        const found = listing.objects.some(
          (object) =>
            (requirement.name === undefined || object.name === requirement.name) &&
            (requirement.selector === undefined || requirement.selector(object.labels)),
        );
        if (!found) return `no ${requirement.what} in namespace ${namespace}`;
      }
      return undefined;
    },
  };
}

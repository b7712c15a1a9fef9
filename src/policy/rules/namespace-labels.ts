/**
 * `namespaceLabels`: labels the subject's namespace must carry, e.g. a platform team's opt-in
 * `meshca.io/identities: enabled`. Unlike `selector.namespaceSelector` (which decides whether a
 * rule applies), this refuses what it does not find.
 *
 * @module
 */
import { isUnknown, type Constraint } from '../context.js';

/** The `namespaceLabels` constraint of a rule. */
export function namespaceLabelsConstraint(required: Readonly<Record<string, string>>): Constraint {
  const entries = Object.entries(required);
  return {
    kind: 'namespaceLabels',
    needs: { namespaceLabels: true },
    check({ namespaceLabels, request }) {
      if (namespaceLabels === undefined || isUnknown(namespaceLabels)) {
        return namespaceLabels?.unknown ?? 'namespace labels were not gathered';
      }
      for (const [key, value] of entries) {
        if (namespaceLabels[key] !== value) {
          return `namespace ${request.subject.namespace} lacks the label ${key}=${value}`;
        }
      }
      return undefined;
    },
  };
}

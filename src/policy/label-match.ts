/**
 * Kubernetes label selectors in their object form (`matchLabels` and `matchExpressions`, as in a
 * Deployment's selector or a NetworkPolicy's namespaceSelector), compiled to a predicate. The
 * semantics are the API server's: every requirement must hold; `NotIn` and `DoesNotExist` hold
 * when the label is absent.
 *
 * @module
 */
import type { LabelSelectorSpec } from './document.js';

/** Labels of an object. */
export type Labels = Readonly<Record<string, string>>;

/** A compiled label selector. */
export type LabelPredicate = (labels: Labels) => boolean;

/** Compiles a selector; an empty one would match everything, but the schema refuses those. */
export function compileLabelSelector(selector: LabelSelectorSpec): LabelPredicate {
  const requirements: LabelPredicate[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    requirements.push((labels) => labels[key] === value);
  }
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    const set = new Set(values);
    switch (operator) {
      case 'In':
        requirements.push((labels) => labels[key] !== undefined && set.has(labels[key]));
        break;
      case 'NotIn':
        requirements.push((labels) => labels[key] === undefined || !set.has(labels[key]));
        break;
      case 'Exists':
        requirements.push((labels) => Object.hasOwn(labels, key));
        break;
      case 'DoesNotExist':
        requirements.push((labels) => !Object.hasOwn(labels, key));
        break;
    }
  }
  return (labels) => requirements.every((requirement) => requirement(labels));
}

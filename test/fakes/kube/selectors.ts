/**
 * Field and label selectors as the fake API server applies them to lists and watches.
 */
import { LabelSelector } from '../../../src/kube/index.js';
import type { FakeObject } from './store.js';

/** Whether an object is selected by a list or watch. */
export type ObjectFilter = (object: FakeObject) => boolean;

/**
 * `fieldSelector` (`metadata.name=x,status.phase!=Failed`: `=`, `==`, `!=` on dotted paths) and
 * `labelSelector` (the full `kubectl -l` grammar), ANDed, plus the namespace of the request path.
 *
 * @throws `Error` for a selector the fake cannot read (the real server answers 400 too).
 */
export function objectFilter(
  namespace: string | undefined,
  fieldSelector: string | null,
  labelSelector: string | null,
): ObjectFilter {
  const fields = (fieldSelector ?? '')
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map(parseFieldRequirement);
  const labels = new LabelSelector(labelSelector ?? '');
  return (object) =>
    (namespace === undefined || object.metadata?.namespace === namespace) &&
    fields.every((requirement) => requirement(object)) &&
    labels.matches(object.metadata?.labels);
}

function parseFieldRequirement(part: string): ObjectFilter {
  const match = /^([A-Za-z0-9.]+)\s*(==|=|!=)\s*(.*)$/.exec(part);
  if (match === null) throw new Error(`"${part}" is not a field selector requirement`);
  const [, path = '', operator, value = ''] = match;
  return (object) => {
    const actual = fieldValue(object, path);
    return operator === '!=' ? actual !== value : actual === value;
  };
}

/** The string at a dotted path of `object` (`''` when absent, as the API server compares). */
function fieldValue(object: FakeObject, path: string): string {
  let current: unknown = object;
  for (const segment of path.split('.')) {
    if (typeof current !== 'object' || current === null) return '';
    current = (current as Record<string, unknown>)[segment];
  }
  return typeof current === 'string' ? current : '';
}

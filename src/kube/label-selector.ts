/**
 * Kubernetes label selectors (the string form of `kubectl -l`), evaluated locally so that a
 * controller can notice an object leaving its selection: equality (`k=v`, `k==v`, `k!=v`),
 * set (`k in (a,b)`, `k notin (a,b)`) and existence (`k`, `!k`) requirements, comma-separated
 * and ANDed.
 *
 * @module
 */

type Requirement = (labels: Readonly<Record<string, string>>) => boolean;

const KEY = '[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?';
const VALUE = '([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?';

/** A parsed selector. */
export class LabelSelector {
  readonly text: string;
  readonly #requirements: readonly Requirement[];

  /**
   * @throws `Error` naming the part that is not a valid requirement.
   */
  constructor(text: string) {
    this.text = text.trim();
    this.#requirements = splitRequirements(this.text).map(parseRequirement);
  }

  /** True when `labels` satisfy every requirement (an empty selector matches everything). */
  matches(labels: Readonly<Record<string, string>> | undefined): boolean {
    const actual = labels ?? {};
    return this.#requirements.every((requirement) => requirement(actual));
  }
}

function splitRequirements(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of text) {
    if (char === '(') depth++;
    if (char === ')') depth--;
    if (char === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  if (current.trim() !== '' || parts.length > 0) parts.push(current);
  return parts.map((part) => part.trim()).filter((part) => part !== '');
}

function parseRequirement(part: string): Requirement {
  let match = new RegExp(`^(${KEY})\\s*(==|=|!=)\\s*(${VALUE})$`).exec(part);
  if (match) {
    const [, key = '', , operator, value = ''] = match;
    return operator === '!='
      ? (labels) => labels[key] !== value
      : (labels) => labels[key] === value;
  }
  match = new RegExp(`^(${KEY})\\s+(in|notin)\\s*\\(([^)]*)\\)$`).exec(part);
  if (match) {
    const [, key = '', , operator, list = ''] = match;
    const values = new Set(list.split(',').map((value) => value.trim()));
    return operator === 'in'
      ? (labels) => labels[key] !== undefined && values.has(labels[key])
      : (labels) => labels[key] === undefined || !values.has(labels[key]);
  }
  match = new RegExp(`^(!?)\\s*(${KEY})$`).exec(part);
  if (match) {
    const [, negated, key = ''] = match;
    return negated ? (labels) => !(key in labels) : (labels) => key in labels;
  }
  throw new Error(`"${part}" is not a label selector requirement`);
}

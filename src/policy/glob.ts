/**
 * Globs over names (`team-*`, `shop/*`, `*` / `?`), compiled once when a policy loads: exact names
 * go into a set, the few real patterns become anchored regular expressions. `*` matches any run
 * of characters except `/` (so `*` never crosses from a namespace into a service account), `?`
 * one such character.
 *
 * @module
 */

/** A compiled list of globs: matches when any of them does. */
export class GlobList {
  /** The globs as written. */
  readonly patterns: readonly string[];
  readonly #exact: ReadonlySet<string>;
  readonly #wildcards: readonly RegExp[];
  /** True when one glob is `*` (or `*` in every segment): everything matches. */
  readonly matchesEverything: boolean;

  constructor(patterns: readonly string[]) {
    this.patterns = patterns;
    const exact = new Set<string>();
    const wildcards: RegExp[] = [];
    for (const pattern of patterns) {
      if (isLiteral(pattern)) exact.add(pattern);
      else wildcards.push(globToRegExp(pattern));
    }
    this.#exact = exact;
    this.#wildcards = wildcards;
    this.matchesEverything = patterns.some((pattern) =>
      pattern.split('/').every((segment) => /^\*+$/.test(segment)),
    );
  }

  /** True when `value` matches one of the globs. */
  matches(value: string): boolean {
    if (this.#exact.has(value)) return true;
    for (const regex of this.#wildcards) if (regex.test(value)) return true;
    return false;
  }

  /**
   * True when every name that `other` matches is matched here too. Conservative: when it cannot
   * tell (two different wildcard patterns), it says false.
   */
  covers(other: GlobList): boolean {
    return other.patterns.every((pattern) => this.#coversPattern(pattern));
  }

  /**
   * False only when no name can match both lists. Conservative: two wildcard patterns are
   * presumed to overlap.
   */
  overlaps(other: GlobList): boolean {
    return other.patterns.some((pattern) =>
      this.patterns.some((mine) => globsOverlap(mine, pattern)),
    );
  }

  #coversPattern(pattern: string): boolean {
    if (this.matchesEverything) return true;
    if (isLiteral(pattern)) return this.matches(pattern);
    if (this.patterns.includes(pattern)) return true;
    // `ns/*` covers `ns/web-*`: compare segment by segment.
    return this.patterns.some((mine) => {
      const a = mine.split('/');
      const b = pattern.split('/');
      return (
        a.length === b.length &&
        a.every(
          (segment, index) =>
            /^\*+$/.test(segment) ||
            segment === b[index] ||
            (isLiteral(b[index] ?? '') && globToRegExp(segment).test(b[index] ?? '')),
        )
      );
    });
  }
}

/** True when `pattern` has no wildcard. */
export function isLiteral(pattern: string): boolean {
  return !pattern.includes('*') && !pattern.includes('?');
}

function globsOverlap(a: string, b: string): boolean {
  if (isLiteral(a) && isLiteral(b)) return a === b;
  if (isLiteral(a)) return globToRegExp(b).test(a);
  if (isLiteral(b)) return globToRegExp(a).test(b);
  // Segment-wise: two literal segments that differ can never meet.
  const sa = a.split('/');
  const sb = b.split('/');
  if (sa.length !== sb.length) return false;
  return sa.every((segment, index) => {
    const other = sb[index] ?? '';
    if (isLiteral(segment) && isLiteral(other)) return segment === other;
    if (isLiteral(segment)) return globToRegExp(other).test(segment);
    if (isLiteral(other)) return globToRegExp(segment).test(other);
    return true;
  });
}

function globToRegExp(pattern: string): RegExp {
  let source = '';
  for (const char of pattern) {
    if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else source += char.replace(/[.+^${}()|[\]\\-]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

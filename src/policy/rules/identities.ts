/**
 * `identities`: which `<namespace>/<service-account>` identities a rule lets through. `deny`
 * refuses the identities it matches; `allow` refuses every identity it does not match. Both are
 * globs (`kube-system/*`, `*\/default`), matched against the subject: the caller's own identity,
 * or the one ztunnel asks for.
 *
 * @module
 */
import type { Constraint } from '../context.js';
import { GlobList } from '../glob.js';

/** The `identities` constraint of a rule. */
export function identitiesConstraint(spec: {
  readonly allow?: readonly string[] | undefined;
  readonly deny?: readonly string[] | undefined;
}): Constraint {
  const allow = spec.allow === undefined ? undefined : new GlobList(spec.allow);
  const deny = spec.deny === undefined ? undefined : new GlobList(spec.deny);
  return {
    kind: 'identities',
    needs: {},
    check({ subjectKey }) {
      if (deny?.matches(subjectKey) === true) return `identity ${subjectKey} is denied`;
      if (allow !== undefined && !allow.matches(subjectKey)) {
        return `identity ${subjectKey} is not among the allowed identities`;
      }
      return undefined;
    },
  };
}

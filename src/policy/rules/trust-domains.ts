/**
 * `trustDomains`: the trust domains a rule lets identities be issued in (meshca issues in its
 * configured trust domain; a policy pins it, so that a replica configured with another one is
 * refused rather than trusted).
 *
 * @module
 */
import type { Constraint } from '../context.js';

/** The `trustDomains` constraint of a rule. */
export function trustDomainsConstraint(trustDomains: readonly string[]): Constraint {
  const allowed = new Set(trustDomains);
  return {
    kind: 'trustDomains',
    needs: {},
    check({ request }) {
      const { trustDomain } = request.subject;
      return allowed.has(trustDomain) ? undefined : `trust domain ${trustDomain} is not allowed`;
    },
  };
}

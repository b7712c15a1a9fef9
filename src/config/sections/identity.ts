/**
 * Validation of the "Identity" settings: the trust domain and this cluster's names.
 *
 * @module
 */
import { isValidTrustDomain, sanitizeTrustDomain } from '../../identity/index.js';
import type { Config } from '../types.js';
import type { SectionContext } from './context.js';

/** The trust domain (as istiod reads it) and the local cluster. */
export function identitySection(context: SectionContext): Pick<Config, 'trustDomain' | 'cluster'> {
  const { settings: s, problem } = context;
  const trustDomain = sanitizeTrustDomain(s.trustDomain);
  if (!isValidTrustDomain(trustDomain)) {
    problem(
      'trustDomain',
      `"${s.trustDomain}" is not a valid SPIFFE trust domain (lowercase letters, digits, . - _)`,
    );
  }
  if (s.clusterId === '') problem('clusterId', 'must not be empty');
  return { trustDomain, cluster: { id: s.clusterId, aliases: s.clusterAliases } };
}

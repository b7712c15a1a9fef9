/**
 * Validation of the "Issuance" settings: lifetimes and key rules of workload certificates.
 *
 * @module
 */
import type { Config } from '../types.js';
import { wholeSeconds, type SectionContext } from './context.js';

/** The largest RSA modulus meshca signs: Go's crypto/tls refuses larger keys in peers' chains (CVE-2023-29409). */
const MAX_RSA_BITS = 8192;

/** TTL limits (`minTtl <= defaultTtl <= maxTtl`) and the key policy. */
export function issuanceSection(context: SectionContext): Pick<Config, 'ttl' | 'keyPolicy'> {
  const { settings: s, problem } = context;
  const ttl = {
    defaultTtlSeconds: wholeSeconds(context, 'defaultTtl'),
    maxTtlSeconds: wholeSeconds(context, 'maxTtl'),
    minTtlSeconds: wholeSeconds(context, 'minTtl'),
    backdateSeconds: wholeSeconds(context, 'backdate'),
  };
  if (ttl.minTtlSeconds < 10) problem('minTtl', 'must be at least 10s');
  if (ttl.defaultTtlSeconds < ttl.minTtlSeconds) problem('defaultTtl', `must be at least minTtl`);
  if (ttl.maxTtlSeconds < ttl.defaultTtlSeconds) problem('maxTtl', `must be at least defaultTtl`);
  if (ttl.backdateSeconds > 3600) problem('backdate', 'must be at most 1h');
  if (s.minRsaBits < 2048) problem('minRsaBits', 'must be at least 2048');
  return {
    ttl,
    keyPolicy: {
      minRsaBits: s.minRsaBits,
      maxRsaBits: MAX_RSA_BITS,
      allowedCurves: ['P-256', 'P-384'],
    },
  };
}

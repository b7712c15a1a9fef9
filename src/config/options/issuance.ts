/**
 * Settings of `meshca serve`, group "Issuance": Lifetimes and key rules of workload certificates.
 *
 * @module
 */
import type { OptionTable } from './option.js';

/** Keys, kinds, defaults and help; the order is the help order. */
export const ISSUANCE_OPTIONS = {
  defaultTtl: {
    group: 'Issuance',
    kind: 'duration',
    default: '24h',
    help: 'Workload certificate lifetime when the request asks for none (validity_duration <= 0).',
  },
  maxTtl: {
    group: 'Issuance',
    kind: 'duration',
    default: '24h',
    help: 'Longest workload certificate; longer requests are clamped to it.',
  },
  minTtl: {
    group: 'Issuance',
    kind: 'duration',
    default: '10m',
    help: 'Shortest workload certificate (at least 10s); shorter requests are raised to it.',
  },
  backdate: {
    group: 'Issuance',
    kind: 'duration',
    default: '2m',
    help: 'How far notBefore is set in the past, for clock skew (istiod: 2m).',
  },
  minRsaBits: {
    group: 'Issuance',
    kind: 'integer',
    default: 2048,
    help: 'Smallest RSA key accepted in a CSR (at least 2048).',
  },
} as const satisfies OptionTable;

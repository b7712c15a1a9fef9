/**
 * Workload identity names (SPIFFE IDs) shared by authentication, CSR validation and signing.
 *
 * @module
 */
export type { SpiffeId } from './spiffe-id.js';
export {
  isDnsLabel,
  isDnsSubdomain,
  isValidTrustDomain,
  parseWorkloadSpiffeId,
  sanitizeTrustDomain,
  workloadSpiffeId,
} from './spiffe-id.js';

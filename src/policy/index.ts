/**
 * Issuance decisions: the decision seam and meshca's own lifetime limits.
 *
 * @module
 */
export type {
  Decision,
  DecisionKey,
  DecisionRequest,
  IssuanceDecider,
  TtlAdjustment,
} from './decision.js';
export type { TtlChoice, TtlOptions } from './ttl.js';
export { SERVER_LAYER, TTL_RULE, TtlPolicy } from './ttl.js';

/**
 * Issuance policy: the rules that decide what a certificate looks like (validity today; the
 * layered central/local policy of GOVERNANCE.md builds on this folder).
 *
 * @module
 */
export type { TtlAdjustment, TtlOptions, ValidityWindow } from './ttl.js';
export { TtlPolicy } from './ttl.js';

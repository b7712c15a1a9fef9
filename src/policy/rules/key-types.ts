/**
 * `keyTypes`: the key types a rule accepts in the CSR, among RSA-2048/3072/4096 and
 * ECDSA-P256/P384. An RSA key of another size (the CSR rules accept up to 8192 bits) is none of
 * them, so a rule with `keyTypes` refuses it.
 *
 * @module
 */
import type { Constraint } from '../context.js';
import type { DecisionKey } from '../decision.js';
import type { KeyType } from '../document.js';

/** The policy key type of a CSR key, or undefined when it is none of {@link KeyType}. */
export function keyTypeOf(key: DecisionKey): KeyType | undefined {
  if (key.algorithm === 'EC') {
    if (key.curve === 'P-256') return 'ECDSA-P256';
    if (key.curve === 'P-384') return 'ECDSA-P384';
    return undefined;
  }
  if (key.bits === 2048) return 'RSA-2048';
  if (key.bits === 3072) return 'RSA-3072';
  if (key.bits === 4096) return 'RSA-4096';
  return undefined;
}

/** The `keyTypes` constraint of a rule. */
export function keyTypesConstraint(keyTypes: readonly KeyType[]): Constraint {
  const allowed = new Set(keyTypes);
  // The allowed list comes from the policy (at most five values), never from the request.
  const reason = `key type not allowed (allowed: ${[...allowed].join(', ')})`;
  return {
    kind: 'keyTypes',
    needs: {},
    check({ keyType }) {
      return keyType !== undefined && allowed.has(keyType) ? undefined : reason;
    },
  };
}

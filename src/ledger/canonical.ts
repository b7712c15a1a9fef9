/**
 * The canonical serialization and hash of chained records. The hash covers every field of the
 * record but the hash itself, in a form that does not depend on key order or on how a database
 * reformats JSON, so that the verifier recomputes exactly what the writer computed.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import type { ChainedRecord, JsonValue } from './records.js';

/** The previous hash of a chain's first record. */
export const ZERO_HASH = '0'.repeat(64);

/** Domain separation: a ledger hash is never the hash of anything else. */
const HASH_PREFIX = 'meshca-ledger-v1\n';

/**
 * JSON with object keys sorted (by UTF-16 code units), no whitespace, and `undefined` members
 * left out; numbers must be finite.
 *
 * @throws TypeError for a non-finite number or a value JSON cannot carry.
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`not a finite number: ${value}`);
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) {
          out += (i === 0 ? '' : ',') + canonicalJson(value[i]);
        }
        return `${out}]`;
      }
      const object = value as Record<string, unknown>;
      // Default sort compares UTF-16 code units, as the canonical form requires.
      const keys = Object.keys(object).sort();
      let out = '{';
      let first = true;
      for (const key of keys) {
        const member = object[key];
        if (member === undefined) continue;
        out += `${first ? '' : ','}${JSON.stringify(key)}:${canonicalJson(member)}`;
        first = false;
      }
      return `${out}}`;
    }
    default:
      throw new TypeError(`not a JSON value: ${typeof value}`);
  }
}

/** The fields a record's hash covers. */
export type HashedFields = Omit<ChainedRecord, 'hash'>;

/** SHA-256 (hex) of a record: its canonical form, which includes its previous hash. */
export function recordHash(record: HashedFields): string {
  const canonical = canonicalJson({
    body: record.body as unknown as JsonValue,
    chainId: record.chainId,
    keepUntil: record.keepUntil,
    prevHash: record.prevHash,
    sequence: record.sequence,
    time: record.time,
    writer: record.writer,
  });
  return createHash('sha256').update(HASH_PREFIX).update(canonical).digest('hex');
}

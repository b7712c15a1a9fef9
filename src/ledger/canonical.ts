/**
 * The canonical serialization and hash of chained records. The hash covers every field of the
 * record but the hash itself, in a form that does not depend on key order or on how a database
 * reformats JSON, so that the verifier recomputes exactly what the writer computed.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import type { ChainedRecord, RecordBody } from './records.js';

/** The previous hash of a chain's first record. */
export const ZERO_HASH = '0'.repeat(64);

/** Domain separation: a ledger hash is never the hash of anything else. */
const HASH_PREFIX = 'meshca-ledger-v1\n';

/**
 * JSON with object keys sorted (by UTF-16 code units), no whitespace, and `undefined` members
 * left out; numbers must be finite.
 *
 * Values already in canonical order (plain objects whose keys are sorted, finite numbers, no
 * `undefined` in arrays: the record bodies meshca builds) are serialized by `JSON.stringify`,
 * which then writes exactly the canonical form, several times faster; anything else takes the
 * sorting path.
 *
 * @throws TypeError for a non-finite number or a value JSON cannot carry.
 */
export function canonicalJson(value: unknown): string {
  return inCanonicalOrder(value) ? JSON.stringify(value) : sortedJson(value);
}

/** True when `JSON.stringify(value)` is already its canonical form. */
function inCanonicalOrder(value: unknown): boolean {
  if (value === null) return true;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object': {
      if (Array.isArray(value)) {
        for (const item of value as unknown[]) {
          if (item === undefined || !inCanonicalOrder(item)) return false;
        }
        return true;
      }
      const prototype: unknown = Object.getPrototypeOf(value);
      if (prototype !== Object.prototype && prototype !== null) return false;
      const object = value as Record<string, unknown>;
      let previous: string | undefined;
      for (const key in object) {
        if (previous !== undefined && previous >= key) return false;
        previous = key;
        const member = object[key];
        if (member !== undefined && !inCanonicalOrder(member)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

/** The canonical form built member by member, object keys sorted. */
function sortedJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`not a finite number: ${value}`);
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) {
          out += (i === 0 ? '' : ',') + sortedJson(value[i]);
        }
        return `${out}]`;
      }
      const object = value as Record<string, unknown>;
      // The default sort compares UTF-16 code units, as the canonical form requires.
      const keys = Object.keys(object).sort();
      let out = '{';
      let first = true;
      for (const key of keys) {
        const member = object[key];
        if (member === undefined) continue;
        out += `${first ? '' : ','}${quotedKey(key)}:${sortedJson(member)}`;
        first = false;
      }
      return `${out}}`;
    }
    default:
      throw new TypeError(`not a JSON value: ${typeof value}`);
  }
}

/** Record bodies use a few dozen keys: their JSON form is kept (bounded, for odd keys). */
const QUOTED_KEYS = new Map<string, string>();

function quotedKey(key: string): string {
  let quoted = QUOTED_KEYS.get(key);
  if (quoted === undefined) {
    quoted = JSON.stringify(key);
    if (QUOTED_KEYS.size < 1024) QUOTED_KEYS.set(key, quoted);
  }
  return quoted;
}

/**
 * The canonical JSON of a record body, computed once per body object: the hash (on the issuance
 * path) and the database's body column (in the writer) use the same string.
 */
const BODIES = new WeakMap<RecordBody, string>();

/** {@link canonicalJson} of a record body, remembered for the body object. */
export function canonicalBody(body: RecordBody): string {
  let canonical = BODIES.get(body);
  if (canonical === undefined) {
    canonical = canonicalJson(body);
    BODIES.set(body, canonical);
  }
  return canonical;
}

/** The fields a record's hash covers. */
export type HashedFields = Omit<ChainedRecord, 'hash'>;

/** SHA-256 (hex) of a record: its canonical form, which includes its previous hash. */
export function recordHash(record: HashedFields): string {
  // canonicalJson of {body, chainId, keepUntil, prevHash, sequence, time, writer}, its keys in
  // order, with the body's canonical form reused.
  const canonical =
    `{"body":${canonicalBody(record.body)},"chainId":${canonicalJson(record.chainId)},` +
    `"keepUntil":${canonicalJson(record.keepUntil)},"prevHash":${canonicalJson(record.prevHash)},` +
    `"sequence":${canonicalJson(record.sequence)},"time":${canonicalJson(record.time)},` +
    `"writer":${canonicalJson(record.writer)}}`;
  return createHash('sha256').update(HASH_PREFIX).update(canonical).digest('hex');
}

/**
 * The few DER encodings the issuance hot path needs, written directly so that a leaf certificate
 * is a concatenation of precomputed bytes and a handful of small TLVs (X.690 §8, §10).
 * Everything built once (names, algorithm identifiers, fixed extensions) uses asn1js instead.
 *
 * @module
 */

/** X.690 universal tags used here. */
export const TAG_BOOLEAN = 0x01;
export const TAG_INTEGER = 0x02;
export const TAG_BIT_STRING = 0x03;
export const TAG_OCTET_STRING = 0x04;
export const TAG_OID = 0x06;
export const TAG_UTC_TIME = 0x17;
export const TAG_GENERALIZED_TIME = 0x18;
export const TAG_SEQUENCE = 0x30;
export const TAG_SET = 0x31;
/** Context-specific, constructed `[n]` (EXPLICIT tagging). */
export const contextConstructed = (n: number): number => 0xa0 | n;
/** Context-specific, primitive `[n]` (IMPLICIT tagging of a primitive type). */
export const contextPrimitive = (n: number): number => 0x80 | n;

/** X.690 §8.1.3: definite-length octets for `length`. */
export function encodeLength(length: number): Buffer {
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new TypeError(`invalid DER length ${length}`);
  }
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One tag-length-value element whose value is the concatenation of `parts`. */
export function tlv(tag: number, ...parts: readonly Uint8Array[]): Buffer {
  const body = parts.length === 1 && parts[0] !== undefined ? parts[0] : Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), encodeLength(body.length), body]);
}

/**
 * A non-negative INTEGER from big-endian magnitude bytes (X.690 §8.3: minimal two's complement,
 * so leading zero bytes are dropped and one is added when the top bit is set).
 */
export function unsignedInteger(magnitude: Uint8Array): Buffer {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const trimmed = magnitude.subarray(start);
  const first = trimmed[0] ?? 0;
  return first >= 0x80 || trimmed.length === 0
    ? tlv(TAG_INTEGER, Buffer.from([0]), trimmed)
    : tlv(TAG_INTEGER, trimmed);
}

const pad2 = (n: number): string => String(n).padStart(2, '0');

/**
 * RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050, always in UTC with
 * whole seconds (fractions are truncated).
 */
export function x509Time(at: Date): Buffer {
  const year = at.getUTCFullYear();
  const rest =
    pad2(at.getUTCMonth() + 1) +
    pad2(at.getUTCDate()) +
    pad2(at.getUTCHours()) +
    pad2(at.getUTCMinutes()) +
    pad2(at.getUTCSeconds()) +
    'Z';
  if (year >= 1950 && year < 2050) {
    return tlv(TAG_UTC_TIME, Buffer.from(pad2(year % 100) + rest, 'latin1'));
  }
  return tlv(TAG_GENERALIZED_TIME, Buffer.from(String(year).padStart(4, '0') + rest, 'latin1'));
}

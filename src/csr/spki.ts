/**
 * SubjectPublicKeyInfo (RFC 5280 §4.1.2.7) read strictly with the DER reader, for two reasons:
 *
 * - Only canonical keys may be copied into certificates, as Go and rustls refuse anything else:
 *   RSA as RFC 8017 §A.1.1 (NULL parameters, minimal positive INTEGERs), EC as RFC 5480 §2
 *   (a named curve, never explicit parameters; an uncompressed point, which is what Go accepts).
 * - Speed on the hot path: OpenSSL 3's DER decoder costs ~110-140 µs of main-thread time per key,
 *   importing the same key from its JWK components 70 µs (EC) or 4 µs (RSA) (`npm run bench`).
 *
 * @module
 */
import {
  DerError,
  DerReader,
  TAG_BIT_STRING,
  TAG_INTEGER,
  TAG_OID,
  TAG_SEQUENCE,
  decodeOid,
} from '../asn1/index.js';
import {
  OID_CURVE_P256,
  OID_CURVE_P384,
  OID_EC_PUBLIC_KEY,
  OID_RSA_ENCRYPTION,
} from '../asn1/index.js';

/** A public key, by its parts. */
export type SpkiKey =
  | {
      readonly kind: 'rsa';
      readonly modulus: Buffer;
      readonly exponent: Buffer;
      readonly bits: number;
    }
  | { readonly kind: 'ec'; readonly curve: string; readonly x: Buffer; readonly y: Buffer }
  | { readonly kind: 'other'; readonly algorithm: string };

/** Names of curves and algorithms meshca does not accept, for its messages. */
const CURVE_NAMES: Readonly<Record<string, string>> = {
  [OID_CURVE_P256]: 'P-256',
  [OID_CURVE_P384]: 'P-384',
  '1.3.132.0.35': 'secp521r1',
  '1.3.132.0.33': 'secp224r1',
  '1.3.132.0.10': 'secp256k1',
  '1.2.840.10045.3.1.1': 'prime192v1',
};
const ALGORITHM_NAMES: Readonly<Record<string, string>> = {
  '1.2.840.113549.1.1.10': 'rsa-pss',
  '1.3.101.112': 'ed25519',
  '1.3.101.113': 'ed448',
  '1.3.101.110': 'x25519',
  '1.3.101.111': 'x448',
  '1.2.840.10040.4.1': 'dsa',
  '1.2.840.10046.2.1': 'dh',
};
const COORDINATE_BYTES: Readonly<Record<string, number>> = { 'P-256': 32, 'P-384': 48 };

/**
 * @throws {@link DerError} when the encoding is not the canonical one.
 */
export function parseSpki(der: Buffer): SpkiKey {
  const top = new DerReader(der);
  const spki = top.inside(top.expect(TAG_SEQUENCE, 'SubjectPublicKeyInfo'));
  top.end('SubjectPublicKeyInfo');
  const algorithm = spki.inside(spki.expect(TAG_SEQUENCE, 'algorithm'));
  const oid = decodeOid(algorithm.value(algorithm.expect(TAG_OID, 'algorithm id')));
  const bits = spki.value(spki.expect(TAG_BIT_STRING, 'subjectPublicKey'));
  spki.end('SubjectPublicKeyInfo');
  if (bits[0] !== 0) throw new DerError('subjectPublicKey has unused bits');
  const key = bits.subarray(1);

  if (oid === OID_RSA_ENCRYPTION) {
    const parameters = algorithm.next('RSA parameters');
    if (parameters.tag !== 0x05 || parameters.end !== parameters.start) {
      throw new DerError('RSA parameters must be NULL');
    }
    algorithm.end('algorithm');
    const reader = new DerReader(key);
    const fields = reader.inside(reader.expect(TAG_SEQUENCE, 'RSAPublicKey'));
    reader.end('RSAPublicKey');
    const modulus = positiveInteger(fields.value(fields.expect(TAG_INTEGER, 'modulus')));
    const exponent = positiveInteger(fields.value(fields.expect(TAG_INTEGER, 'publicExponent')));
    fields.end('RSAPublicKey');
    const first = modulus[0] ?? 0;
    return { kind: 'rsa', modulus, exponent, bits: modulus.length * 8 - Math.clz32(first) + 24 };
  }
  if (oid === OID_EC_PUBLIC_KEY) {
    if (algorithm.peekTag() !== TAG_OID) {
      throw new DerError('EC parameters must name a curve (RFC 5480: no explicit parameters)');
    }
    const curveOid = decodeOid(algorithm.value(algorithm.next('namedCurve')));
    algorithm.end('algorithm');
    const curve = CURVE_NAMES[curveOid] ?? curveOid;
    const size = COORDINATE_BYTES[curve];
    if (size === undefined) return { kind: 'ec', curve, x: Buffer.alloc(0), y: Buffer.alloc(0) };
    if (key.length !== 1 + 2 * size || key[0] !== 0x04) {
      throw new DerError('EC point must be uncompressed (0x04 || X || Y)');
    }
    return { kind: 'ec', curve, x: key.subarray(1, 1 + size), y: key.subarray(1 + size) };
  }
  return { kind: 'other', algorithm: ALGORITHM_NAMES[oid] ?? oid };
}

/** The magnitude of a DER INTEGER that must be positive and minimally encoded (X.690 §8.3.2). */
function positiveInteger(value: Buffer): Buffer {
  const first = value[0];
  if (first === undefined) throw new DerError('empty INTEGER');
  if (first >= 0x80) throw new DerError('negative INTEGER');
  if (first === 0x00) {
    if (value.length === 1) throw new DerError('zero INTEGER');
    if ((value[1] ?? 0) < 0x80) throw new DerError('INTEGER is not minimally encoded');
    return value.subarray(1);
  }
  return value;
}

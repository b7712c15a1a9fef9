/**
 * Strict SubjectPublicKeyInfo reading: canonical RSA and named-curve EC keys, as Node itself
 * encodes them, are read exactly; every non-canonical encoding that Go or rustls would refuse in
 * a certificate is refused here.
 */
import { generateKeyPairSync } from 'node:crypto';
import {
  OID_CURVE_P256,
  OID_EC_PUBLIC_KEY,
  OID_RSA_ENCRYPTION,
  TAG_BIT_STRING,
  TAG_INTEGER,
  TAG_SEQUENCE,
  tlv,
} from '../../src/asn1/index.js';
import * as asn1js from 'asn1js';
import { parseSpki } from '../../src/csr/spki.js';
import { rsaSpki } from './fixtures.js';

const oid = (value: string): Buffer =>
  Buffer.from(new asn1js.ObjectIdentifier({ value }).toBER(false));

describe('parseSpki reads', () => {
  it.each([2048, 3072, 4096])('an RSA-%i key as Node encodes it', (modulusLength) => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength });
    const key = parseSpki(publicKey.export({ type: 'spki', format: 'der' }));
    const jwk = publicKey.export({ format: 'jwk' });
    expect(key).toMatchObject({ kind: 'rsa', bits: modulusLength });
    if (key.kind !== 'rsa') throw new Error('not RSA');
    expect(key.modulus.toString('base64url')).toBe(jwk.n);
    expect(key.exponent.toString('base64url')).toBe(jwk.e);
  });

  it.each([2047, 2049, 8191])('the exact size of a %i-bit modulus', (bits) => {
    expect(parseSpki(rsaSpki(bits, 65537n))).toMatchObject({ kind: 'rsa', bits });
  });

  it.each([
    ['P-256', 'prime256v1'],
    ['P-384', 'secp384r1'],
  ])('an EC %s key as Node encodes it', (curve, namedCurve) => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve });
    const key = parseSpki(publicKey.export({ type: 'spki', format: 'der' }));
    const jwk = publicKey.export({ format: 'jwk' });
    expect(key).toMatchObject({ kind: 'ec', curve });
    if (key.kind !== 'ec') throw new Error('not EC');
    expect(key.x.toString('base64url')).toBe(jwk.x);
    expect(key.y.toString('base64url')).toBe(jwk.y);
  });

  it.each([
    ['secp521r1', 'secp521r1'],
    ['secp256k1', 'secp256k1'],
  ])('the name of a curve it does not take (%s)', (namedCurve, name) => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve });
    expect(parseSpki(publicKey.export({ type: 'spki', format: 'der' }))).toMatchObject({
      kind: 'ec',
      curve: name,
    });
  });

  it.each([
    ['ed25519', () => generateKeyPairSync('ed25519').publicKey],
    ['rsa-pss', () => generateKeyPairSync('rsa-pss', { modulusLength: 2048 }).publicKey],
    ['x25519', () => generateKeyPairSync('x25519').publicKey],
  ])('other algorithms by name (%s)', (name, make) => {
    expect(parseSpki(make().export({ type: 'spki', format: 'der' }))).toEqual({
      kind: 'other',
      algorithm: name,
    });
  });
});

describe('parseSpki refuses', () => {
  const point = Buffer.concat([Buffer.from([0x04]), Buffer.alloc(64, 1)]);
  const ecSpki = (parameters: Buffer, key: Buffer): Buffer =>
    tlv(
      TAG_SEQUENCE,
      tlv(TAG_SEQUENCE, oid(OID_EC_PUBLIC_KEY), parameters),
      tlv(TAG_BIT_STRING, Buffer.from([0]), key),
    );
  const rsa = (parameters: Buffer[], modulus: Buffer, exponent = Buffer.from([1, 0, 1])): Buffer =>
    tlv(
      TAG_SEQUENCE,
      tlv(TAG_SEQUENCE, oid(OID_RSA_ENCRYPTION), ...parameters),
      tlv(
        TAG_BIT_STRING,
        Buffer.from([0]),
        tlv(TAG_SEQUENCE, tlv(TAG_INTEGER, modulus), tlv(TAG_INTEGER, exponent)),
      ),
    );
  const modulus = Buffer.concat([Buffer.from([0x00, 0xc0]), Buffer.alloc(255, 1)]);

  it.each<[string, () => Buffer, RegExp]>([
    [
      'EC explicit curve parameters',
      () => ecSpki(tlv(TAG_SEQUENCE, tlv(TAG_INTEGER, Buffer.from([1]))), point),
      /name a curve/,
    ],
    [
      'a compressed EC point',
      () => ecSpki(oid(OID_CURVE_P256), Buffer.concat([Buffer.from([0x02]), Buffer.alloc(32, 1)])),
      /uncompressed/,
    ],
    [
      'an EC point of the wrong length',
      () => ecSpki(oid(OID_CURVE_P256), point.subarray(0, 60)),
      /uncompressed/,
    ],
    ['RSA without NULL parameters', () => rsa([], modulus), /RSA parameters: missing/],
    ['RSA with other parameters', () => rsa([oid(OID_CURVE_P256)], modulus), /NULL/],
    [
      'a negative modulus',
      () => rsa([Buffer.from([5, 0])], Buffer.concat([Buffer.from([0xc0]), Buffer.alloc(255, 1)])),
      /negative/,
    ],
    [
      'a modulus with a superfluous leading zero',
      () =>
        rsa(
          [Buffer.from([5, 0])],
          Buffer.concat([Buffer.from([0x00, 0x40]), Buffer.alloc(255, 1)]),
        ),
      /minimally/,
    ],
    [
      'trailing bytes after the key',
      () => Buffer.concat([rsaSpki(2048, 65537n), Buffer.from([0])]),
      /trailing/,
    ],
    [
      'a BIT STRING with unused bits',
      () =>
        tlv(
          TAG_SEQUENCE,
          tlv(TAG_SEQUENCE, oid(OID_EC_PUBLIC_KEY), oid(OID_CURVE_P256)),
          tlv(TAG_BIT_STRING, Buffer.from([1]), point),
        ),
      /unused bits/,
    ],
    [
      'an algorithm that is not an OID',
      () =>
        tlv(
          TAG_SEQUENCE,
          tlv(TAG_SEQUENCE, tlv(TAG_INTEGER, Buffer.from([1]))),
          tlv(TAG_BIT_STRING, Buffer.from([0]), point),
        ),
      /expected tag 0x6/,
    ],
  ])('%s', (_name, make, message) => {
    expect(() => parseSpki(make())).toThrow(message);
  });
});

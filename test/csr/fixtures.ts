/**
 * Shared helpers of the CSR tests: expectations on refusals, third-party CSRs made by
 * `openssl req`, and surgery on CSR DER (re-assembling a request around another signature or
 * signature algorithm) for the cases no well-behaved builder produces.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as asn1js from 'asn1js';
import {
  OID_RSA_ENCRYPTION,
  PEM_CERTIFICATE_REQUEST,
  TAG_BIT_STRING,
  TAG_SEQUENCE,
  decodePem,
  encodePem,
  tlv,
  unsignedInteger,
} from '../../src/asn1/index.js';
import {
  PermissionDeniedError,
  type InvalidRequestError,
  type MeshCaError,
  type MeshCaErrorCode,
} from '../../src/errors.js';
import { tempDir } from '../support/tmp.js';

/** What a refusal must look like. */
export interface ExpectedRefusal {
  readonly errorClass: typeof InvalidRequestError | typeof PermissionDeniedError;
  readonly code: MeshCaErrorCode;
  /** Must match the message: the rule broken, in words. */
  readonly message: RegExp;
}

/**
 * Runs `action` and asserts it throws (or rejects with) the expected domain error, whose message
 * names the rule and is also what the client is told.
 */
export async function expectRefusal(
  action: () => unknown,
  { errorClass, code, message }: ExpectedRefusal,
): Promise<MeshCaError> {
  let caught: unknown;
  try {
    await action();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(errorClass);
  const error = caught as MeshCaError;
  expect(error.code).toBe(code);
  expect(error.kind).toBe(errorClass === PermissionDeniedError ? 'denied' : 'invalid');
  expect(error.message).toMatch(message);
  expect(error.clientMessage).toBe(error.message);
  return error;
}

/** Runs the openssl CLI and returns its stdout; throws with its stderr on failure. */
export function openssl(args: readonly string[], input?: string): string {
  return execFileSync('openssl', args, {
    encoding: 'utf8',
    input,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** A CSR made by `openssl req -new` for the PKCS#8 key, with the given subject and extensions. */
export function opensslCsr(
  privateKeyPem: string,
  subject: string,
  addext: readonly string[],
): string {
  const keyFile = join(tempDir('meshca-csr-'), 'key.pem');
  writeFileSync(keyFile, privateKeyPem, { mode: 0o600 });
  return openssl([
    'req',
    '-new',
    '-key',
    keyFile,
    '-subj',
    subject,
    ...addext.flatMap((extension) => ['-addext', extension]),
  ]);
}

/** A private key made by `openssl genpkey`, as PKCS#8 PEM. */
export function opensslKey(args: readonly string[]): string {
  return openssl(['genpkey', ...args]);
}

/** The DER of a one-block PEM text. */
export function pemDer(pem: string): Buffer {
  const [block] = decodePem(pem);
  if (block === undefined) throw new TypeError('no PEM block');
  return block.der;
}

/** Wraps DER as a CERTIFICATE REQUEST PEM block. */
export function csrPem(der: Uint8Array): string {
  return encodePem(PEM_CERTIFICATE_REQUEST, der);
}

/**
 * RFC 2986 §4.2: CertificationRequest ::= SEQUENCE { certificationRequestInfo,
 * signatureAlgorithm, signature BIT STRING }. Re-assembles a request from its signed part and
 * any algorithm and signature (the outer two are not covered by the signature).
 */
export function assembleCsrPem(
  infoDer: Uint8Array,
  signatureAlgorithm: string,
  signature: Uint8Array,
): string {
  const algorithm = new asn1js.Sequence({
    value: [new asn1js.ObjectIdentifier({ value: signatureAlgorithm })],
  }).toBER(false);
  return csrPem(
    tlv(
      TAG_SEQUENCE,
      infoDer,
      new Uint8Array(algorithm),
      tlv(TAG_BIT_STRING, Buffer.from([0]), signature),
    ),
  );
}

/** The CSR with one bit of the last signature byte flipped (still well-formed DER). */
export function tamperSignature(pem: string): string {
  const der = Buffer.from(pemDer(pem));
  der[der.length - 1] = (der[der.length - 1] ?? 0) ^ 0x01;
  return csrPem(der);
}

/** DER of an extKeyUsage value: SEQUENCE OF KeyPurposeId. */
export function extKeyUsageDer(...purposes: readonly string[]): Uint8Array {
  return new Uint8Array(
    new asn1js.Sequence({
      value: purposes.map((value) => new asn1js.ObjectIdentifier({ value })),
    }).toBER(false),
  );
}

/** DER of a keyUsage value from bit positions (RFC 5280 §4.2.1.3; bit 0 is the top bit). */
export function keyUsageDer(...bits: readonly number[]): Uint8Array {
  const bytes = new Uint8Array(2);
  for (const bit of bits) bytes[bit >> 3] = (bytes[bit >> 3] ?? 0) | (0x80 >> (bit & 7));
  const used = bits.some((bit) => bit >= 8) ? 2 : 1;
  return new Uint8Array(
    new asn1js.BitString({
      valueHex: bytes.slice(0, used),
      unusedBits: 0,
    }).toBER(false),
  );
}

/**
 * An RSA SubjectPublicKeyInfo (RFC 3279 §2.3.1) with a random odd modulus of exactly
 * `modulusBits` bits and the given public exponent. Not a usable key (the modulus is not a
 * product of two primes), but readable: it exercises the key policy without generating keys.
 */
export function rsaSpki(modulusBits: number, exponent: bigint): Buffer {
  const modulus = randomBytes(Math.ceil(modulusBits / 8));
  const spare = modulus.length * 8 - modulusBits;
  modulus[0] = (0x80 | (modulus[0] ?? 0)) >> spare;
  modulus[modulus.length - 1] = (modulus[modulus.length - 1] ?? 0) | 1;
  let hex = exponent.toString(16);
  if (hex.length % 2 === 1) hex = `0${hex}`;
  const rsaPublicKey = tlv(
    TAG_SEQUENCE,
    unsignedInteger(modulus),
    unsignedInteger(Buffer.from(hex, 'hex')),
  );
  const algorithm = new asn1js.Sequence({
    value: [new asn1js.ObjectIdentifier({ value: OID_RSA_ENCRYPTION }), new asn1js.Null()],
  }).toBER(false);
  return tlv(
    TAG_SEQUENCE,
    new Uint8Array(algorithm),
    tlv(TAG_BIT_STRING, Buffer.from([0]), rsaPublicKey),
  );
}

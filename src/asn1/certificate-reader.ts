/**
 * A fast reader of X.509 certificates (RFC 5280 §4.1) for bulk work: rogue-CA discovery parses
 * every certificate of a cluster, and building pkijs objects costs about a millisecond per
 * certificate (see `npm run bench`) where this strict DER walk costs a few microseconds plus
 * Node's own parse. It yields exactly what {@link parseCertificateDer} yields (a test compares
 * the two on many shapes of certificate); input that is BER rather than DER is refused, and
 * callers fall back to {@link parseCertificateDer}, which is lenient.
 *
 * @module
 */
import { X509Certificate, createHash } from 'node:crypto';
import type { ParsedCertificate } from './certificate.js';
import { DerError, DerReader, decodeOid, type DerElement } from './der-reader.js';
import {
  KEY_USAGE_KEY_CERT_SIGN,
  OID_BASIC_CONSTRAINTS,
  OID_KEY_USAGE,
  OID_RSASSA_PSS,
  OID_SHA1,
  OID_SUBJECT_KEY_IDENTIFIER,
} from './oids.js';
import { PEM_CERTIFICATE, encodePem } from './pem.js';

const SEQUENCE = 0x30;
const INTEGER = 0x02;
const BOOLEAN = 0x01;
const BIT_STRING = 0x03;
const OCTET_STRING = 0x04;
const OID = 0x06;
const VERSION = 0xa0;
const ISSUER_UNIQUE_ID = 0x81;
const SUBJECT_UNIQUE_ID = 0x82;
const EXTENSIONS = 0xa3;
const PSS_HASH = 0xa0;

/**
 * Reads one DER certificate.
 *
 * @throws {@link DerError} when the input is not strict DER of the expected structure;
 * `Error` from Node when OpenSSL cannot parse it.
 */
export function readCertificateDer(der: Buffer): ParsedCertificate {
  const top = new DerReader(der);
  const certificate = top.expect(SEQUENCE, 'Certificate');
  top.end('Certificate');
  const fields = top.inside(certificate);
  const tbs = fields.inside(fields.expect(SEQUENCE, 'tbsCertificate'));
  const signatureAlgorithm = fields.inside(fields.expect(SEQUENCE, 'signatureAlgorithm'));
  fields.expect(BIT_STRING, 'signatureValue');
  fields.end('Certificate');

  if (tbs.peekTag() === VERSION) tbs.next('version');
  tbs.expect(INTEGER, 'serialNumber');
  tbs.expect(SEQUENCE, 'signature');
  const issuer = tbs.expect(SEQUENCE, 'issuer');
  tbs.expect(SEQUENCE, 'validity');
  const subject = tbs.expect(SEQUENCE, 'subject');
  const spki = tbs.inside(tbs.expect(SEQUENCE, 'subjectPublicKeyInfo'));
  spki.expect(SEQUENCE, 'algorithm');
  const publicKey = spki.expect(BIT_STRING, 'subjectPublicKey');
  let extensions: DerReader | undefined;
  while (!tbs.done) {
    const element = tbs.next('tbsCertificate field');
    if (element.tag === EXTENSIONS) {
      const wrapper = tbs.inside(element);
      extensions = wrapper.inside(wrapper.expect(SEQUENCE, 'extensions'));
    } else if (element.tag !== ISSUER_UNIQUE_ID && element.tag !== SUBJECT_UNIQUE_ID) {
      throw new DerError(`tbsCertificate: unexpected tag 0x${element.tag.toString(16)}`);
    }
  }

  let isCa = false;
  let pathLength: number | undefined;
  let canSignCertificates: boolean | undefined;
  let keyIdentifier: Buffer | undefined;
  while (extensions !== undefined && !extensions.done) {
    const extension = extensions.inside(extensions.expect(SEQUENCE, 'Extension'));
    const oid = decodeOid(extension.value(extension.expect(OID, 'extnID')));
    if (extension.peekTag() === BOOLEAN) extension.next('critical');
    const value = extension.value(extension.expect(OCTET_STRING, 'extnValue'));
    const inner = new DerReader(value);
    if (oid === OID_BASIC_CONSTRAINTS) {
      const constraints = inner.inside(inner.expect(SEQUENCE, 'BasicConstraints'));
      if (constraints.peekTag() === BOOLEAN) {
        isCa = (constraints.value(constraints.next('cA'))[0] ?? 0) !== 0;
      }
      if (constraints.peekTag() === INTEGER) {
        pathLength = smallInteger(constraints.value(constraints.next('pathLenConstraint')));
      }
    } else if (oid === OID_KEY_USAGE) {
      canSignCertificates = hasBit(
        inner.value(inner.expect(BIT_STRING, 'KeyUsage')),
        KEY_USAGE_KEY_CERT_SIGN,
      );
    } else if (oid === OID_SUBJECT_KEY_IDENTIFIER) {
      keyIdentifier = Buffer.from(inner.value(inner.expect(OCTET_STRING, 'SubjectKeyIdentifier')));
    }
  }

  const signatureOid = decodeOid(
    signatureAlgorithm.value(signatureAlgorithm.expect(OID, 'signatureAlgorithm')),
  );
  const x509 = new X509Certificate(der);
  return {
    der,
    pem: encodePem(PEM_CERTIFICATE, der),
    x509,
    subjectDer: Buffer.from(top.encoding(subject)),
    issuerDer: Buffer.from(top.encoding(issuer)),
    // RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits (without the unused-bits octet).
    keyIdentifier:
      keyIdentifier ?? createHash('sha1').update(bitStringBytes(top, publicKey)).digest(),
    isCa,
    pathLength,
    canSignCertificates,
    notBefore: new Date(x509.validFrom),
    notAfter: new Date(x509.validTo),
    selfSigned: x509.checkIssued(x509) && x509.verify(x509.publicKey),
    sha256: createHash('sha256').update(der).digest('hex'),
    signatureAlgorithmOid: signatureOid,
    pssHashOid: signatureOid === OID_RSASSA_PSS ? pssHash(signatureAlgorithm) : undefined,
  };
}

/** The hashAlgorithm of RSASSA-PSS-params (RFC 4055 §3.1); SHA-1 when absent. */
function pssHash(algorithm: DerReader): string {
  if (algorithm.done) return OID_SHA1;
  const params = algorithm.next('RSASSA-PSS-params');
  if (params.tag !== SEQUENCE) return OID_SHA1;
  const fields = algorithm.inside(params);
  if (fields.peekTag() !== PSS_HASH) return OID_SHA1;
  const wrapper = fields.inside(fields.next('hashAlgorithm'));
  const hash = wrapper.inside(wrapper.expect(SEQUENCE, 'hashAlgorithm'));
  return decodeOid(hash.value(hash.expect(OID, 'hashAlgorithm')));
}

function bitStringBytes(reader: DerReader, element: DerElement): Buffer {
  return reader.value(element).subarray(1);
}

/** RFC 5280 §4.2.1.3 numbers KeyUsage bits from the most significant bit of the first octet. */
function hasBit(bitString: Buffer, bit: number): boolean {
  const byte = bitString[1 + (bit >> 3)] ?? 0;
  return (byte & (0x80 >> (bit & 7))) !== 0;
}

function smallInteger(value: Buffer): number {
  if (value.length === 0 || value.length > 4 || ((value[0] ?? 0) & 0x80) !== 0) {
    throw new DerError('pathLenConstraint: not a small non-negative INTEGER');
  }
  return value.readUIntBE(0, value.length);
}

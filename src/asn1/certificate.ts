/**
 * A read-only view of an X.509 certificate, parsed once when CA material or a trust bundle is
 * loaded (never on the issuance hot path). Node's `X509Certificate` does signature checks and
 * dates; pkijs reads the extensions Node does not expose and keeps the raw Name bytes.
 *
 * @module
 */
import { X509Certificate, createHash } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import {
  OID_BASIC_CONSTRAINTS,
  OID_KEY_USAGE,
  OID_RSASSA_PSS,
  OID_SHA1,
  OID_SUBJECT_KEY_IDENTIFIER,
  KEY_USAGE_KEY_CERT_SIGN,
} from './oids.js';
import { PEM_CERTIFICATE, decodePem, encodePem } from './pem.js';

/** What meshca needs to know about a certificate. */
export interface ParsedCertificate {
  readonly der: Buffer;
  /** The certificate as one normalized PEM block ending in a newline. */
  readonly pem: string;
  readonly x509: X509Certificate;
  /** DER of the subject Name exactly as encoded, so that issuer fields we write match bytewise. */
  readonly subjectDer: Buffer;
  readonly issuerDer: Buffer;
  /** The subjectKeyIdentifier, or the RFC 5280 §4.2.1.2 method-1 value when the extension is absent. */
  readonly keyIdentifier: Buffer;
  readonly isCa: boolean;
  /** `undefined` when unconstrained. */
  readonly pathLength: number | undefined;
  /** `undefined` when the keyUsage extension is absent (any use allowed). */
  readonly canSignCertificates: boolean | undefined;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly selfSigned: boolean;
  /** Lower-case hex SHA-256 of the DER, the fingerprint used in logs, metrics and the ledger. */
  readonly sha256: string;
  /** The outer signatureAlgorithm (RFC 5280 §4.1.1.2), e.g. `OID_SHA256_WITH_RSA`. */
  readonly signatureAlgorithmOid: string;
  /**
   * For RSASSA-PSS signatures, the hash named in its parameters (SHA-1 when they omit it,
   * RFC 4055 §3.1); `undefined` for every other algorithm, whose OID names its hash.
   */
  readonly pssHashOid: string | undefined;
}

/**
 * Parses one DER certificate.
 *
 * @throws `Error` on malformed input; callers wrap it with context.
 */
export function parseCertificateDer(der: Buffer): ParsedCertificate {
  const x509 = new X509Certificate(der);
  const asn1 = asn1js.fromBER(der);
  if (asn1.offset === -1) throw new Error('certificate is not valid DER');
  // Node's X509Certificate ignores bytes after the certificate, but such input is not DER
  // (X.690 §10) and strict parsers (Go's crypto/x509: "trailing data") refuse it.
  if (asn1.offset !== der.length) throw new Error('certificate has trailing bytes after its DER');
  const cert = new pkijs.Certificate({ schema: asn1.result });

  const extension = (oid: string): pkijs.Extension | undefined =>
    cert.extensions?.find((e) => e.extnID === oid);

  const basic = extension(OID_BASIC_CONSTRAINTS)?.parsedValue as pkijs.BasicConstraints | undefined;
  const keyUsage = extension(OID_KEY_USAGE)?.parsedValue as asn1js.BitString | undefined;
  const ski = extension(OID_SUBJECT_KEY_IDENTIFIER)?.parsedValue as asn1js.OctetString | undefined;
  const publicKeyBits = cert.subjectPublicKeyInfo.subjectPublicKey.valueBlock.valueHexView;

  const pathLength =
    basic?.pathLenConstraint === undefined
      ? undefined
      : typeof basic.pathLenConstraint === 'number'
        ? basic.pathLenConstraint
        : basic.pathLenConstraint.valueBlock.valueDec;

  return {
    der,
    pem: encodePem(PEM_CERTIFICATE, der),
    x509,
    subjectDer: Buffer.from(cert.subject.valueBeforeDecode),
    issuerDer: Buffer.from(cert.issuer.valueBeforeDecode),
    keyIdentifier: ski
      ? Buffer.from(ski.valueBlock.valueHexView)
      : createHash('sha1').update(publicKeyBits).digest(),
    isCa: basic?.cA === true,
    pathLength,
    canSignCertificates: keyUsage ? hasBit(keyUsage, KEY_USAGE_KEY_CERT_SIGN) : undefined,
    notBefore: new Date(x509.validFrom),
    notAfter: new Date(x509.validTo),
    selfSigned: x509.checkIssued(x509) && x509.verify(x509.publicKey),
    sha256: createHash('sha256').update(der).digest('hex'),
    signatureAlgorithmOid: cert.signatureAlgorithm.algorithmId,
    pssHashOid:
      cert.signatureAlgorithm.algorithmId === OID_RSASSA_PSS
        ? pssHash(cert.signatureAlgorithm.algorithmParams)
        : undefined,
  };
}

/** The hashAlgorithm of RSASSA-PSS-params; SHA-1 when absent or unreadable (RFC 4055 §3.1). */
function pssHash(params: unknown): string {
  if (params === undefined) return OID_SHA1;
  try {
    return new pkijs.RSASSAPSSParams({ schema: params }).hashAlgorithm.algorithmId;
  } catch {
    return OID_SHA1;
  }
}

/**
 * Parses every CERTIFICATE block of a PEM text.
 *
 * @throws `Error` naming the block that failed, or when the text holds no certificate.
 */
export function parseCertificatesPem(text: string, what: string): ParsedCertificate[] {
  let blocks;
  try {
    blocks = decodePem(text);
  } catch (error) {
    throw new Error(`${what}: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
  const certs: ParsedCertificate[] = [];
  for (const [index, block] of blocks.entries()) {
    if (block.label !== PEM_CERTIFICATE) {
      throw new Error(`${what}: block ${index + 1} is ${block.label}, expected CERTIFICATE`);
    }
    try {
      certs.push(parseCertificateDer(block.der));
    } catch (error) {
      throw new Error(`${what}: certificate ${index + 1} cannot be parsed`, { cause: error });
    }
  }
  if (certs.length === 0) throw new Error(`${what}: no certificate found`);
  return certs;
}

/** RFC 5280 §4.2.1.3 numbers KeyUsage bits from the most significant bit of the first octet. */
function hasBit(bits: asn1js.BitString, bit: number): boolean {
  const bytes = bits.valueBlock.valueHexView;
  const byte = bytes[bit >> 3] ?? 0;
  return (byte & (0x80 >> (bit & 7))) !== 0;
}

/**
 * Reading certificates meshca did not make (rogue-CA discovery): PEM text found in a cluster is
 * split into certificate blocks without decoding anything else, and each certificate is
 * described in plain terms (names, serial, fingerprint, dates, key and signature algorithm) so
 * that `discovery/` can judge it without touching ASN.1.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import {
  OID_DSA_WITH_SHA1,
  OID_DSA_WITH_SHA256,
  OID_ECDSA_WITH_SHA1,
  OID_ECDSA_WITH_SHA224,
  OID_ECDSA_WITH_SHA256,
  OID_ECDSA_WITH_SHA384,
  OID_ECDSA_WITH_SHA512,
  OID_ED25519,
  OID_ED448,
  OID_MD2_WITH_RSA,
  OID_MD4_WITH_RSA,
  OID_MD5_WITH_RSA,
  OID_RSASSA_PSS,
  OID_SHA1,
  OID_SHA1_WITH_RSA,
  OID_SHA224,
  OID_SHA224_WITH_RSA,
  OID_SHA256,
  OID_SHA256_WITH_RSA,
  OID_SHA384,
  OID_SHA384_WITH_RSA,
  OID_SHA512,
  OID_SHA512_WITH_RSA,
  parseCertificateDer,
  readCertificateDer,
  type ParsedCertificate,
} from '../asn1/index.js';

/** One `CERTIFICATE` block of a PEM text, decoded but not parsed. */
export interface CertificateBlock {
  readonly der: Buffer;
  /** Lower-case hex SHA-256 of the DER (the same value as {@link ParsedCertificate.sha256}). */
  readonly sha256: string;
}

/** What a PEM text holds, as far as discovery may look. */
export interface PemInventory {
  /** The certificate blocks, in order. */
  readonly certificates: readonly CertificateBlock[];
  /** Blocks whose label ends in `PRIVATE KEY`: counted by their header, never decoded. */
  readonly privateKeyBlocks: number;
  /** Certificate blocks whose body is not base64, and blocks of any other label. */
  readonly ignoredBlocks: number;
}

const BEGIN = '-----BEGIN ';
const END = '-----END ';
const DASHES = '-----';
const CERTIFICATE_LABEL = 'CERTIFICATE';
const BASE64_BODY = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Splits a PEM text into its certificate blocks. Unlike `decodePem` it decodes nothing but
 * `CERTIFICATE` bodies: a private key pasted next to a certificate (HAProxy-style bundles) is
 * counted from its `BEGIN ... PRIVATE KEY` line and skipped unread. Never throws: malformed blocks
 * are counted in {@link PemInventory.ignoredBlocks}, so that one bad object cannot stop a scan.
 */
export function inventoryPem(text: string): PemInventory {
  // A forward scan with indexOf (linear in the input, which comes from the cluster).
  const certificates: CertificateBlock[] = [];
  let privateKeyBlocks = 0;
  let ignoredBlocks = 0;
  let position = 0;
  for (;;) {
    const beginAt = text.indexOf(BEGIN, position);
    if (beginAt === -1) break;
    const labelEnd = text.indexOf(DASHES, beginAt + BEGIN.length);
    if (labelEnd === -1) break;
    const label = text.slice(beginAt + BEGIN.length, labelEnd);
    const endMarker = `${END}${label}${DASHES}`;
    const endAt = text.indexOf(endMarker, labelEnd + DASHES.length);
    if (endAt === -1) {
      if (label.endsWith('PRIVATE KEY')) privateKeyBlocks++;
      else ignoredBlocks++;
      break;
    }
    position = endAt + endMarker.length;
    if (label.endsWith('PRIVATE KEY')) {
      privateKeyBlocks++;
      continue;
    }
    if (label !== CERTIFICATE_LABEL) {
      ignoredBlocks++;
      continue;
    }
    const body = text.slice(labelEnd + DASHES.length, endAt).replace(/\s+/g, '');
    if (!BASE64_BODY.test(body) || body.length % 4 !== 0 || body.length === 0) {
      ignoredBlocks++;
      continue;
    }
    const der = Buffer.from(body, 'base64');
    certificates.push({ der, sha256: createHash('sha256').update(der).digest('hex') });
  }
  return { certificates, privateKeyBlocks, ignoredBlocks };
}

/**
 * Parses one certificate block: with the fast strict-DER reader, or, for input that is BER rather
 * than DER (some toolkits produce it), with the lenient pkijs parser.
 *
 * @throws `Error` when the DER is not a certificate Node and pkijs can read.
 */
export function parseCertificateBlock(block: CertificateBlock): ParsedCertificate {
  try {
    return readCertificateDer(block.der);
  } catch {
    return parseCertificateDer(block.der);
  }
}

/** A public key, as discovery judges it. */
export interface KeyDescription {
  /** `RSA`, `EC`, `Ed25519`, `Ed448`, `DSA`, or Node's name for anything else. */
  readonly algorithm: string;
  /** Modulus length of RSA and DSA keys. */
  readonly bits?: number;
  /** OpenSSL's name of an EC key's curve, e.g. `prime256v1`. */
  readonly curve?: string;
  /** One word for reports: `RSA-2048`, `EC-prime256v1`, `Ed25519`. */
  readonly label: string;
}

/** Hash functions a signature algorithm can name. `unknown` for unrecognised algorithms. */
export type SignatureHash =
  | 'MD2'
  | 'MD4'
  | 'MD5'
  | 'SHA-1'
  | 'SHA-224'
  | 'SHA-256'
  | 'SHA-384'
  | 'SHA-512'
  | 'intrinsic'
  | 'unknown';

/** A certificate in plain terms. */
export interface CertificateDescription {
  /** RFC 4514-like, attributes in certificate order joined by `, `; empty for an empty subject. */
  readonly subject: string;
  readonly issuer: string;
  /** Upper-case hex, as Node prints it. */
  readonly serialNumber: string;
  readonly sha256: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** basicConstraints cA. */
  readonly isCa: boolean;
  /**
   * Issuer equals subject and the certificate's own key verifies its signature, whatever its
   * keyUsage says (a self-signed webhook serving certificate used as its own `caBundle`).
   */
  readonly selfSigned: boolean;
  readonly key: KeyDescription;
  /** OpenSSL's name of the signature algorithm (`sha256WithRSAEncryption`), or its OID. */
  readonly signatureAlgorithm: string;
  /** The hash the signature uses (`intrinsic` for EdDSA, which hashes internally). */
  readonly signatureHash: SignatureHash;
}

const SIGNATURES: Readonly<Record<string, readonly [string, SignatureHash]>> = {
  [OID_MD2_WITH_RSA]: ['md2WithRSAEncryption', 'MD2'],
  [OID_MD4_WITH_RSA]: ['md4WithRSAEncryption', 'MD4'],
  [OID_MD5_WITH_RSA]: ['md5WithRSAEncryption', 'MD5'],
  [OID_SHA1_WITH_RSA]: ['sha1WithRSAEncryption', 'SHA-1'],
  [OID_SHA224_WITH_RSA]: ['sha224WithRSAEncryption', 'SHA-224'],
  [OID_SHA256_WITH_RSA]: ['sha256WithRSAEncryption', 'SHA-256'],
  [OID_SHA384_WITH_RSA]: ['sha384WithRSAEncryption', 'SHA-384'],
  [OID_SHA512_WITH_RSA]: ['sha512WithRSAEncryption', 'SHA-512'],
  [OID_ECDSA_WITH_SHA1]: ['ecdsa-with-SHA1', 'SHA-1'],
  [OID_ECDSA_WITH_SHA224]: ['ecdsa-with-SHA224', 'SHA-224'],
  [OID_ECDSA_WITH_SHA256]: ['ecdsa-with-SHA256', 'SHA-256'],
  [OID_ECDSA_WITH_SHA384]: ['ecdsa-with-SHA384', 'SHA-384'],
  [OID_ECDSA_WITH_SHA512]: ['ecdsa-with-SHA512', 'SHA-512'],
  [OID_DSA_WITH_SHA1]: ['dsaWithSHA1', 'SHA-1'],
  [OID_DSA_WITH_SHA256]: ['dsa_with_SHA256', 'SHA-256'],
  [OID_ED25519]: ['ED25519', 'intrinsic'],
  [OID_ED448]: ['ED448', 'intrinsic'],
};

const HASHES: Readonly<Record<string, SignatureHash>> = {
  [OID_SHA1]: 'SHA-1',
  [OID_SHA224]: 'SHA-224',
  [OID_SHA256]: 'SHA-256',
  [OID_SHA384]: 'SHA-384',
  [OID_SHA512]: 'SHA-512',
};

/** Describes a parsed certificate for reports and judgement. */
export function describeCertificate(cert: ParsedCertificate): CertificateDescription {
  const issuer = (cert.x509.issuer as string | undefined) ?? '';
  const subject = (cert.x509.subject as string | undefined) ?? '';
  const [signatureAlgorithm, signatureHash] = signatureOf(cert);
  return {
    subject: subject.replaceAll('\n', ', '),
    issuer: issuer.replaceAll('\n', ', '),
    serialNumber: cert.x509.serialNumber,
    sha256: cert.sha256,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    isCa: cert.isCa,
    selfSigned: cert.selfSigned || signsItself(cert),
    key: keyOf(cert),
    signatureAlgorithm,
    signatureHash,
  };
}

/** OpenSSL's check refuses a self-issued leaf without keyCertSign; discovery still calls it self-signed. */
function signsItself(cert: ParsedCertificate): boolean {
  if (!cert.issuerDer.equals(cert.subjectDer)) return false;
  try {
    return cert.x509.verify(cert.x509.publicKey);
  } catch {
    return false;
  }
}

function signatureOf(cert: ParsedCertificate): readonly [string, SignatureHash] {
  const oid = cert.signatureAlgorithmOid;
  if (oid === OID_RSASSA_PSS) {
    return ['rsassaPss', HASHES[cert.pssHashOid ?? OID_SHA1] ?? 'unknown'];
  }
  return SIGNATURES[oid] ?? [oid, 'unknown'];
}

function keyOf(cert: ParsedCertificate): KeyDescription {
  let type: string | undefined;
  let bits: number | undefined;
  let curve: string | undefined;
  try {
    // Throws for key types OpenSSL cannot load (GOST, say): then the type stays unknown.
    const key = cert.x509.publicKey;
    type = key.asymmetricKeyType;
    bits = key.asymmetricKeyDetails?.modulusLength;
    curve = key.asymmetricKeyDetails?.namedCurve;
  } catch {
    type = undefined;
  }
  switch (type) {
    case 'rsa':
    case 'rsa-pss':
      return {
        algorithm: 'RSA',
        ...(bits === undefined ? {} : { bits }),
        label: `RSA-${bits ?? '?'}`,
      };
    case 'dsa':
      return {
        algorithm: 'DSA',
        ...(bits === undefined ? {} : { bits }),
        label: `DSA-${bits ?? '?'}`,
      };
    case 'ec':
      return {
        algorithm: 'EC',
        ...(curve === undefined ? {} : { curve }),
        label: `EC-${curve ?? '?'}`,
      };
    case 'ed25519':
      return { algorithm: 'Ed25519', label: 'Ed25519' };
    case 'ed448':
      return { algorithm: 'Ed448', label: 'Ed448' };
    case undefined:
      return { algorithm: 'unknown', label: 'unknown' };
    default:
      return { algorithm: type, label: type };
  }
}

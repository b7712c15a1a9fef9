/**
 * The DER template of the certificates meshca issues. Everything that is the same for every leaf
 * signed by one CA (version, signature algorithm, issuer, empty subject, the fixed extensions) is
 * encoded once when the CA is loaded; per request only the serial, the validity, the key and the
 * SAN are spliced in. This keeps the hot path free of object building (DEVELOPERS.md).
 *
 * The profile is istiod's (ISTIO-CONTRACT.md §4.4, checklist 19-20):
 * - v3, random positive serial, issuer = the signing certificate's subject (bytewise), subject empty;
 * - keyUsage (critical) digitalSignature | keyEncipherment;
 * - extKeyUsage serverAuth, clientAuth;
 * - basicConstraints (critical) CA:FALSE;
 * - authorityKeyIdentifier = the issuer's key identifier;
 * - subjectAltName, critical because the subject is empty (RFC 5280 §4.2.1.6), SPIFFE URI first.
 *
 * @module
 */
import { randomFillSync, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import {
  GENERAL_NAME_DNS,
  GENERAL_NAME_IP,
  GENERAL_NAME_URI,
  OID_AUTHORITY_KEY_IDENTIFIER,
  OID_BASIC_CONSTRAINTS,
  OID_ECDSA_WITH_SHA256,
  OID_ECDSA_WITH_SHA384,
  OID_ECDSA_WITH_SHA512,
  OID_EXT_KEY_USAGE,
  OID_KEY_USAGE,
  OID_KP_CLIENT_AUTH,
  OID_KP_SERVER_AUTH,
  OID_SHA256_WITH_RSA,
  OID_SUBJECT_ALT_NAME,
  TAG_BIT_STRING,
  TAG_BOOLEAN,
  TAG_OCTET_STRING,
  TAG_SEQUENCE,
  contextConstructed,
  contextPrimitive,
  tlv,
  unsignedInteger,
  x509Time,
} from '../asn1/index.js';
import type { ParsedCertificate } from '../asn1/index.js';

/** One subjectAltName entry of an issued certificate. */
export type SubjectAltName =
  | { readonly type: 'uri'; readonly value: string }
  | { readonly type: 'dns'; readonly value: string }
  | { readonly type: 'ip'; readonly value: Uint8Array };

/** The variable part of one certificate. */
export interface LeafFields {
  readonly spkiDer: Uint8Array;
  readonly subjectAltNames: readonly SubjectAltName[];
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/** A TBSCertificate ready to sign, with the values chosen for it. */
export interface LeafToBeSigned {
  readonly tbs: Buffer;
  readonly serialHex: string;
}

/** Serial numbers: 16 random octets, top bit clear (positive), never a leading zero octet. */
const SERIAL_BYTES = 16;

const oid = (value: string): Buffer =>
  Buffer.from(new asn1js.ObjectIdentifier({ value }).toBER(false));
const TRUE = tlv(TAG_BOOLEAN, Buffer.from([0xff]));

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return critical
    ? tlv(TAG_SEQUENCE, oid(id), TRUE, tlv(TAG_OCTET_STRING, value))
    : tlv(TAG_SEQUENCE, oid(id), tlv(TAG_OCTET_STRING, value));
}

/** Digest and AlgorithmIdentifier for a CA key (Go's defaults, which istiod uses). */
export function signatureAlgorithmFor(key: KeyObject): {
  readonly digest: string;
  readonly algorithmIdentifier: Buffer;
} {
  if (key.asymmetricKeyType === 'rsa') {
    // RFC 4055 §5: the parameters of sha256WithRSAEncryption are NULL.
    return {
      digest: 'sha256',
      algorithmIdentifier: tlv(TAG_SEQUENCE, oid(OID_SHA256_WITH_RSA), Buffer.from([0x05, 0x00])),
    };
  }
  if (key.asymmetricKeyType === 'ec') {
    // RFC 5758 §3.2: ECDSA AlgorithmIdentifiers have no parameters.
    const curve = key.asymmetricKeyDetails?.namedCurve;
    const [digest, id] =
      curve === 'secp384r1'
        ? ['sha384', OID_ECDSA_WITH_SHA384]
        : curve === 'secp521r1'
          ? ['sha512', OID_ECDSA_WITH_SHA512]
          : ['sha256', OID_ECDSA_WITH_SHA256];
    return { digest, algorithmIdentifier: tlv(TAG_SEQUENCE, oid(id)) };
  }
  throw new TypeError(`unsupported CA key type ${key.asymmetricKeyType ?? 'unknown'}`);
}

/** Precomputed encodings for certificates issued by one signing certificate. */
export class LeafTemplate {
  readonly digest: string;
  readonly algorithmIdentifier: Buffer;
  /** `[0] EXPLICIT v3`. */
  readonly #version = tlv(contextConstructed(0), tlv(0x02, Buffer.from([0x02])));
  /** signature AlgorithmIdentifier, issuer Name. */
  readonly #algorithmAndIssuer: Buffer;
  /** The empty subject Name. */
  readonly #subject = tlv(TAG_SEQUENCE);
  /** keyUsage, extKeyUsage, basicConstraints, authorityKeyIdentifier. */
  readonly #fixedExtensions: Buffer;
  readonly #serial = Buffer.alloc(SERIAL_BYTES);

  constructor(issuer: ParsedCertificate, issuerKey: KeyObject) {
    const { digest, algorithmIdentifier } = signatureAlgorithmFor(issuerKey);
    this.digest = digest;
    this.algorithmIdentifier = algorithmIdentifier;
    this.#algorithmAndIssuer = Buffer.concat([algorithmIdentifier, issuer.subjectDer]);
    // keyUsage: BIT STRING with 5 unused bits, 0b10100000 = digitalSignature | keyEncipherment.
    const keyUsage = extension(OID_KEY_USAGE, true, tlv(TAG_BIT_STRING, Buffer.from([0x05, 0xa0])));
    const extKeyUsage = extension(
      OID_EXT_KEY_USAGE,
      false,
      tlv(TAG_SEQUENCE, oid(OID_KP_SERVER_AUTH), oid(OID_KP_CLIENT_AUTH)),
    );
    // basicConstraints with cA absent means CA:FALSE (DER omits DEFAULT values).
    const basicConstraints = extension(OID_BASIC_CONSTRAINTS, true, tlv(TAG_SEQUENCE));
    const authorityKeyIdentifier = extension(
      OID_AUTHORITY_KEY_IDENTIFIER,
      false,
      tlv(TAG_SEQUENCE, tlv(contextPrimitive(0), issuer.keyIdentifier)),
    );
    this.#fixedExtensions = Buffer.concat([
      keyUsage,
      extKeyUsage,
      basicConstraints,
      authorityKeyIdentifier,
    ]);
  }

  /** Fills the template for one certificate. */
  build(fields: LeafFields): LeafToBeSigned {
    const serial = this.#serial;
    randomFillSync(serial);
    serial[0] = (serial[0] ?? 0) & 0x7f || 0x01;
    const names = fields.subjectAltNames.map((name) => {
      switch (name.type) {
        case 'uri':
          return tlv(contextPrimitive(GENERAL_NAME_URI), Buffer.from(name.value, 'latin1'));
        case 'dns':
          return tlv(contextPrimitive(GENERAL_NAME_DNS), Buffer.from(name.value, 'latin1'));
        case 'ip':
          return tlv(contextPrimitive(GENERAL_NAME_IP), name.value);
      }
    });
    const subjectAltName = extension(OID_SUBJECT_ALT_NAME, true, tlv(TAG_SEQUENCE, ...names));
    const tbs = tlv(
      TAG_SEQUENCE,
      this.#version,
      unsignedInteger(serial),
      this.#algorithmAndIssuer,
      tlv(TAG_SEQUENCE, x509Time(fields.notBefore), x509Time(fields.notAfter)),
      this.#subject,
      fields.spkiDer,
      tlv(contextConstructed(3), tlv(TAG_SEQUENCE, this.#fixedExtensions, subjectAltName)),
    );
    return { tbs, serialHex: serial.toString('hex') };
  }
}

/** Wraps a signed TBSCertificate into a Certificate (RFC 5280 §4.1). */
export function assembleCertificate(
  tbs: Buffer,
  algorithmIdentifier: Buffer,
  signature: Buffer,
): Buffer {
  return tlv(
    TAG_SEQUENCE,
    tbs,
    algorithmIdentifier,
    tlv(TAG_BIT_STRING, Buffer.from([0]), signature),
  );
}

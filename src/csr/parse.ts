/**
 * PKCS#10 (RFC 2986) parsing: PEM → DER → the fields the validator needs, with the raw bytes
 * that are signed (CertificationRequestInfo) and copied into the certificate (SubjectPublicKeyInfo)
 * kept exactly as the client encoded them.
 *
 * @module
 */
import { hash } from 'node:crypto';
import { InvalidRequestError, errorMessage } from '../errors.js';
import {
  DerError,
  DerReader,
  OID_PKCS9_EXTENSION_REQUEST,
  PEM_CERTIFICATE_REQUEST,
  PEM_CERTIFICATE_REQUEST_LEGACY,
  TAG_BIT_STRING,
  TAG_BOOLEAN,
  TAG_INTEGER,
  TAG_OCTET_STRING,
  TAG_OID,
  TAG_SEQUENCE,
  TAG_SET,
  decodeDirectoryString,
  decodeOid,
  decodePem,
  type DerElement,
} from '../asn1/index.js';

/** Istio CSRs are well under 2 KiB; anything this large is not one and is refused unparsed. */
export const MAX_CSR_PEM_BYTES = 64 * 1024;

/** One requested extension. */
export interface CsrExtension {
  readonly oid: string;
  readonly critical: boolean;
  /** The DER inside extnValue's OCTET STRING. */
  readonly value: Buffer;
}

/** A subject attribute, e.g. `{ type: '2.5.4.10', value: '' }` for istio-agent's `O=`. */
export interface SubjectAttribute {
  readonly type: string;
  readonly value: string;
}

/** A structurally valid PKCS#10 request; nothing about it is trusted yet. */
export interface ParsedCsr {
  /** Lower-case hex SHA-256 of the DER: what logs and the ledger record instead of the CSR. */
  readonly sha256: string;
  readonly version: number;
  readonly subject: readonly SubjectAttribute[];
  /** SubjectPublicKeyInfo DER exactly as sent; becomes the certificate's key. */
  readonly spkiDer: Buffer;
  /** CertificationRequestInfo DER exactly as sent; the bytes the signature covers. */
  readonly infoDer: Buffer;
  readonly signatureAlgorithm: string;
  readonly signature: Buffer;
  /** OIDs of attributes other than extensionRequest. */
  readonly otherAttributes: readonly string[];
  readonly extensions: readonly CsrExtension[];
}

const invalidDer = (detail: string, cause?: unknown): InvalidRequestError =>
  new InvalidRequestError('ERR_CSR_DER', `CSR is not a valid PKCS#10 request: ${detail}`, {
    cause,
  });

/**
 * Parses one PEM-encoded PKCS#10 request.
 *
 * @throws {@link InvalidRequestError} `ERR_CSR_MISSING`, `ERR_CSR_TOO_LARGE`, `ERR_CSR_PEM` or
 * `ERR_CSR_DER`.
 */
export function parseCsrPem(pem: string): ParsedCsr {
  if (pem.trim() === '') {
    throw new InvalidRequestError('ERR_CSR_MISSING', 'the request carries no CSR');
  }
  // Counted in UTF-8 bytes, as received: a string's length counts UTF-16 code units.
  if (Buffer.byteLength(pem, 'utf8') > MAX_CSR_PEM_BYTES) {
    throw new InvalidRequestError('ERR_CSR_TOO_LARGE', `CSR exceeds ${MAX_CSR_PEM_BYTES} bytes`);
  }
  let blocks;
  try {
    blocks = decodePem(pem);
  } catch (error) {
    throw new InvalidRequestError('ERR_CSR_PEM', `CSR is not valid PEM: ${errorMessage(error)}`);
  }
  const [block, ...rest] = blocks;
  if (block === undefined) {
    throw new InvalidRequestError('ERR_CSR_PEM', 'CSR holds no PEM block');
  }
  if (rest.length > 0) {
    throw new InvalidRequestError('ERR_CSR_PEM', 'CSR must hold exactly one PEM block');
  }
  if (block.label !== PEM_CERTIFICATE_REQUEST && block.label !== PEM_CERTIFICATE_REQUEST_LEGACY) {
    throw new InvalidRequestError(
      'ERR_CSR_PEM',
      `CSR PEM block is ${block.label}, expected CERTIFICATE REQUEST`,
    );
  }
  return parseCsrDer(block.der);
}

/**
 * Parses a DER-encoded PKCS#10 request (RFC 2986 §4):
 *
 *     CertificationRequest ::= SEQUENCE {
 *       certificationRequestInfo SEQUENCE {
 *         version INTEGER, subject Name, subjectPKInfo SubjectPublicKeyInfo,
 *         attributes [0] IMPLICIT SET OF Attribute },
 *       signatureAlgorithm AlgorithmIdentifier,
 *       signature BIT STRING }
 *
 * Strict DER (see `asn1/der-reader.ts` for why this does not go through asn1js).
 *
 * @throws {@link InvalidRequestError} `ERR_CSR_DER`.
 */
export function parseCsrDer(der: Buffer): ParsedCsr {
  try {
    return parseStrict(der);
  } catch (error) {
    if (error instanceof DerError) {
      throw invalidDer(`structure does not match RFC 2986 (${error.message})`, error);
    }
    throw error;
  }
}

function parseStrict(der: Buffer): ParsedCsr {
  const top = new DerReader(der);
  const request = top.expect(TAG_SEQUENCE, 'CertificationRequest');
  if (!top.done) throw invalidDer('trailing bytes after the request');
  const outer = top.inside(request);
  const info = outer.expect(TAG_SEQUENCE, 'certificationRequestInfo');
  const algorithm = outer.expect(TAG_SEQUENCE, 'signatureAlgorithm');
  const signature = outer.expect(TAG_BIT_STRING, 'signature');
  outer.end('CertificationRequest');

  const fields = outer.inside(info);
  const version = readVersion(fields.value(fields.expect(TAG_INTEGER, 'version')));
  const subject = readName(fields, fields.expect(TAG_SEQUENCE, 'subject'));
  const spki = fields.expect(TAG_SEQUENCE, 'subjectPKInfo');
  const otherAttributes: string[] = [];
  let extensions: CsrExtension[] = [];
  if (!fields.done) {
    const attributes = fields.inside(fields.expect(ATTRIBUTES_TAG, 'attributes'));
    let sawExtensionRequest = false;
    while (!attributes.done) {
      const attribute = attributes.inside(attributes.expect(TAG_SEQUENCE, 'attribute'));
      const type = decodeOid(attributes.value(attribute.expect(TAG_OID, 'attribute type')));
      const values = attribute.inside(attribute.expect(TAG_SET, 'attribute values'));
      attribute.end('attribute');
      if (type !== OID_PKCS9_EXTENSION_REQUEST) {
        otherAttributes.push(type);
        continue;
      }
      if (sawExtensionRequest) throw invalidDer('extensionRequest must appear once with one value');
      const value = values.done ? undefined : values.next('extensionRequest value');
      if (value?.tag !== TAG_SEQUENCE || !values.done) {
        throw invalidDer('extensionRequest is not a list of extensions');
      }
      sawExtensionRequest = true;
      extensions = readExtensions(values.inside(value));
    }
  }
  fields.end('certificationRequestInfo');

  const algorithmFields = outer.inside(algorithm);
  const signatureAlgorithm = decodeOid(
    algorithmFields.value(algorithmFields.expect(TAG_OID, 'signature algorithm')),
  );
  const bits = outer.value(signature);
  // X.690 §8.6.2.2: the first octet counts unused bits; signatures are whole octets.
  if (bits[0] !== 0) throw invalidDer('signature BIT STRING has unused bits');

  return {
    sha256: hash('sha256', der, 'hex'),
    version,
    subject,
    spkiDer: Buffer.from(outer.encoding(spki)),
    infoDer: Buffer.from(outer.encoding(info)),
    signatureAlgorithm,
    signature: Buffer.from(bits.subarray(1)),
    otherAttributes,
    extensions,
  };
}

/** [0] IMPLICIT SET OF Attribute: context-specific, constructed, tag 0. */
const ATTRIBUTES_TAG = 0xa0;

function readVersion(value: Buffer): number {
  if (value.length !== 1) throw invalidDer('version is not a small INTEGER');
  return value[0] ?? 0;
}

/** Name ::= SEQUENCE OF SET OF AttributeTypeAndValue (RFC 5280 §4.1.2.4). */
function readName(reader: DerReader, name: DerElement): SubjectAttribute[] {
  const attributes: SubjectAttribute[] = [];
  const rdns = reader.inside(name);
  while (!rdns.done) {
    const rdn = rdns.inside(rdns.expect(TAG_SET, 'subject RDN'));
    while (!rdn.done) {
      const pair = rdn.inside(rdn.expect(TAG_SEQUENCE, 'subject attribute'));
      const type = decodeOid(pair.value(pair.expect(TAG_OID, 'subject attribute type')));
      const value = pair.next('subject attribute value');
      pair.end('subject attribute');
      attributes.push({ type, value: decodeDirectoryString(value.tag, pair.value(value)) });
    }
  }
  return attributes;
}

/** Extensions ::= SEQUENCE OF Extension; Extension ::= SEQUENCE { extnID, critical DEFAULT FALSE, extnValue }. */
function readExtensions(list: DerReader): CsrExtension[] {
  const extensions: CsrExtension[] = [];
  while (!list.done) {
    const extension = list.inside(list.expect(TAG_SEQUENCE, 'extension'));
    const oid = decodeOid(extension.value(extension.expect(TAG_OID, 'extension id')));
    let critical = false;
    if (extension.peekTag() === TAG_BOOLEAN) {
      const flag = extension.value(extension.next('extension critical'));
      if (flag.length !== 1 || (flag[0] !== 0x00 && flag[0] !== 0xff)) {
        throw invalidDer('extension critical flag is not a DER BOOLEAN');
      }
      critical = flag[0] === 0xff;
    }
    const value = extension.value(extension.expect(TAG_OCTET_STRING, 'extension value'));
    extension.end('extension');
    extensions.push({ oid, critical, value: Buffer.from(value) });
  }
  return extensions;
}

/**
 * PKCS#10 (RFC 2986) parsing: PEM → DER → the fields the validator needs, with the raw bytes
 * that are signed (CertificationRequestInfo) and copied into the certificate (SubjectPublicKeyInfo)
 * kept exactly as the client encoded them.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { InvalidRequestError, errorMessage } from '../errors.js';
import {
  OID_PKCS9_EXTENSION_REQUEST,
  PEM_CERTIFICATE_REQUEST,
  PEM_CERTIFICATE_REQUEST_LEGACY,
  decodePem,
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
 * Parses a DER-encoded PKCS#10 request.
 *
 * @throws {@link InvalidRequestError} `ERR_CSR_DER`.
 */
export function parseCsrDer(der: Buffer): ParsedCsr {
  const asn1 = asn1js.fromBER(der);
  if (asn1.offset === -1) throw invalidDer(asn1.result.error || 'undecodable');
  if (asn1.offset !== der.length) throw invalidDer('trailing bytes after the request');

  let csr: pkijs.CertificationRequest;
  try {
    csr = new pkijs.CertificationRequest({ schema: asn1.result });
  } catch (error) {
    throw invalidDer('structure does not match RFC 2986', error);
  }
  // The schema check above guarantees CertificationRequestInfo is
  // SEQUENCE { version, subject, subjectPKInfo, [0] attributes }; keep its raw third element.
  const root = asn1.result;
  const info = root instanceof asn1js.Sequence ? root.valueBlock.value[0] : undefined;
  const spki = info instanceof asn1js.Sequence ? info.valueBlock.value[2] : undefined;
  if (spki === undefined) throw invalidDer('missing subjectPKInfo');

  const otherAttributes: string[] = [];
  let extensions: CsrExtension[] = [];
  let sawExtensionRequest = false;
  for (const attribute of csr.attributes ?? []) {
    if (attribute.type !== OID_PKCS9_EXTENSION_REQUEST) {
      otherAttributes.push(attribute.type);
      continue;
    }
    if (sawExtensionRequest || attribute.values.length !== 1) {
      throw invalidDer('extensionRequest must appear once with one value');
    }
    sawExtensionRequest = true;
    extensions = parseExtensions(attribute.values[0]);
  }

  return {
    sha256: createHash('sha256').update(der).digest('hex'),
    version: csr.version,
    subject: csr.subject.typesAndValues.map((tv) => ({
      type: tv.type,
      value: stringValue(tv.value),
    })),
    spkiDer: Buffer.from(spki.valueBeforeDecodeView),
    infoDer: Buffer.from(csr.tbsView),
    signatureAlgorithm: csr.signatureAlgorithm.algorithmId,
    signature: Buffer.from(csr.signatureValue.valueBlock.valueHexView),
    otherAttributes,
    extensions,
  };
}

function parseExtensions(value: unknown): CsrExtension[] {
  let parsed: pkijs.Extensions;
  try {
    parsed = new pkijs.Extensions({ schema: value as asn1js.Sequence });
  } catch (error) {
    throw invalidDer('extensionRequest is not a list of extensions', error);
  }
  return parsed.extensions.map((extension) => ({
    oid: extension.extnID,
    critical: extension.critical,
    value: Buffer.from(extension.extnValue.valueBlock.valueHexView),
  }));
}

/** Subject values are ASN.1 string types; anything else (a raw ANY) reads as unprintable. */
function stringValue(value: unknown): string {
  const getValue = (value as { getValue?: unknown } | null)?.getValue;
  return typeof getValue === 'function' ? String(getValue.call(value)) : '\uFFFD';
}

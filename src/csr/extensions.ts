/**
 * The extension allowlist for workload CSRs, after istio-csr's `ValidateCSRExtentions` and
 * RFC 5280 §4.2: a CSR may ask for a subjectAltName holding URIs, a keyUsage limited to
 * digitalSignature and keyEncipherment, and an extKeyUsage limited to serverAuth and clientAuth.
 * Nothing else (basicConstraints included: a workload never asks to be a CA). meshca builds the
 * certificate from its own profile, so these only decide whether the request is acceptable.
 *
 * @module
 */
import { InvalidRequestError, quoteInput } from '../errors.js';
import {
  DerError,
  DerReader,
  EXTENSION_LABELS,
  GENERAL_NAME_REGISTERED_ID,
  TAG_BIT_STRING,
  TAG_OID,
  TAG_SEQUENCE,
  decodeOid,
  type DerElement,
  GENERAL_NAME_LABELS,
  GENERAL_NAME_URI,
  KEY_USAGE_DIGITAL_SIGNATURE,
  KEY_USAGE_KEY_ENCIPHERMENT,
  OID_EXT_KEY_USAGE,
  OID_KEY_USAGE,
  OID_KP_CLIENT_AUTH,
  OID_KP_SERVER_AUTH,
  OID_SUBJECT_ALT_NAME,
} from '../asn1/index.js';
import type { CsrExtension } from './parse.js';

const ALLOWED_KEY_USAGE_BITS = new Set([KEY_USAGE_DIGITAL_SIGNATURE, KEY_USAGE_KEY_ENCIPHERMENT]);
const ALLOWED_KEY_PURPOSES = new Set([OID_KP_SERVER_AUTH, OID_KP_CLIENT_AUTH]);

/**
 * Checks every requested extension and returns the URIs of the subjectAltName.
 *
 * @throws {@link InvalidRequestError} naming the first rule broken.
 */
export function checkExtensions(extensions: readonly CsrExtension[]): string[] {
  const seen = new Set<string>();
  let uris: string[] | undefined;
  for (const extension of extensions) {
    // The OID is the client's: quoted short (it may have thousands of arcs).
    const label = EXTENSION_LABELS[extension.oid] ?? quoteInput(extension.oid);
    // RFC 5280 §4.2: "A certificate MUST NOT include more than one instance of a particular
    // extension." A request that does cannot be mapped onto one certificate.
    if (seen.has(extension.oid)) {
      throw new InvalidRequestError(
        'ERR_CSR_EXTENSION_DUPLICATE',
        `CSR requests extension ${label} more than once`,
      );
    }
    seen.add(extension.oid);
    switch (extension.oid) {
      case OID_SUBJECT_ALT_NAME:
        uris = subjectAltNameUris(extension.value);
        break;
      case OID_KEY_USAGE:
        checkKeyUsage(extension.value);
        break;
      case OID_EXT_KEY_USAGE:
        checkExtKeyUsage(extension.value);
        break;
      default:
        throw new InvalidRequestError(
          'ERR_CSR_EXTENSION_FORBIDDEN',
          `CSR requests extension ${label}; only subjectAltName, keyUsage and extKeyUsage are allowed`,
        );
    }
  }
  if (uris === undefined) {
    throw new InvalidRequestError(
      'ERR_CSR_SAN_MISSING',
      'CSR has no subjectAltName; it must request exactly one SPIFFE URI',
    );
  }
  return uris;
}

/** Reads an extension value that must be exactly one element with `tag`. */
function single(
  value: Buffer,
  tag: number,
  label: string,
  malformed: string,
): { reader: DerReader; element: DerElement } {
  const reader = new DerReader(value);
  let element: DerElement;
  try {
    element = reader.next(label);
    reader.end(label);
  } catch (error) {
    throw new InvalidRequestError(
      'ERR_CSR_EXTENSION_MALFORMED',
      `CSR extension ${label} is not valid DER`,
      {
        cause: error,
      },
    );
  }
  if (element.tag !== tag) throw new InvalidRequestError('ERR_CSR_EXTENSION_MALFORMED', malformed);
  return { reader, element };
}

/** GeneralNames ::= SEQUENCE OF GeneralName, each a context-specific [0]..[8] (RFC 5280 §4.2.1.6). */
function subjectAltNameUris(value: Buffer): string[] {
  const { reader, element } = single(
    value,
    TAG_SEQUENCE,
    'subjectAltName',
    'CSR subjectAltName is not a list of GeneralNames',
  );
  const names = reader.inside(element);
  const uris: string[] = [];
  try {
    while (!names.done) {
      const name = names.next('GeneralName');
      const tagNumber = name.tag & 0x1f;
      if ((name.tag & 0xc0) !== 0x80 || tagNumber > GENERAL_NAME_REGISTERED_ID) {
        throw new DerError('not a GeneralName');
      }
      if (tagNumber !== GENERAL_NAME_URI || name.tag !== 0x80 + GENERAL_NAME_URI) {
        const kind = GENERAL_NAME_LABELS[tagNumber] ?? `tag ${tagNumber}`;
        throw new InvalidRequestError(
          'ERR_CSR_SAN_FORBIDDEN_TYPE',
          `CSR subjectAltName holds a ${kind} name; only one URI (the SPIFFE ID) is allowed`,
        );
      }
      const uri = names.value(name);
      // uniformResourceIdentifier is an IA5String: 7-bit characters only.
      if (uri.some((byte) => byte > 0x7e || byte < 0x20))
        throw new DerError('URI is not printable IA5');
      uris.push(uri.toString('latin1'));
    }
  } catch (error) {
    if (error instanceof InvalidRequestError) throw error;
    throw new InvalidRequestError(
      'ERR_CSR_EXTENSION_MALFORMED',
      'CSR subjectAltName is not a list of GeneralNames',
      {
        cause: error,
      },
    );
  }
  if (uris.length !== 1) {
    throw new InvalidRequestError(
      'ERR_CSR_SAN_COUNT',
      `CSR subjectAltName holds ${uris.length} URIs; exactly one SPIFFE ID is allowed`,
    );
  }
  return uris;
}

/** KeyUsage ::= BIT STRING (RFC 5280 §4.2.1.3); bit 0 is the most significant bit. */
function checkKeyUsage(value: Buffer): void {
  const { reader, element } = single(
    value,
    TAG_BIT_STRING,
    'keyUsage',
    'CSR keyUsage is not a BIT STRING',
  );
  const bits = reader.value(element);
  const unused = bits[0] ?? 0;
  if (bits.length === 0 || unused > 7 || (bits.length === 1 && unused !== 0)) {
    throw new InvalidRequestError(
      'ERR_CSR_EXTENSION_MALFORMED',
      'CSR keyUsage is not a valid BIT STRING',
    );
  }
  const bitCount = (bits.length - 1) * 8 - unused;
  for (let bit = 0; bit < bitCount; bit++) {
    const set = ((bits[1 + (bit >> 3)] ?? 0) & (0x80 >> (bit & 7))) !== 0;
    if (set && !ALLOWED_KEY_USAGE_BITS.has(bit)) {
      throw new InvalidRequestError(
        'ERR_CSR_KEY_USAGE',
        `CSR keyUsage requests bit ${bit}; only digitalSignature and keyEncipherment are allowed`,
      );
    }
  }
}

/** ExtKeyUsageSyntax ::= SEQUENCE SIZE (1..MAX) OF KeyPurposeId (RFC 5280 §4.2.1.12). */
function checkExtKeyUsage(value: Buffer): void {
  const malformed = 'CSR extKeyUsage is not a list of key purposes';
  const { reader, element } = single(value, TAG_SEQUENCE, 'extKeyUsage', malformed);
  const list = reader.inside(element);
  const purposes: string[] = [];
  try {
    while (!list.done) purposes.push(decodeOid(list.value(list.expect(TAG_OID, 'key purpose'))));
    if (purposes.length === 0) throw new DerError('SIZE (1..MAX)');
  } catch (error) {
    throw new InvalidRequestError('ERR_CSR_EXTENSION_MALFORMED', malformed, { cause: error });
  }
  for (const purpose of purposes) {
    if (!ALLOWED_KEY_PURPOSES.has(purpose)) {
      throw new InvalidRequestError(
        'ERR_CSR_EXT_KEY_USAGE',
        `CSR extKeyUsage requests ${quoteInput(purpose)}; only serverAuth and clientAuth are allowed`,
      );
    }
  }
}

/**
 * The extension allowlist for workload CSRs, after istio-csr's `ValidateCSRExtentions` and
 * RFC 5280 §4.2: a CSR may ask for a subjectAltName holding URIs, a keyUsage limited to
 * digitalSignature and keyEncipherment, and an extKeyUsage limited to serverAuth and clientAuth.
 * Nothing else (basicConstraints included: a workload never asks to be a CA). meshca builds the
 * certificate from its own profile, so these only decide whether the request is acceptable.
 *
 * @module
 */
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { InvalidRequestError } from '../errors.js';
import {
  EXTENSION_LABELS,
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
    const label = EXTENSION_LABELS[extension.oid] ?? extension.oid;
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

function decode(value: Buffer, label: string): asn1js.AsnType {
  const asn1 = asn1js.fromBER(value);
  if (asn1.offset === -1 || asn1.offset !== value.length) {
    throw new InvalidRequestError(
      'ERR_CSR_EXTENSION_MALFORMED',
      `CSR extension ${label} is not valid DER`,
    );
  }
  return asn1.result;
}

function subjectAltNameUris(value: Buffer): string[] {
  let names: pkijs.GeneralName[];
  try {
    names = new pkijs.AltName({ schema: decode(value, 'subjectAltName') }).altNames;
  } catch (error) {
    if (error instanceof InvalidRequestError) throw error;
    throw new InvalidRequestError(
      'ERR_CSR_EXTENSION_MALFORMED',
      'CSR subjectAltName is not a list of GeneralNames',
      { cause: error },
    );
  }
  const uris: string[] = [];
  for (const name of names) {
    if (name.type !== GENERAL_NAME_URI) {
      const kind = GENERAL_NAME_LABELS[name.type] ?? `tag ${name.type}`;
      throw new InvalidRequestError(
        'ERR_CSR_SAN_FORBIDDEN_TYPE',
        `CSR subjectAltName holds a ${kind} name; only one URI (the SPIFFE ID) is allowed`,
      );
    }
    uris.push(String(name.value));
  }
  if (uris.length !== 1) {
    throw new InvalidRequestError(
      'ERR_CSR_SAN_COUNT',
      `CSR subjectAltName holds ${uris.length} URIs; exactly one SPIFFE ID is allowed`,
    );
  }
  return uris;
}

function checkKeyUsage(value: Buffer): void {
  const bits = decode(value, 'keyUsage');
  if (!(bits instanceof asn1js.BitString)) {
    throw new InvalidRequestError(
      'ERR_CSR_EXTENSION_MALFORMED',
      'CSR keyUsage is not a BIT STRING',
    );
  }
  const bytes = bits.valueBlock.valueHexView;
  for (let bit = 0; bit < bytes.length * 8; bit++) {
    const set = ((bytes[bit >> 3] ?? 0) & (0x80 >> (bit & 7))) !== 0;
    if (set && !ALLOWED_KEY_USAGE_BITS.has(bit)) {
      throw new InvalidRequestError(
        'ERR_CSR_KEY_USAGE',
        `CSR keyUsage requests bit ${bit}; only digitalSignature and keyEncipherment are allowed`,
      );
    }
  }
}

function checkExtKeyUsage(value: Buffer): void {
  let purposes: string[];
  try {
    purposes = new pkijs.ExtKeyUsage({ schema: decode(value, 'extKeyUsage') }).keyPurposes;
  } catch (error) {
    if (error instanceof InvalidRequestError) throw error;
    throw new InvalidRequestError(
      'ERR_CSR_EXTENSION_MALFORMED',
      'CSR extKeyUsage is not a list of key purposes',
      { cause: error },
    );
  }
  for (const purpose of purposes) {
    if (!ALLOWED_KEY_PURPOSES.has(purpose)) {
      throw new InvalidRequestError(
        'ERR_CSR_EXT_KEY_USAGE',
        `CSR extKeyUsage requests ${purpose}; only serverAuth and clientAuth are allowed`,
      );
    }
  }
}

/**
 * Finds secrets in log text: bearer tokens (the JWT shape), private keys (PEM blocks, JWK private
 * members, and DER key structures written as base64), and whole CSRs (PEM, or base64 DER). meshca
 * logs a CSR's SHA-256 and a certificate's serial, never these; the suite's global teardown runs
 * every log line the tests saw through {@link scanText} and fails the run on any finding.
 *
 * What it cannot recognize: a raw private scalar written as hex looks like the SHA-256 digests
 * meshca does log, so hex is not scanned.
 */
import {
  TAG_BIT_STRING,
  TAG_INTEGER,
  TAG_OCTET_STRING,
  TAG_OID,
  TAG_SEQUENCE,
} from '../../src/asn1/index.js';

/** What kind of secret was found. */
export type SecretKind =
  'jwt' | 'private-key-pem' | 'csr-pem' | 'jwk-private-key' | 'private-key-der' | 'csr-der';

/** One finding, located but not quoted whole (a report must not leak what it found). */
export interface SecretFinding {
  readonly kind: SecretKind;
  /** 1-based line number in the scanned text. */
  readonly line: number;
  /** The first characters of the match, enough to find it. */
  readonly excerpt: string;
}

/** header.payload.signature, both JSON parts starting `{"` (base64url "eyJ"); `alg: none` has no signature. */
const JWT = /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g;
const PRIVATE_KEY_PEM = /-----BEGIN ((?:RSA |EC |DSA |ENCRYPTED |OPENSSH )?PRIVATE KEY)-----/g;
const CSR_PEM = /-----BEGIN (?:NEW )?CERTIFICATE REQUEST-----/g;
/** A JWK's private member `d` (EC, RSA, OKP), in JSON or in JSON escaped inside a string. */
const JWK_PRIVATE = /\\?"d\\?"\s*:\s*\\?"[A-Za-z0-9_-]{20,}/g;
/**
 * Base64 or base64url runs long enough to hold a key or a CSR. A PEM body inside a JSON string
 * has its line breaks escaped (`\n`), so those are allowed inside a run.
 */
const BASE64_RUN = /(?:[A-Za-z0-9+/_-]|\\n|\\r){80,}={0,2}/g;

/** Scans `text`, line by line. */
export function scanText(text: string): SecretFinding[] {
  const findings: SecretFinding[] = [];
  const lines = text.split('\n');
  lines.forEach((line, index) => {
    const found = (kind: SecretKind, match: string): void => {
      findings.push({ kind, line: index + 1, excerpt: `${match.slice(0, 16)}…` });
    };
    for (const match of line.matchAll(JWT)) found('jwt', match[0]);
    for (const match of line.matchAll(PRIVATE_KEY_PEM)) found('private-key-pem', match[0]);
    for (const match of line.matchAll(CSR_PEM)) found('csr-pem', match[0]);
    for (const match of line.matchAll(JWK_PRIVATE)) found('jwk-private-key', match[0]);
    for (const match of line.matchAll(BASE64_RUN)) {
      const kind = classifyDer(decodeBase64(match[0]));
      if (kind !== undefined) found(kind, match[0]);
    }
  });
  return findings;
}

function decodeBase64(run: string): Buffer {
  const compact = run
    .replace(/\\[nr]/g, '')
    .replace(/-/g, '+')
    .replace(/_/g, '/');
  return Buffer.from(compact, 'base64');
}

/** A TLV header read leniently: a length past the end is cut to what is there. */
interface Element {
  readonly tag: number;
  readonly start: number;
  readonly end: number;
}

/** Reads the element at `offset` of `bytes[0, limit)`, or undefined when there is none. */
function element(bytes: Buffer, offset: number, limit: number): Element | undefined {
  if (offset + 2 > limit) return undefined;
  const tag = bytes[offset] ?? 0;
  let position = offset + 1;
  const first = bytes[position++] ?? 0;
  let length = first;
  if (first >= 0x80) {
    const count = first & 0x7f;
    if (count === 0 || count > 4 || position + count > limit) return undefined;
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (bytes[position + i] ?? 0);
    position += count;
  }
  return { tag, start: position, end: Math.min(position + length, limit) };
}

/** The elements inside `parent`, as far as the bytes go. */
function children(bytes: Buffer, parent: Element, most: number): Element[] {
  const found: Element[] = [];
  let offset = parent.start;
  while (found.length < most) {
    const child = element(bytes, offset, parent.end);
    if (child === undefined) break;
    found.push(child);
    offset = child.end;
  }
  return found;
}

const smallInteger = (bytes: Buffer, item: Element | undefined): number | undefined =>
  item?.tag === TAG_INTEGER && item.end - item.start === 1 ? bytes[item.start] : undefined;

/**
 * Recognizes the DER of a private key (PKCS#8, SEC1, PKCS#1) or a PKCS#10 request, even cut
 * short (a log line that quotes the start of one still leaks it).
 */
export function classifyDer(der: Buffer): 'private-key-der' | 'csr-der' | undefined {
  const top = element(der, 0, der.length);
  if (top?.tag !== TAG_SEQUENCE) return undefined;
  const [first, second, third] = children(der, top, 3);
  if (first === undefined) return undefined;
  if (second !== undefined && classifyKey(der, first, second, third)) return 'private-key-der';
  // PKCS#10 (RFC 2986): SEQUENCE { info SEQUENCE { INTEGER 0, Name, SubjectPublicKeyInfo, ...
  if (first.tag === TAG_SEQUENCE) {
    const [infoVersion, subject, spki] = children(der, first, 3);
    if (smallInteger(der, infoVersion) !== 0 || subject?.tag !== TAG_SEQUENCE) return undefined;
    if (spki?.tag !== TAG_SEQUENCE) return undefined;
    const [algorithm, key] = children(der, spki, 2);
    if (algorithm?.tag === TAG_SEQUENCE && (key === undefined || key.tag === TAG_BIT_STRING)) {
      return 'csr-der';
    }
  }
  return undefined;
}

/** A private key's first elements: PKCS#8, SEC1 or PKCS#1. */
function classifyKey(
  der: Buffer,
  first: Element,
  second: Element,
  third: Element | undefined,
): boolean {
  const version = smallInteger(der, first);
  // PKCS#8 (RFC 5958): version 0|1, AlgorithmIdentifier { OID, ... }, OCTET STRING privateKey.
  if ((version === 0 || version === 1) && second.tag === TAG_SEQUENCE) {
    const [algorithm] = children(der, second, 1);
    if (algorithm?.tag === TAG_OID && (third === undefined || third.tag === TAG_OCTET_STRING)) {
      return true;
    }
  }
  // SEC1 (RFC 5915): version 1, OCTET STRING privateKey.
  if (version === 1 && second.tag === TAG_OCTET_STRING) return true;
  // PKCS#1 (RFC 8017 §A.1.2): version 0, then n, e, d... all INTEGERs.
  return (
    version === 0 &&
    second.tag === TAG_INTEGER &&
    (third === undefined || third.tag === TAG_INTEGER)
  );
}

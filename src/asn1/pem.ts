/**
 * PEM (RFC 7468) parsing and writing: strict enough to refuse mixed or malformed input, lax
 * about the whitespace and explanatory text RFC 7468 §5.2 tells parsers to ignore.
 *
 * @module
 */
import { quoteInput } from '../errors.js';

/** One decoded PEM block. */
export interface PemBlock {
  /** The label between `BEGIN ` and the dashes, e.g. `CERTIFICATE`. */
  readonly label: string;
  readonly der: Buffer;
}

const BEGIN = '-----BEGIN ';
const END = '-----END ';
const DASHES = '-----';
const LABEL = /^[A-Z0-9 ]{1,64}$/;
const BASE64_BODY = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Decodes every PEM block in `text`, in order.
 *
 * @throws `Error` when a block's END label differs from its BEGIN label or its body is not
 * base64 (RFC 7468 §3). Callers re-type this into their own domain errors.
 */
export function decodePem(text: string): PemBlock[] {
  // A forward scan with indexOf, never a backtracking regex: the input comes from clients and
  // its cost must stay linear in its length.
  const blocks: PemBlock[] = [];
  let position = 0;
  for (;;) {
    const beginAt = text.indexOf(BEGIN, position);
    if (beginAt === -1) break;
    const beginLabelEnd = text.indexOf(DASHES, beginAt + BEGIN.length);
    if (beginLabelEnd === -1) break;
    const begin = text.slice(beginAt + BEGIN.length, beginLabelEnd);
    if (!LABEL.test(begin)) {
      position = beginLabelEnd; // explanatory text that merely looks like a boundary
      continue;
    }
    const endAt = text.indexOf(END, beginLabelEnd + DASHES.length);
    if (endAt === -1) break;
    const endLabelEnd = text.indexOf(DASHES, endAt + END.length);
    if (endLabelEnd === -1) break;
    const end = text.slice(endAt + END.length, endLabelEnd);
    const body = text.slice(beginLabelEnd + DASHES.length, endAt);
    position = endLabelEnd + DASHES.length;
    // The BEGIN label matched LABEL (64 characters at most); the END label may be anything.
    if (begin !== end) {
      throw new Error(`PEM block BEGIN ${begin} ends with END ${quoteInput(end)}`);
    }
    const compact = body.replace(/\s+/g, '');
    if (!BASE64_BODY.test(compact) || compact.length % 4 !== 0) {
      throw new Error(`PEM block ${begin} has a body that is not base64`);
    }
    blocks.push({ label: begin, der: Buffer.from(compact, 'base64') });
  }
  return blocks;
}

/** Encodes DER as one PEM block with 64-character lines and a final newline (RFC 7468 §2). */
export function encodePem(label: string, der: Uint8Array): string {
  const base64 = Buffer.from(der).toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < base64.length; i += 64) lines.push(base64.slice(i, i + 64));
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** Label of X.509 certificates (RFC 7468 §5). */
export const PEM_CERTIFICATE = 'CERTIFICATE';
/** Label of certificate revocation lists (RFC 7468 §6). */
export const PEM_CRL = 'X509 CRL';
/** Label of PKCS#10 requests (RFC 7468 §7); `NEW CERTIFICATE REQUEST` is a legacy alias. */
export const PEM_CERTIFICATE_REQUEST = 'CERTIFICATE REQUEST';
export const PEM_CERTIFICATE_REQUEST_LEGACY = 'NEW CERTIFICATE REQUEST';

/**
 * A strict DER reader (X.690 §8, §10) for the one structure on the issuance hot path: the
 * PKCS#10 request. asn1js builds an object per node and decodes every string eagerly; on a
 * 300-byte CSR that costs ~250 µs, a quarter of a millisecond per request before any rule is
 * checked (see `npm run bench`). This reader only records offsets, so parsing a CSR costs a few
 * microseconds, and it refuses what DER forbids (indefinite or non-minimal lengths, high tag
 * numbers, trailing bytes), which also keeps non-DER keys out of the certificates we issue.
 *
 * @module
 */

/** One element: its tag, and where its header and value lie in the buffer. */
export interface DerElement {
  readonly tag: number;
  /** Offset of the tag octet. */
  readonly headerStart: number;
  /** Offset of the first value octet. */
  readonly start: number;
  /** Offset after the last value octet. */
  readonly end: number;
}

/** Malformed DER; the message says where and why. */
export class DerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DerError';
  }
}

/** Reads consecutive elements from `bytes[start, end)`. */
export class DerReader {
  readonly bytes: Buffer;
  #offset: number;
  readonly #end: number;

  constructor(bytes: Buffer, start = 0, end = bytes.length) {
    this.bytes = bytes;
    this.#offset = start;
    this.#end = end;
  }

  /** True when every element has been read. */
  get done(): boolean {
    return this.#offset >= this.#end;
  }

  /** The tag of the next element, without reading it (undefined at the end). */
  peekTag(): number | undefined {
    return this.done ? undefined : this.bytes[this.#offset];
  }

  /**
   * Reads the next element.
   *
   * @throws {@link DerError} on truncated or non-DER input.
   */
  next(what: string): DerElement {
    const bytes = this.bytes;
    const headerStart = this.#offset;
    if (headerStart >= this.#end) throw new DerError(`${what}: missing`);
    const tag = bytes[headerStart] ?? 0;
    if ((tag & 0x1f) === 0x1f) throw new DerError(`${what}: high tag numbers are not used here`);
    let position = headerStart + 1;
    if (position >= this.#end) throw new DerError(`${what}: truncated`);
    const first = bytes[position++] ?? 0;
    let length: number;
    if (first < 0x80) {
      length = first;
    } else {
      const count = first & 0x7f;
      if (count === 0) throw new DerError(`${what}: indefinite length is not DER`);
      if (count > 4) throw new DerError(`${what}: length too large`);
      if (position + count > this.#end) throw new DerError(`${what}: truncated`);
      length = 0;
      for (let i = 0; i < count; i++) length = length * 256 + (bytes[position + i] ?? 0);
      // X.690 §10.1: the definite form uses the fewest octets.
      if (length < 0x80 || (bytes[position] ?? 0) === 0) {
        throw new DerError(`${what}: length is not minimally encoded`);
      }
      position += count;
    }
    const end = position + length;
    if (end > this.#end) throw new DerError(`${what}: truncated`);
    this.#offset = end;
    return { tag, headerStart, start: position, end };
  }

  /**
   * Reads the next element and checks its tag.
   *
   * @throws {@link DerError} when the tag differs.
   */
  expect(tag: number, what: string): DerElement {
    const element = this.next(what);
    if (element.tag !== tag) {
      throw new DerError(
        `${what}: expected tag 0x${tag.toString(16)}, found 0x${element.tag.toString(16)}`,
      );
    }
    return element;
  }

  /** A reader over the contents of a constructed element. */
  inside(element: DerElement): DerReader {
    return new DerReader(this.bytes, element.start, element.end);
  }

  /**
   * Checks that nothing is left.
   *
   * @throws {@link DerError} naming `what` when bytes remain.
   */
  end(what: string): void {
    if (!this.done) throw new DerError(`${what}: unexpected trailing data`);
  }

  /** The value octets of `element`. */
  value(element: DerElement): Buffer {
    return this.bytes.subarray(element.start, element.end);
  }

  /** The whole encoding (header and value) of `element`. */
  encoding(element: DerElement): Buffer {
    return this.bytes.subarray(element.headerStart, element.end);
  }
}

/**
 * Decodes OBJECT IDENTIFIER value octets to dotted form (X.690 §8.19).
 *
 * @throws {@link DerError} on a malformed encoding.
 */
export function decodeOid(value: Buffer): string {
  if (value.length === 0) throw new DerError('empty OBJECT IDENTIFIER');
  const arcs: number[] = [];
  let current = 0;
  let started = false;
  for (const byte of value) {
    if (!started && byte === 0x80)
      throw new DerError('OBJECT IDENTIFIER arc is not minimally encoded');
    started = true;
    current = current * 128 + (byte & 0x7f);
    if (current > Number.MAX_SAFE_INTEGER) throw new DerError('OBJECT IDENTIFIER arc too large');
    if ((byte & 0x80) === 0) {
      arcs.push(current);
      current = 0;
      started = false;
    }
  }
  if (started) throw new DerError('OBJECT IDENTIFIER is truncated');
  const [first = 0, ...rest] = arcs;
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...rest].join('.');
}

/** Universal string types that may appear in names, decoded for display and checks. */
export function decodeDirectoryString(tag: number, value: Buffer): string {
  switch (tag) {
    case 0x0c: // UTF8String
      return value.toString('utf8');
    case 0x13: // PrintableString
    case 0x16: // IA5String
    case 0x14: // TeletexString (read as Latin-1, as most toolkits do)
      return value.toString('latin1');
    case 0x1e: // BMPString (UCS-2, big-endian)
      return value.length % 2 === 0 ? Buffer.from(value).swap16().toString('utf16le') : '\uFFFD';
    default:
      return '\uFFFD';
  }
}

/**
 * A strict pass over the protobuf wire format of an IstioCertificateRequest, before protobufjs
 * decodes it. protobufjs is lenient where Go's protobuf (istiod's) is not: it reads a known field
 * whatever its wire type, and clamps a string whose length runs past the end of the message. So
 * "is this valid protobuf?" is answered here, as Go answers it:
 *
 * - every tag has a valid field number and wire type (groups, wire types 3 and 4, are refused: no
 *   message here has one), and a known field has the wire type of its declared type;
 * - varints are at most ten bytes, and lengths stay inside their message;
 * - string fields hold valid UTF-8 (proto3, as Go checks it);
 * - `metadata` (google.protobuf.Struct) is checked all the way down, nested at most
 *   {@link MAX_METADATA_DEPTH} structs and lists deep.
 *
 * Unknown fields are skipped, as every protobuf decoder does.
 *
 * @module
 */

/**
 * Nesting of `metadata` values (structs and lists inside structs) beyond which a request is
 * refused. Istio's clients send one level of string values; Go's protobuf stops at 10,000 levels.
 * This bound also keeps every recursive walk far from the stack's limit.
 */
export const MAX_METADATA_DEPTH = 32;

const VARINT = 0;
const I64 = 1;
const LEN = 2;
const I32 = 5;

/** How one field is checked: its wire type, and for messages and strings, their content. */
type FieldRule =
  | { readonly wire: typeof VARINT | typeof I64 }
  | { readonly wire: typeof LEN; readonly content: 'string' | MessageName };

type MessageName = 'request' | 'struct' | 'entry' | 'value' | 'list';

/** The schemas (proto/istio/v1/auth/ca.proto, google/protobuf/struct.proto), by field number. */
const SCHEMAS: Readonly<Record<MessageName, Readonly<Record<number, FieldRule>>>> = {
  // IstioCertificateRequest: csr = 1, validity_duration = 3, metadata = 4.
  request: {
    1: { wire: LEN, content: 'string' },
    3: { wire: VARINT },
    4: { wire: LEN, content: 'struct' },
  },
  // Struct: map<string, Value> fields = 1, i.e. repeated entries { key = 1; value = 2; }.
  struct: { 1: { wire: LEN, content: 'entry' } },
  entry: { 1: { wire: LEN, content: 'string' }, 2: { wire: LEN, content: 'value' } },
  // Value: null_value = 1 (enum), number_value = 2 (double), string_value = 3, bool_value = 4,
  // struct_value = 5, list_value = 6.
  value: {
    1: { wire: VARINT },
    2: { wire: I64 },
    3: { wire: LEN, content: 'string' },
    4: { wire: VARINT },
    5: { wire: LEN, content: 'struct' },
    6: { wire: LEN, content: 'list' },
  },
  // ListValue: repeated Value values = 1.
  list: { 1: { wire: LEN, content: 'value' } },
};

/** How each message is named in a reason. */
const LABELS: Readonly<Record<MessageName, string>> = {
  request: 'the request',
  struct: 'metadata',
  entry: 'a metadata entry',
  value: 'a metadata value',
  list: 'a metadata list',
};

/** Nesting counts structs and lists, the messages that can recurse. */
const NESTING: ReadonlySet<MessageName> = new Set(['struct', 'list']);

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Malformed wire data; the message says what, never quoting the bytes. */
class WireError extends Error {}

/**
 * Checks a request body.
 *
 * @returns what is wrong, or undefined when the body is a well-formed IstioCertificateRequest.
 */
export function checkRequestWire(bytes: Uint8Array): string | undefined {
  try {
    checkMessage(bytes, 0, bytes.length, 'request', 0);
    return undefined;
  } catch (error) {
    if (error instanceof WireError) return error.message;
    throw error;
  }
}

function checkMessage(
  bytes: Uint8Array,
  start: number,
  end: number,
  name: MessageName,
  depth: number,
): void {
  const level = NESTING.has(name) ? depth + 1 : depth;
  if (level > MAX_METADATA_DEPTH) {
    throw new WireError(`metadata is nested deeper than ${MAX_METADATA_DEPTH} levels`);
  }
  const schema = SCHEMAS[name];
  let position = start;
  while (position < end) {
    const [tag, afterTag] = readVarint(bytes, position, end);
    const field = Number(tag >> 3n);
    const wire = Number(tag & 7n);
    if (field === 0 || tag >> 3n > 0x1fffffffn) throw new WireError('invalid field number');
    const rule = schema[field];
    if (rule !== undefined && rule.wire !== wire) {
      throw new WireError(
        `field ${field} of ${LABELS[name]} has wire type ${wire}, not ${rule.wire}`,
      );
    }
    position = afterTag;
    switch (wire) {
      case VARINT:
        position = readVarint(bytes, position, end)[1];
        break;
      case I64:
        position = skip(position, 8, end);
        break;
      case I32:
        position = skip(position, 4, end);
        break;
      case LEN: {
        const [length, afterLength] = readVarint(bytes, position, end);
        if (length > BigInt(end - afterLength)) throw new WireError('length past the end');
        const contentEnd = afterLength + Number(length);
        if (rule?.wire === LEN) {
          if (rule.content === 'string') {
            try {
              UTF8.decode(bytes.subarray(afterLength, contentEnd));
            } catch {
              throw new WireError(`a string in ${LABELS[name]} is not valid UTF-8`);
            }
          } else {
            checkMessage(bytes, afterLength, contentEnd, rule.content, level);
          }
        }
        position = contentEnd;
        break;
      }
      default:
        throw new WireError(`wire type ${wire} is not used by this message`);
    }
  }
}

function skip(position: number, count: number, end: number): number {
  if (position + count > end) throw new WireError('truncated fixed-size field');
  return position + count;
}

/** A varint of at most ten bytes (64 bits) within `[position, end)`. */
function readVarint(bytes: Uint8Array, position: number, end: number): [bigint, number] {
  let result = 0n;
  for (let index = 0; index < 10; index++) {
    if (position + index >= end) throw new WireError('truncated varint');
    const byte = bytes[position + index] ?? 0;
    result |= BigInt(byte & 0x7f) << BigInt(7 * index);
    if ((byte & 0x80) === 0) return [result, position + index + 1];
  }
  throw new WireError('varint longer than ten bytes');
}

/**
 * Decoding IstioCertificateRequest ourselves, so that no body can make grpc-js answer INTERNAL.
 *
 * grpc-js runs the method's `requestDeserialize` before any handler, and answers INTERNAL when it
 * throws; istio-agent retries INTERNAL five times (ISTIO-CONTRACT.md §2.4), so a broken client
 * would hammer the CA instead of failing fast. proto-loader's deserializer throws on two kinds of
 * input:
 *
 * - bytes that are not protobuf at all (truncated varints, wrong wire types, lengths past the end);
 * - valid protobuf it cannot convert: a `Struct.fields` map entry sent without its value decodes
 *   to `null`, which protobufjs' `toObject` dereferences (a TypeError). Go's protobuf, which
 *   istiod uses, decodes the same entry as key "" and an empty `Value` (no kind set).
 *
 * This decoder never throws: bytes that are not a well-formed request (`wire-check.ts`) become
 * an {@link UndecodableRequest} the handler answers with INVALID_ARGUMENT `ERR_REQUEST_INVALID`;
 * a map entry without a value gets
 * an empty `Value`, as in Go, so metadata keys meshca does not read are ignored whatever they hold
 * (istiod ignores them too). The output has exactly the shape proto-loader gives (`proto.ts`
 * options), so the generated types describe it.
 *
 * @module
 */
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { errorMessage } from '../errors.js';
import type { IstioCertificateRequest__Output } from '../gen/istio/v1/auth/IstioCertificateRequest.js';
import { checkRequestWire } from './wire-check.js';

/** A request whose bytes decoded. */
export interface DecodedRequest {
  readonly kind: 'decoded';
  readonly request: IstioCertificateRequest__Output;
}

/** A request whose bytes are not an IstioCertificateRequest. */
export interface UndecodableRequest {
  readonly kind: 'undecodable';
  /** What is wrong, in words (for logs; bounded, never the bytes themselves). */
  readonly reason: string;
}

/** What the CreateCertificate handler receives instead of a message. */
export type WireRequest = DecodedRequest | UndecodableRequest;

const CA_PROTO = fileURLToPath(new URL('../../proto/istio/v1/auth/ca.proto', import.meta.url));

/** protobufjs' `toObject` options, the ones proto-loader passes (`proto.ts`). */
const TO_OBJECT: protobuf.IConversionOptions = {
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

/** The decoded-message shape of `google.protobuf.Struct` and `Value`, as protobufjs builds it. */
interface StructMessage {
  fields?: Record<string, ValueMessage | null>;
}
interface ValueMessage {
  structValue?: StructMessage | null;
  listValue?: { values?: (ValueMessage | null)[] } | null;
}

/** Decodes request bodies; `decode` is the service's `requestDeserialize`. */
export class RequestDecoder {
  readonly #request: protobuf.Type;
  readonly #value: protobuf.Type;

  /** Loads the message types (google/protobuf/struct.proto is bundled with protobufjs). */
  constructor() {
    const root = protobuf.loadSync(CA_PROTO);
    this.#request = root.lookupType('istio.v1.auth.IstioCertificateRequest');
    this.#value = root.lookupType('google.protobuf.Value');
  }

  /**
   * Decodes one request body. Never throws.
   *
   * @param bytes The gRPC message, as grpc-js hands it to `requestDeserialize`.
   */
  readonly decode = (bytes: Buffer): WireRequest => {
    // Go's strictness first (wire types, lengths, UTF-8, nesting); protobufjs is lenient.
    const malformed = checkRequestWire(bytes);
    if (malformed !== undefined) {
      return {
        kind: 'undecodable',
        reason: `request body is not an IstioCertificateRequest: ${malformed}`,
      };
    }
    let message: protobuf.Message & { metadata?: StructMessage | null };
    try {
      message = this.#request.decode(bytes);
    } catch (error) {
      // Not expected after the wire check; protobufjs' reader messages are short and fixed
      // ("index out of range: 12 + 4 > 13").
      return {
        kind: 'undecodable',
        reason: `request body is not an IstioCertificateRequest: ${errorMessage(error)}`,
      };
    }
    const metadata = message.metadata;
    if (metadata !== null && metadata !== undefined) {
      fillEmptyValues(metadata, () => this.#value.create() as ValueMessage);
    }
    try {
      return {
        kind: 'decoded',
        request: this.#request.toObject(message, TO_OBJECT) as IstioCertificateRequest__Output,
      };
    } catch (error) {
      // Not expected once the nulls are filled; kept so that "never throws" holds.
      return { kind: 'undecodable', reason: `request cannot be converted: ${errorMessage(error)}` };
    }
  };
}

/**
 * Gives every map entry decoded without a value an empty `Value`, as Go's protobuf does. The wire
 * check bounded the nesting, so the recursion is shallow.
 */
function fillEmptyValues(struct: StructMessage, empty: () => ValueMessage): void {
  const fields = struct.fields ?? {};
  for (const key of Object.keys(fields)) {
    let entry = fields[key];
    if (entry === null || entry === undefined) {
      entry = empty();
      fields[key] = entry;
    }
    fillValue(entry, empty);
  }
}

function fillValue(entry: ValueMessage, empty: () => ValueMessage): void {
  if (entry.structValue !== null && entry.structValue !== undefined)
    fillEmptyValues(entry.structValue, empty);
  const values = entry.listValue?.values ?? [];
  for (let index = 0; index < values.length; index++) {
    let item = values[index];
    if (item === null || item === undefined) {
      item = empty();
      values[index] = item;
    }
    fillValue(item, empty);
  }
}

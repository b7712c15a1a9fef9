/**
 * IstioCertificateRequest bodies written byte by byte (protobuf wire format), and a gRPC client
 * that sends any bytes as the body: for what no protobuf library would encode (map entries
 * without key or value, wrong wire types, truncated varints) and for bodies that are not protobuf
 * at all.
 */
import * as grpc from '@grpc/grpc-js';
import { CREATE_CERTIFICATE_PATH } from '../../src/server/index.js';

/** A varint (base 128, little-endian groups). */
export function varint(value: number | bigint): Buffer {
  let rest = BigInt.asUintN(64, BigInt(value));
  const bytes: number[] = [];
  do {
    const group = Number(rest & 0x7fn);
    rest >>= 7n;
    bytes.push(rest > 0n ? group | 0x80 : group);
  } while (rest > 0n);
  return Buffer.from(bytes);
}

/** A length-delimited field (wire type 2). */
export function lengthDelimited(field: number, value: Uint8Array | string): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  return Buffer.concat([varint((field << 3) | 2), varint(bytes.length), bytes]);
}

/** A varint field (wire type 0). */
export function varintField(field: number, value: number | bigint): Buffer {
  return Buffer.concat([varint(field << 3), varint(value)]);
}

/** A double field (wire type 1). */
export function doubleField(field: number, value: number): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeDoubleLE(value);
  return Buffer.concat([varint((field << 3) | 1), bytes]);
}

/** google.protobuf.Value kinds, already encoded as Value messages. */
export const value = {
  string: (text: string): Buffer => lengthDelimited(3, text),
  number: (n: number): Buffer => doubleField(2, n),
  bool: (b: boolean): Buffer => varintField(4, b ? 1 : 0),
  null: (): Buffer => varintField(1, 0),
  struct: (struct: Buffer): Buffer => lengthDelimited(5, struct),
  list: (...values: readonly Buffer[]): Buffer =>
    lengthDelimited(6, Buffer.concat(values.map((item) => lengthDelimited(1, item)))),
  /** A Value with no kind set. */
  empty: (): Buffer => Buffer.alloc(0),
};

/**
 * One `Struct.fields` map entry: key (field 1) and value (field 2), each left out when
 * undefined — an entry with neither is valid protobuf.
 */
export function structEntry(key: string | undefined, entryValue: Buffer | undefined): Buffer {
  return lengthDelimited(
    1,
    Buffer.concat([
      ...(key === undefined ? [] : [lengthDelimited(1, key)]),
      ...(entryValue === undefined ? [] : [lengthDelimited(2, entryValue)]),
    ]),
  );
}

/** A Struct from entries (each from {@link structEntry}). */
export function struct(...entries: readonly Buffer[]): Buffer {
  return Buffer.concat(entries);
}

/** An IstioCertificateRequest: csr = 1, validity_duration = 3, metadata = 4. */
export function requestBody(parts: {
  readonly csr?: string;
  readonly validity?: number | bigint;
  readonly metadata?: Buffer;
}): Buffer {
  return Buffer.concat([
    ...(parts.csr === undefined ? [] : [lengthDelimited(1, parts.csr)]),
    ...(parts.validity === undefined ? [] : [varintField(3, parts.validity)]),
    ...(parts.metadata === undefined ? [] : [lengthDelimited(4, parts.metadata)]),
  ]);
}

/** What a raw call ended with. */
export interface RawOutcome {
  readonly code: grpc.status;
  readonly details: string;
  /** The response body on OK. */
  readonly body: Buffer | undefined;
}

/** A gRPC client over TLS that sends bodies as given. */
export class RawCaClient {
  readonly #client: grpc.Client;

  constructor(address: string, rootCertPem: string, options: grpc.ChannelOptions = {}) {
    this.#client = new grpc.Client(
      address,
      grpc.credentials.createSsl(Buffer.from(rootCertPem)),
      options,
    );
  }

  /** Sends `body` to CreateCertificate with `metadata` (a bearer token, say). */
  call(
    body: Buffer,
    metadata: Readonly<Record<string, string>> = {},
    deadlineMs = 30_000,
  ): Promise<RawOutcome> {
    const grpcMetadata = new grpc.Metadata();
    for (const [key, text] of Object.entries(metadata)) grpcMetadata.set(key, text);
    return new Promise((resolve) => {
      this.#client.makeUnaryRequest(
        CREATE_CERTIFICATE_PATH,
        (bytes: Buffer) => bytes,
        (bytes: Buffer) => bytes,
        body,
        grpcMetadata,
        { deadline: Date.now() + deadlineMs },
        (error: grpc.ServiceError | null, response?: Buffer) => {
          resolve(
            error
              ? { code: error.code, details: error.details, body: undefined }
              : { code: grpc.status.OK, details: '', body: response },
          );
        },
      );
    });
  }

  close(): void {
    this.#client.close();
  }
}

import { loadIstioCaProto } from '../../src/server/index.js';
import { RequestDecoder } from '../../src/server/request-codec.js';

const decodeWireRequest = new RequestDecoder().decode;
import { MAX_METADATA_DEPTH } from '../../src/server/wire-check.js';
import { lengthDelimited, requestBody, struct, structEntry, value } from '../support/wire.js';

const CSR = '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n';
/** proto-loader's own deserializer: what grpc-js would have used. */
const protoLoaderDecode = (bytes: Buffer): unknown =>
  loadIstioCaProto().istio.v1.auth.IstioCertificateService.service.CreateCertificate.requestDeserialize(
    bytes,
  );

/** Struct nested `depth` levels deep: {a: {a: ... {a: "x"}}}. */
function nested(depth: number): Buffer {
  let inner = struct(structEntry('a', value.string('x')));
  for (let level = 1; level < depth; level++) inner = struct(structEntry('a', value.struct(inner)));
  return inner;
}

describe('decodeWireRequest', () => {
  it.each<[string, Buffer]>([
    ['an empty body (every field at its default)', Buffer.alloc(0)],
    [
      "istio-agent's request",
      requestBody({
        csr: CSR,
        validity: 86400,
        metadata: struct(structEntry('CertSigner', value.string(''))),
      }),
    ],
    [
      "ztunnel's request",
      requestBody({
        csr: CSR,
        metadata: struct(
          structEntry('ImpersonatedIdentity', value.string('spiffe://cluster.local/ns/a/sa/b')),
        ),
      }),
    ],
    ['a negative validity', requestBody({ csr: CSR, validity: -5 })],
    ['the largest int64 validity', requestBody({ csr: CSR, validity: 2n ** 63n - 1n })],
    [
      'every kind of metadata value',
      requestBody({
        metadata: struct(
          structEntry('n', value.number(1.5)),
          structEntry('b', value.bool(true)),
          structEntry('z', value.null()),
          structEntry('s', value.struct(struct(structEntry('x', value.string('y'))))),
          structEntry('l', value.list(value.string('a'), value.number(2))),
        ),
      }),
    ],
    [
      'the reserved field 2 (ignored)',
      Buffer.concat([lengthDelimited(2, 'subject'), requestBody({ csr: CSR })]),
    ],
    ['metadata nested to the limit', requestBody({ metadata: nested(MAX_METADATA_DEPTH) })],
  ])('decodes %s exactly as proto-loader does', (_name, bytes) => {
    const decoded = decodeWireRequest(bytes);
    expect(decoded).toEqual({ kind: 'decoded', request: protoLoaderDecode(bytes) });
  });

  it.each<[string, Buffer, string, boolean]>([
    ['neither key nor value', structEntry(undefined, undefined), '', true],
    ['a key and no value', structEntry('CertSigner', undefined), 'CertSigner', true],
    ['a value and no key', structEntry(undefined, value.string('x')), '', false],
  ])(
    'reads a metadata entry with %s as Go does (key "" when absent, an empty Value when absent)',
    (_name, entry, key, protoLoaderThrows) => {
      const bytes = requestBody({ csr: CSR, metadata: struct(entry) });
      // The defect: proto-loader's conversion dereferences the missing value.
      if (protoLoaderThrows) expect(() => protoLoaderDecode(bytes)).toThrow(TypeError);
      const decoded = decodeWireRequest(bytes);
      if (decoded.kind !== 'decoded') throw new Error(decoded.reason);
      expect(decoded.request.csr).toBe(CSR);
      expect(Object.keys(decoded.request.metadata?.fields ?? {})).toEqual([key]);
    },
  );

  it('fills empty values inside nested structs and lists too', () => {
    const inner = struct(structEntry('k', undefined));
    const bytes = requestBody({
      metadata: struct(
        structEntry('s', value.struct(inner)),
        structEntry('l', value.list(value.struct(inner))),
      ),
    });
    const decoded = decodeWireRequest(bytes);
    if (decoded.kind !== 'decoded') throw new Error(decoded.reason);
    const fields = decoded.request.metadata?.fields ?? {};
    expect(fields['s']?.structValue?.fields['k']).toEqual({});
    expect(fields['l']?.listValue?.values[0]?.structValue?.fields['k']).toEqual({});
  });

  it.each<[string, Buffer]>([
    ['a truncated varint', Buffer.from([0x18, 0x80])],
    ['a length past the end', Buffer.from([0x0a, 0x05, 0x41])],
    ['wire type 7', Buffer.from([0x0f, 0x00])],
    ['an end-group tag without a group', Buffer.from([0x0c])],
    ['JSON', Buffer.from('{"csr":"x"}')],
    ['HTTP', Buffer.from('GET / HTTP/1.1\r\n\r\n')],
    ['0xff bytes', Buffer.alloc(64, 0xff)],
    ['a metadata field that is not a Struct', Buffer.from([0x22, 0x02, 0xff, 0xff])],
    ['a string that is not UTF-8', Buffer.from([0x0a, 0x02, 0xc3, 0x28])],
    [
      'a metadata string that is not UTF-8',
      requestBody({ metadata: struct(structEntry('k', Buffer.from([0x1a, 0x01, 0xff]))) }),
    ],
    ['validity_duration as a string', lengthDelimited(3, '86400')],
    [
      'a double in place of a map entry',
      requestBody({ metadata: Buffer.from([0x09, 0, 0, 0, 0, 0, 0, 0, 0]) }),
    ],
    [
      'a varint longer than ten bytes',
      Buffer.concat([Buffer.from([0x18]), Buffer.alloc(11, 0x80), Buffer.from([1])]),
    ],
  ])('reports %s as undecodable, without throwing', (_name, bytes) => {
    const decoded = decodeWireRequest(bytes);
    expect(decoded.kind).toBe('undecodable');
    if (decoded.kind === 'undecodable') {
      expect(decoded.reason).toMatch(/^request body is not an IstioCertificateRequest: /);
      expect(decoded.reason.length).toBeLessThan(200);
    }
  });

  it('refuses metadata nested deeper than the limit, naming it', () => {
    const decoded = decodeWireRequest(requestBody({ metadata: nested(MAX_METADATA_DEPTH + 1) }));
    expect(decoded).toEqual({
      kind: 'undecodable',
      reason: `request body is not an IstioCertificateRequest: metadata is nested deeper than ${MAX_METADATA_DEPTH} levels`,
    });
  });

  it('survives nesting as deep as the message size allows', () => {
    // ~12,000 levels in 72 KiB: enough to overflow a recursive decoder's stack.
    let inner: Buffer = Buffer.alloc(0);
    while (inner.length < 70 * 1024)
      inner = lengthDelimited(5, lengthDelimited(1, lengthDelimited(2, inner)));
    expect(
      decodeWireRequest(requestBody({ metadata: lengthDelimited(1, lengthDelimited(2, inner)) }))
        .kind,
    ).toBe('undecodable');
  });

  it('never throws on random bytes', () => {
    let seed = 1;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let i = 0; i < 2000; i++) {
      const bytes = Buffer.from(
        Array.from({ length: Math.floor(random() * 64) }, () => Math.floor(random() * 256)),
      );
      expect(['decoded', 'undecodable']).toContain(decodeWireRequest(bytes).kind);
    }
  });
});

/**
 * Hostile request bodies and metadata: bytes that are not protobuf, valid protobuf meshca must
 * not choke on (empty map entries, unknown fields, int64 extremes), non-string and huge metadata
 * values, nesting past the limit, and messages past the 72 KiB bound.
 */
import { TRANSPORT_LIMITS } from '../../../src/server/index.js';
import {
  doubleField,
  lengthDelimited,
  requestBody,
  struct,
  structEntry,
  value,
  varint,
  varintField,
} from '../../support/wire.js';
import {
  AGENT_METADATA,
  agentRequest,
  authHeaders,
  type FuzzCase,
  type FuzzContext,
  type StatusName,
} from './cases.js';
import type { Random } from './random.js';

const INVALID: readonly StatusName[] = ['INVALID_ARGUMENT'];

function withBody(
  context: FuzzContext,
  kind: string,
  body: Buffer,
  allowed: readonly StatusName[],
  probes: readonly string[] = [],
): FuzzCase {
  return { name: kind, body, headers: authHeaders(context.token), allowed, probes };
}

/** A Struct `depth` levels deep, alternating structs and lists. */
function deep(depth: number): Buffer {
  let inner = value.string('x');
  for (let level = 0; level < depth; level++) {
    inner = level % 2 === 0 ? value.struct(struct(structEntry('k', inner))) : value.list(inner);
  }
  return struct(structEntry('k', inner));
}
// Nesting by concatenation is quadratic: depths stay in the hundreds (the limit is 32).

/** One hostile metadata case (with a valid token and CSR). */
export function hostileMetadataCase(context: FuzzContext, random: Random): FuzzCase {
  const request = (metadata: Buffer): Buffer => agentRequest(context.csrPem, metadata);
  switch (random.int(9)) {
    case 0: {
      const odd = random.pick([
        value.number(random.next() * 1e9),
        value.bool(random.chance(0.5)),
        value.null(),
        value.struct(struct(structEntry('a', value.string('b')))),
        value.list(value.string(context.uri)),
        value.empty(),
      ]);
      return withBody(
        context,
        'metadata/impersonated-not-a-string',
        request(struct(structEntry('ImpersonatedIdentity', odd))),
        INVALID,
      );
    }
    case 1: {
      // A string: impersonation is not configured here, so it is refused as unauthenticated.
      const identity = random.pick([
        'spiffe://cluster.local/ns/other/sa/x',
        'not a uri',
        `spiffe://cluster.local/ns/a/sa/${'b'.repeat(random.between(100, 30_000))}`,
        '\u0000\u0001',
      ]);
      return withBody(
        context,
        'metadata/impersonated-string',
        request(struct(structEntry('ImpersonatedIdentity', value.string(identity)))),
        ['UNAUTHENTICATED'],
        identity.length > 100 ? [identity] : [],
      );
    }
    case 2:
      return withBody(
        context,
        'metadata/impersonated-empty',
        request(struct(structEntry('ImpersonatedIdentity', value.string('')))),
        ['OK'],
      );
    case 3: {
      // Keys meshca does not read are ignored, whatever they hold.
      const odd = random.pick([
        value.number(Number.NaN),
        value.bool(true),
        value.null(),
        value.empty(),
        value.string('x'.repeat(random.between(0, 40_000))),
        value.list(...Array.from({ length: random.between(0, 500) }, () => value.number(1))),
      ]);
      return withBody(
        context,
        'metadata/ignored-values',
        request(struct(structEntry(random.pick(['CertSigner', 'ClusterID', 'x', '']), odd))),
        ['OK'],
      );
    }
    case 4: {
      const entries = Array.from({ length: random.between(100, 2500) }, (_, index) =>
        structEntry(`k${index}-${random.label(8)}`, value.string(random.label(8))),
      );
      const body = request(struct(...entries));
      return withBody(
        context,
        'metadata/many-keys',
        body,
        body.length > TRANSPORT_LIMITS.maxReceiveMessageBytes ? ['RESOURCE_EXHAUSTED'] : ['OK'],
      );
    }
    case 5: {
      const depth = random.between(33, 400);
      return withBody(context, 'metadata/too-deep', request(deep(depth)), INVALID);
    }
    case 6:
      return withBody(context, 'metadata/deep-within-limit', request(deep(random.between(1, 30))), [
        'OK',
      ]);
    case 7:
      return withBody(
        context,
        'metadata/empty-entries',
        request(
          struct(
            ...Array.from({ length: random.between(1, 20) }, () =>
              structEntry(
                random.chance(0.5) ? undefined : random.label(5),
                random.chance(0.5) ? undefined : value.string('v'),
              ),
            ),
          ),
        ),
        ['OK'],
      );
    default:
      // A key that is not UTF-8: not valid proto3.
      return withBody(
        context,
        'metadata/key-not-utf8',
        request(
          lengthDelimited(
            1,
            Buffer.concat([
              lengthDelimited(1, Buffer.from([0xc3, 0x28])),
              lengthDelimited(2, value.string('v')),
            ]),
          ),
        ),
        INVALID,
      );
  }
}

/** One hostile body case. */
export function hostileBodyCase(context: FuzzContext, random: Random): FuzzCase {
  const valid = agentRequest(context.csrPem);
  switch (random.int(11)) {
    case 0:
      return withBody(context, 'body/random-bytes', random.bytes(random.between(1, 4000)), INVALID);
    case 1:
      // Cut between fields, a truncated request may still be a whole (smaller) one.
      return withBody(context, 'body/truncated', valid.subarray(0, random.int(valid.length)), [
        'OK',
        'INVALID_ARGUMENT',
      ]);
    case 2:
      return withBody(
        context,
        'body/trailing-garbage',
        Buffer.concat([valid, random.bytes(random.between(1, 100))]),
        ['OK', 'INVALID_ARGUMENT'],
      );
    case 3: {
      const changed = Buffer.from(valid);
      const at = random.int(changed.length);
      changed[at] = (changed[at] ?? 0) ^ (1 + random.int(255));
      return withBody(context, 'body/byte-changed', changed, [
        'OK',
        'INVALID_ARGUMENT',
        'PERMISSION_DENIED',
      ]);
    }
    case 4: {
      const body = random.pick([
        Buffer.from(JSON.stringify({ csr: context.csrPem, validityDuration: '3600' })),
        Buffer.from('POST / HTTP/1.1\r\nHost: meshca\r\n\r\n'),
        Buffer.from(context.csrPem),
        lengthDelimited(3, '86400'),
        Buffer.concat([varint(0x0f), Buffer.from([0])]),
        Buffer.from([0x0b]),
        doubleField(1, 1),
      ]);
      return withBody(context, 'body/not-protobuf', body, INVALID);
    }
    case 5: {
      // Unknown fields of every wire type, and the reserved field 2: skipped.
      const unknown = random.pick([
        varintField(9, random.int(1 << 30)),
        doubleField(10, 1.5),
        lengthDelimited(2, 'subject-id'),
        lengthDelimited(15, random.bytes(random.between(0, 2000))),
        Buffer.concat([varint((11 << 3) | 5), Buffer.alloc(4)]),
      ]);
      return withBody(context, 'body/unknown-fields', Buffer.concat([unknown, valid]), ['OK']);
    }
    case 6: {
      const validity = random.pick([2n ** 63n - 1n, -(2n ** 63n), -1n, 0n, 1n, 2n ** 64n - 1n]);
      return withBody(
        context,
        'body/validity-extremes',
        requestBody({ csr: context.csrPem, validity, metadata: AGENT_METADATA }),
        ['OK'],
      );
    }
    case 7: {
      const size = TRANSPORT_LIMITS.maxReceiveMessageBytes + random.between(1, 200_000);
      return withBody(context, 'body/oversized', Buffer.alloc(size, random.int(256)), [
        'RESOURCE_EXHAUSTED',
      ]);
    }
    case 8: {
      // Exactly at the bound: an unknown field pads a valid request to the limit.
      const padding = TRANSPORT_LIMITS.maxReceiveMessageBytes - valid.length - 4;
      const body = Buffer.concat([lengthDelimited(15, Buffer.alloc(padding)), valid]);
      return withBody(
        context,
        'body/at-the-limit',
        body,
        body.length <= TRANSPORT_LIMITS.maxReceiveMessageBytes ? ['OK'] : ['RESOURCE_EXHAUSTED'],
      );
    }
    case 9:
      // The last csr field wins, as in every protobuf decoder.
      return withBody(
        context,
        'body/repeated-csr-field',
        Buffer.concat([lengthDelimited(1, 'garbage'), valid]),
        ['OK'],
      );
    default:
      return withBody(
        context,
        'body/csr-not-utf8',
        Buffer.concat([
          lengthDelimited(1, Buffer.from([0x2d, 0xff, 0xfe, 0x2d])),
          lengthDelimited(4, AGENT_METADATA),
        ]),
        INVALID,
      );
  }
}

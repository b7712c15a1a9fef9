/**
 * Hostile gRPC framing over a raw HTTP/2 session: what no gRPC client library sends (a length
 * prefix longer than the data, two messages on a unary call, garbage flagged as compressed, a
 * malformed grpc-timeout). grpc-js answers these itself, before meshca's code runs; the run
 * checks that the answer is a clean status and that the connection, and the server, carry on.
 */
import { gzipSync } from 'node:zlib';
import type { ClientHttp2Session } from 'node:http2';
import { CREATE_CERTIFICATE_PATH } from '../../../src/server/index.js';
import { agentRequest, type FuzzContext, type StatusName } from './cases.js';
import type { Random } from './random.js';

/** A framing case: headers beyond the gRPC ones, and the raw DATA written. */
export interface FramingCase {
  readonly name: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly data: readonly Buffer[];
  /** Status names, or `HTTP` for an answer that is not gRPC at all (415 for a wrong type). */
  readonly allowed: readonly (StatusName | 'HTTP')[];
}

/** A gRPC length-prefixed message. */
function message(body: Buffer, flag = 0, declared = body.length): Buffer {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt8(flag, 0);
  prefix.writeUInt32BE(declared, 1);
  return Buffer.concat([prefix, body]);
}

/** One hostile framing case (with a valid token). */
export function hostileFramingCase(context: FuzzContext, random: Random): FramingCase {
  const valid = agentRequest(context.csrPem);
  const auth = { authorization: `Bearer ${context.token}`, clusterid: 'Kubernetes' };
  const framed = (
    name: string,
    data: Buffer[],
    allowed: FramingCase['allowed'],
    headers: Record<string, string> = {},
  ): FramingCase => ({ name: `framing/${name}`, headers: { ...auth, ...headers }, data, allowed });
  switch (random.int(11)) {
    case 0:
      return framed(
        'length-past-data',
        [
          message(
            valid.subarray(0, random.int(valid.length)),
            0,
            valid.length + random.between(1, 1000),
          ),
        ],
        ['UNIMPLEMENTED'],
      );
    case 1:
      return framed('no-message', [], ['UNIMPLEMENTED']);
    case 2:
      return framed('two-messages', [message(valid), message(valid)], ['UNIMPLEMENTED']);
    case 3:
      return framed('cut-prefix', [Buffer.from([0, 0, 0])], ['UNIMPLEMENTED']);
    case 4:
      return framed('compressed-gzip', [message(gzipSync(valid), 1)], ['OK'], {
        'grpc-encoding': 'gzip',
      });
    case 5:
      // grpc-js' own answer to a message that does not inflate (documented in the README).
      return framed(
        'compressed-garbage',
        [message(random.bytes(random.between(1, 200)), 1)],
        ['INTERNAL'],
        { 'grpc-encoding': random.pick(['gzip', 'deflate']) },
      );
    case 6:
      return framed('unknown-encoding', [message(valid, 1)], ['UNIMPLEMENTED'], {
        'grpc-encoding': 'br',
      });
    case 7:
      // The compressed flag without an encoding: read as identity.
      return framed(
        'flag-without-encoding',
        [message(valid, random.pick([1, 2, 0x80, 0xff]))],
        ['OK'],
      );
    case 8:
      return framed('bad-timeout', [message(valid)], ['INTERNAL', 'OK'], {
        'grpc-timeout': random.pick(['xyz', '-1S', '99999999999H', '1', 'S']),
      });
    case 9:
      return framed('wrong-content-type', [message(valid)], ['HTTP'], {
        'content-type': random.pick(['application/json', 'text/plain']),
      });
    default:
      return {
        name: 'framing/unknown-method',
        headers: {
          ...auth,
          ':path': random.pick(['/istio.v1.auth.IstioCertificateService/Other', '/x', '/']),
        },
        data: [message(valid)],
        allowed: ['UNIMPLEMENTED'],
      };
  }
}

/** What a raw call got: a status name and its message, or `HTTP`. */
export interface FramingOutcome {
  readonly status: StatusName | 'HTTP' | 'RESET';
  readonly details: string;
}

const STATUS_NAMES: readonly StatusName[] = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];

/** Sends one framing case on `session`. */
export function sendFraming(
  session: ClientHttp2Session,
  framing: FramingCase,
): Promise<FramingOutcome> {
  return new Promise((resolve) => {
    const stream = session.request({
      ':method': 'POST',
      ':path': CREATE_CERTIFICATE_PATH,
      'content-type': 'application/grpc',
      te: 'trailers',
      ...framing.headers,
    });
    let outcome: FramingOutcome | undefined;
    const read = (fields: Record<string, string | string[] | number | undefined>): void => {
      const code = fields['grpc-status'];
      if (code !== undefined) {
        outcome = {
          status: STATUS_NAMES[Number(code)] ?? 'UNKNOWN',
          details: decodeURIComponent(String(fields['grpc-message'] ?? '')),
        };
      } else if (fields[':status'] !== undefined && fields[':status'] !== 200) {
        outcome = { status: 'HTTP', details: String(fields[':status']) };
      }
    };
    stream.on('response', read);
    stream.on('trailers', read);
    stream.on('error', () => undefined);
    stream.on('close', () => {
      resolve(outcome ?? { status: 'RESET', details: `RST_STREAM ${stream.rstCode}` });
    });
    stream.setTimeout(10_000, () => {
      stream.close();
    });
    stream.resume();
    for (const chunk of framing.data) stream.write(chunk);
    stream.end();
  });
}

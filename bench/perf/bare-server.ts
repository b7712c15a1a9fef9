/**
 * The bare gRPC ceiling: a grpc-js server with meshca's exact TLS settings and server options
 * whose CreateCertificate handler answers a constant certificate chain at once. What it serves
 * per second under the same load is what the RPC and TLS stack alone allow.
 *
 * Usage (forked by the benchmark): `bare-server.ts PORT CERT_CHAIN_FILE KEY_FILE CA_FILE PROCESSES`.
 * With PROCESSES > 1 it runs that many processes sharing the port (node:cluster), like meshca.
 *
 * @module
 */
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { RotatingServerCredentials } from '../../src/server/index.js';

const [port = '0', chainFile = '', keyFile = '', caFile = '', processes = '1'] =
  process.argv.slice(2);

function serve(): void {
  const chain = readFileSync(chainFile, 'utf8');
  const credentials = new RotatingServerCredentials({
    certificateChainPem: chain,
    privateKeyPem: readFileSync(keyFile, 'utf8'),
    clientCaPem: readFileSync(caFile, 'utf8'),
  });
  // The same options as meshca's listener (src/server/grpc.ts).
  const server = new grpc.Server({
    'grpc.max_receive_message_length': 72 * 1024,
    'grpc.max_concurrent_streams': 256,
    'grpc.keepalive_time_ms': 5 * 60 * 1000,
    'grpc.keepalive_timeout_ms': 20 * 1000,
  });
  // A response of the size meshca sends: leaf, intermediate, bundle (encoded once).
  const response = Buffer.concat([
    Buffer.from([0x0a]),
    varint(chain.length),
    Buffer.from(chain),
    Buffer.from([0x0a]),
    varint(chain.length),
    Buffer.from(chain),
  ]);
  server.register(
    '/istio.v1.auth.IstioCertificateService/CreateCertificate',
    (_call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      callback(null, response);
    },
    (value: Buffer) => value,
    (value: Buffer) => value,
    'unary',
  );
  server.bindAsync(`127.0.0.1:${port}`, credentials, (error) => {
    if (error) throw error;
    process.send?.({ kind: 'listening' });
  });
}

function varint(value: number): Buffer {
  const bytes: number[] = [];
  let rest = value;
  while (rest > 0x7f) {
    bytes.push((rest & 0x7f) | 0x80);
    rest >>>= 7;
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

if (Number(processes) > 1 && cluster.isPrimary) {
  let listening = 0;
  for (let index = 0; index < Number(processes); index++) {
    cluster.fork().on('message', () => {
      if (++listening === Number(processes)) process.send?.({ kind: 'listening' });
    });
  }
} else {
  serve();
}

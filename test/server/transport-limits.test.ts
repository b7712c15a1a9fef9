/**
 * The transport limits of `transport-limits.ts`, each at its edge, through a real TLS listener:
 * message sizes (plain and compressed), the header list (bytes and fields), streams per
 * connection and the handshake timeout. Past every limit the connection stays usable.
 */
import { compressionAlgorithms, status as Status } from '@grpc/grpc-js';
import { connect, type Socket } from 'node:net';
import { TRANSPORT_LIMITS } from '../../src/server/index.js';
import { removeTempDirs } from '../support/tmp.js';
import { RawCaClient, requestBody } from '../support/wire.js';
import { csrFor, startHarness, tokenCaller, type Harness } from './harness.js';

const ME = 'spiffe://cluster.local/ns/default/sa/app';
const AUTH = { authorization: 'Bearer default/app' };

describe('transport limits', () => {
  let harness: Harness;
  let raw: RawCaClient;
  let valid: Buffer;

  beforeAll(async () => {
    harness = await startHarness({ requestTimeoutMs: 20_000, maxInFlight: 1000 });
    raw = new RawCaClient(`localhost:${harness.port}`, harness.pki.files.rootCertPem);
    valid = requestBody({ csr: (await csrFor(ME)).csrPem });
  });
  afterAll(async () => {
    raw.close();
    await harness.stop();
    removeTempDirs();
  });

  /** The call that must still work on the same connection after each refusal. */
  const stillServes = async (): Promise<void> => {
    expect(Status[(await raw.call(valid, AUTH)).code]).toBe('OK');
  };

  it.each<[string, number, string]>([
    // A body of the limit reaches our decoder (and is refused as not protobuf).
    ['a message of exactly the limit', TRANSPORT_LIMITS.maxReceiveMessageBytes, 'INVALID_ARGUMENT'],
    ['a message one byte over', TRANSPORT_LIMITS.maxReceiveMessageBytes + 1, 'RESOURCE_EXHAUSTED'],
    ['a 5 MiB message', 5 * 1024 * 1024, 'RESOURCE_EXHAUSTED'],
  ])('%s (%i bytes): %s', async (_name, size, code) => {
    const outcome = await raw.call(Buffer.alloc(size, 0xff), AUTH);
    expect(Status[outcome.code]).toBe(code);
    await stillServes();
  });

  it('bounds a compressed message by its decompressed size', async () => {
    const gzip = new RawCaClient(`localhost:${harness.port}`, harness.pki.files.rootCertPem, {
      'grpc.default_compression_algorithm': compressionAlgorithms.gzip,
    });
    try {
      // A few KiB on the wire, 1 MiB once inflated.
      const outcome = await gzip.call(Buffer.alloc(1024 * 1024), AUTH);
      expect(Status[outcome.code]).toBe('RESOURCE_EXHAUSTED');
      expect(outcome.details).toMatch(/decompresses to a size larger than 73728/);
      expect(Status[(await gzip.call(valid, AUTH)).code]).toBe('OK');
    } finally {
      gzip.close();
    }
  });

  // Past the header bounds Node refuses the stream itself (RST_STREAM ENHANCE_YOUR_CALM, which
  // clients report as RESOURCE_EXHAUSTED; for some sizes and timings INTERNAL_ERROR instead).
  const REFUSED_BY_HTTP2 = ['RESOURCE_EXHAUSTED', 'INTERNAL'];
  it.each<[string, Record<string, string>, readonly string[]]>([
    ['a 20 KiB header list', { ...AUTH, 'x-padding': 'a'.repeat(20 * 1024) }, ['OK']],
    [
      'a header list over 32 KiB',
      { authorization: `Bearer ${'a'.repeat(40 * 1024)}` },
      REFUSED_BY_HTTP2,
    ],
    [
      'more than 64 header fields',
      Object.fromEntries(Array.from({ length: 70 }, (_, index) => [`x-field-${index}`, 'v'])),
      REFUSED_BY_HTTP2,
    ],
  ])('%s', async (_name, metadata, expected) => {
    const outcome = await raw.call(valid, metadata);
    expect(expected).toContain(Status[outcome.code]);
    await stillServes();
  });

  it(`runs at most ${TRANSPORT_LIMITS.maxConcurrentStreams} calls of one connection at once; the rest wait their turn`, async () => {
    // An established connection, whose client knows the server's SETTINGS (a client may send its
    // first flight of streams before it has read them; the server then refuses the excess).
    await stillServes();
    let inside = 0;
    let most = 0;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    harness.authenticator.behaviour = async (credentials) => {
      inside++;
      most = Math.max(most, inside);
      await gate;
      inside--;
      return tokenCaller(credentials);
    };
    try {
      const calls = Array.from({ length: 300 }, () => raw.call(valid, AUTH));
      const deadline = Date.now() + 15_000;
      while (inside < TRANSPORT_LIMITS.maxConcurrentStreams && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(most).toBe(TRANSPORT_LIMITS.maxConcurrentStreams);
      release();
      const outcomes = (await Promise.all(calls)).map((outcome) => Status[outcome.code]);
      // Every call the server took was answered. Node's HTTP/2 client holds the rest until a
      // stream frees; under a busy event loop a few may still be sent early and refused by the
      // server's HTTP/2 layer (RESOURCE_EXHAUSTED), never taken in.
      expect(outcomes.filter((code) => code === 'OK').length).toBeGreaterThanOrEqual(
        TRANSPORT_LIMITS.maxConcurrentStreams,
      );
      for (const code of outcomes) expect(['OK', 'RESOURCE_EXHAUSTED']).toContain(code);
    } finally {
      release();
      harness.authenticator.behaviour = undefined;
    }
  }, 60_000);

  it('closes a connection that stalls in the middle of its TLS handshake', async () => {
    const started = Date.now();
    const socket: Socket = connect(harness.port, '127.0.0.1');
    const closed = new Promise<number>((resolve) => {
      socket.on('close', () => {
        resolve(Date.now() - started);
      });
      socket.on('error', () => undefined);
    });
    // A TLS record header announcing a 512-byte ClientHello, and a few bytes of it.
    socket.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01]));
    const afterMs = await closed;
    expect(afterMs).toBeGreaterThanOrEqual(TRANSPORT_LIMITS.handshakeTimeoutMs - 100);
    expect(afterMs).toBeLessThan(TRANSPORT_LIMITS.handshakeTimeoutMs + 5_000);
    await stillServes();
  }, 30_000);
});

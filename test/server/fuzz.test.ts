/**
 * Hostile input, fuzzed: at least 10,000 seeded cases against a real in-process server over TLS
 * whose tokens are really verified (the development issuer's JWKS, as `--jwks` would). Every case
 * must end in a clean status — one of those it allows, never UNKNOWN — with a message of at most
 * 512 bytes that quotes no more than a short slice of what the case sent, and the valid request
 * sent after it must still be issued. Meanwhile TLS connections stall mid-handshake, and every one
 * must be closed by the server. The heap (after a forced GC) and RSS are measured after a
 * warm-up and at the end, and may grow by at most the bounds below.
 *
 * The seed is printed; `FUZZ_SEED=<seed>` replays a run, `FUZZ_CASES=<n>` changes its length,
 * `FUZZ_MAX_SECONDS` its time bound (240 s; a run takes about 50 s on a busy 2-core machine).
 */
import { generateKeyPairSync, createPrivateKey, createPublicKey, randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect as http2Connect, type ClientHttp2Session } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { status as Status } from '@grpc/grpc-js';
import {
  CachingTokenVerifier,
  ClusterResolver,
  JwtVerifier,
  KubeJwtAuthenticator,
} from '../../src/auth/index.js';
import { systemClock } from '../../src/clock.js';
import {
  DEV_TOKEN_ISSUER,
  devTokenIssuerLayout,
  ensureDevTokenIssuer,
  issueDevToken,
} from '../../src/devmode/index.js';
import { MAX_CLIENT_MESSAGE_BYTES } from '../../src/errors.js';
import { TRANSPORT_LIMITS } from '../../src/server/index.js';
import { forgeCsrDer, forgeKey } from '../support/csr-forge.js';
import { memoryAfterGc, type MemoryReading } from '../support/memory.js';
import { captureLogger } from '../support/server.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';
import { RawCaClient } from '../support/wire.js';
import { hostileBodyCase, hostileMetadataCase } from './fuzz/body-cases.js';
import { validCase, type FuzzCase, type FuzzContext } from './fuzz/cases.js';
import { hostileCsrCase } from './fuzz/csr-cases.js';
import { hostileFramingCase, sendFraming, type FramingCase } from './fuzz/framing-cases.js';
import { caseRandom, runSeed, type Random } from './fuzz/random.js';
import { hostileTokenCase } from './fuzz/token-cases.js';
import { startHarness, type Harness } from './harness.js';
import { encodePem, PEM_CERTIFICATE_REQUEST } from '../../src/asn1/index.js';

const SEED = runSeed(process.env['FUZZ_SEED'], () => randomInt(0, 2 ** 32 - 1));
const CASES = Number(process.env['FUZZ_CASES'] ?? 10_000);
/** The time bound: past it no new case starts, and the run fails for having done too few. */
const MAX_SECONDS = Number(process.env['FUZZ_MAX_SECONDS'] ?? 240);
const CONCURRENCY = 8;
/**
 * Each worker sends a valid request after every this many cases, on the same connection: every
 * case is followed by a valid request that must be issued, within its worker's next few calls. (One
 * after every single case would double the run's cost: a call costs ~2.5 ms of CPU in-process,
 * an issuance ~4 ms.)
 */
const VALID_EVERY = 4;
const WARM_UP = Math.min(500, Math.floor(CASES / 10));
/**
 * Growth allowed, each reading taken after a forced GC with no stalled connection open (each
 * holds TLS state until the server closes it). The heap and the native objects tied to it
 * (`external`: keys, TLS and HTTP/2 state) are compared between the warm-up and the end: a leak
 * of 2 KB per case is 20 MB. RSS also holds the pages V8 and malloc keep after a peak, so it is
 * compared between the middle of the run and the end, when it has reached its working size: a
 * leak grows it linearly, a working set does not. Typical runs: heap +1 MiB, external +0, RSS
 * over the second half ±30 MiB.
 */
const MAX_HEAP_GROWTH_BYTES = 16 * 1024 * 1024;
const MAX_EXTERNAL_GROWTH_BYTES = 16 * 1024 * 1024;
const MAX_RSS_GROWTH_BYTES = 64 * 1024 * 1024;
/** A message may quote at most this many characters of any one thing the case sent. */
const MAX_QUOTED_CHARS = 100;
/** Connections left stalled mid-handshake during the run. */
const STALLED_CONNECTIONS = 60;

type Family = 'csr' | 'token' | 'metadata' | 'body' | 'framing';
/** Shares of the families, out of 100. */
const MIX: readonly (readonly [Family, number])[] = [
  ['csr', 40],
  ['token', 18],
  ['metadata', 14],
  ['body', 20],
  ['framing', 8],
];

function family(random: Random): Family {
  let roll = random.int(100);
  for (const [name, share] of MIX) {
    if (roll < share) return name;
    roll -= share;
  }
  return 'csr';
}

/** Case `index` of this run: the same seed gives the same case. */
function caseAt(context: FuzzContext, index: number): FuzzCase | FramingCase {
  const random = caseRandom(SEED, index);
  switch (family(random)) {
    case 'csr':
      return hostileCsrCase(context, random);
    case 'token':
      return hostileTokenCase(context, random);
    case 'metadata':
      return hostileMetadataCase(context, random);
    case 'body':
      return hostileBodyCase(context, random);
    case 'framing':
      return hostileFramingCase(context, random);
  }
}

/** Whether `text` holds a slice of `probe` longer than `min` characters. */
function quotesMoreThan(text: string, probe: string, min: number): boolean {
  for (let start = 0; start + min < text.length; start++) {
    if (probe.includes(text.slice(start, start + min + 1))) return true;
  }
  return false;
}

describe(`hostile input, fuzzed (seed ${SEED}, ${CASES} cases; replay with FUZZ_SEED=${SEED})`, () => {
  let harness: Harness;
  let context: FuzzContext;

  beforeAll(async () => {
    // Printed before anything can fail, so that a failing run can always be replayed.
    process.stdout.write(`fuzz: seed ${SEED} (replay: FUZZ_SEED=${SEED}), ${CASES} cases\n`);
    const stateDir = tempDir('meshca-fuzz-');
    await ensureDevTokenIssuer(stateDir);
    const layout = devTokenIssuerLayout(stateDir);
    harness = await startHarness({
      logger: captureLogger(),
      requestTimeoutMs: 10_000,
      maxInFlight: 1000,
    });
    const verifier = new CachingTokenVerifier(
      new JwtVerifier(
        {
          jwks: { kind: 'file', path: layout.jwksFile },
          issuer: DEV_TOKEN_ISSUER,
          audiences: ['istio-ca'],
          clockToleranceSeconds: 30,
        },
        systemClock,
      ),
      {
        ttlMs: 60_000,
        staleTtlMs: 0,
        negativeTtlMs: 2000,
        maxEntries: 100_000,
        verifyTimeoutMs: 5000,
      },
      systemClock,
    );
    const real = new KubeJwtAuthenticator(
      'cluster.local',
      new ClusterResolver({ id: 'Kubernetes', aliases: [], value: verifier }),
    );
    harness.authenticator.behaviour = (credentials, signal) =>
      real.authenticate(credentials, signal);
    const issuerKey = createPrivateKey(readFileSync(layout.privateKeyFile, 'utf8'));
    const jwks = JSON.parse(readFileSync(layout.jwksFile, 'utf8')) as { keys: { kid: string }[] };
    const key = forgeKey();
    const uri = 'spiffe://cluster.local/ns/default/sa/fuzz';
    const csrDer = forgeCsrDer(key, uri);
    context = {
      key,
      namespace: 'default',
      serviceAccount: 'fuzz',
      uri,
      token: await issueDevToken(
        stateDir,
        { namespace: 'default', serviceAccount: 'fuzz', audiences: ['istio-ca'], ttlSeconds: 3600 },
        systemClock,
      ),
      issuerKey,
      issuerKid: jwks.keys[0]?.kid ?? '',
      issuerPublicPem: createPublicKey(issuerKey)
        .export({ type: 'spki', format: 'pem' })
        .toString(),
      issuerPublicJwk: JSON.stringify(jwks.keys[0]),
      issuer: DEV_TOKEN_ISSUER,
      otherEcKey: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey,
      otherRsaKey: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey,
      csrPem: encodePem(PEM_CERTIFICATE_REQUEST, csrDer),
      csrDer,
      nowSeconds: Math.floor(systemClock.now().getTime() / 1000),
    };
  });
  afterAll(async () => {
    await harness.stop();
    removeTempDirs();
  });

  it(
    'answers every case with a clean, bounded status, keeps serving, and stays flat in memory',
    async () => {
      const address = `localhost:${harness.port}`;
      const root = harness.pki.files.rootCertPem;
      const clients = [new RawCaClient(address, root), new RawCaClient(address, root)];
      const connectSession = (): ClientHttp2Session =>
        http2Connect(`https://${address}`, { ca: root }).on('error', () => undefined);
      let session = connectSession();
      const freshSession = (): ClientHttp2Session => {
        if (session.closed || session.destroyed) session = connectSession();
        return session;
      };
      const valid = validCase(context);
      const failures: string[] = [];
      const tally = new Map<string, number>();
      let baseline: MemoryReading | undefined;
      let middle: MemoryReading | undefined;
      const measure = memoryAfterGc;

      // Connections that send half a ClientHello and wait: the server must close each one.
      const stalled: Promise<number>[] = [];
      const stall = (): void => {
        const started = performance.now();
        const socket = netConnect(harness.port, '127.0.0.1');
        socket.on('error', () => undefined);
        socket.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc]));
        stalled.push(
          new Promise((resolve) => {
            socket.on('close', () => {
              resolve(performance.now() - started);
            });
          }),
        );
      };

      let next = 0;
      const started = performance.now();
      const timeline: string[] = [];
      const worker = async (slot: number): Promise<void> => {
        const client = clients[slot % clients.length] ?? clients[0];
        if (client === undefined) return;
        /** Cases sent since this worker's last valid request. */
        const pending: number[] = [];
        const checkValid = async (): Promise<void> => {
          const after = await client.call(valid.body, valid.headers, 15_000);
          if (after.code !== Status.OK) {
            failures.push(
              `the valid request after cases ${pending.join(', ')} got ${Status[after.code]}: ${after.details}`,
            );
          }
          pending.length = 0;
        };
        for (;;) {
          if (performance.now() - started > MAX_SECONDS * 1000) {
            if (pending.length > 0) await checkValid();
            return;
          }
          const index = next++;
          if (index >= CASES) {
            if (pending.length > 0) await checkValid();
            return;
          }
          if (index === WARM_UP) {
            baseline = measure();
            for (let i = 0; i < STALLED_CONNECTIONS / 2; i++) stall();
          }
          if (index === Math.floor(CASES / 2)) {
            middle = measure();
            for (let i = 0; i < STALLED_CONNECTIONS / 2; i++) stall();
          }
          const fuzzCase = caseAt(context, index);
          let status: string;
          let details: string;
          try {
            if ('data' in fuzzCase) {
              ({ status, details } = await sendFraming(freshSession(), fuzzCase));
            } else {
              const outcome = await client.call(fuzzCase.body, fuzzCase.headers, 15_000);
              status = Status[outcome.code];
              details = outcome.details;
            }
          } catch (error) {
            failures.push(`case ${index} (${fuzzCase.name}): could not be sent: ${String(error)}`);
            continue;
          }
          const key = `${fuzzCase.name} ${status}`;
          tally.set(key, (tally.get(key) ?? 0) + 1);
          const problems: string[] = [];
          if (!(fuzzCase.allowed as readonly string[]).includes(status)) {
            problems.push(`status ${status}, allowed ${fuzzCase.allowed.join('|')}`);
          }
          if (Buffer.byteLength(details, 'utf8') > MAX_CLIENT_MESSAGE_BYTES) {
            problems.push(`message of ${Buffer.byteLength(details)} bytes`);
          }
          const probes = 'probes' in fuzzCase ? (fuzzCase.probes ?? []) : [];
          if (probes.some((probe) => quotesMoreThan(details, probe, MAX_QUOTED_CHARS))) {
            problems.push('message quotes more than a short slice of the input');
          }
          if (problems.length > 0) {
            failures.push(
              `case ${index} (${fuzzCase.name}): ${problems.join('; ')} — "${details.slice(0, 200)}"`,
            );
          }
          pending.push(index);
          if (pending.length >= VALID_EVERY) await checkValid();
          if (index % 1000 === 999) {
            const usage = process.memoryUsage();
            timeline.push(
              `  after ${index + 1} cases: heap ${(usage.heapUsed / 2 ** 20).toFixed(1)} MiB, RSS ${(usage.rss / 2 ** 20).toFixed(1)} MiB`,
            );
          }
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, (_, slot) => worker(slot)));
      const elapsedMs = performance.now() - started;
      // Measured once the stalled connections are gone (each holds TLS state until the server
      // closes it), as the baseline was before the second batch.
      const closedAfter = await Promise.all(stalled);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const end = measure();
      for (const client of clients) client.close();
      session.close();

      const summary = [...tally]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([key, count]) => `  ${key}: ${count}`);
      const start = baseline ?? end;
      const half = middle ?? end;
      process.stdout.write(
        `fuzz: seed ${SEED}: ${CASES} cases (+${STALLED_CONNECTIONS} stalled handshakes) in ${(elapsedMs / 1000).toFixed(1)} s, ` +
          `${failures.length} failure(s); heap ${(start.heap / 2 ** 20).toFixed(1)} -> ${(end.heap / 2 ** 20).toFixed(1)} MiB, ` +
          `external ${(start.external / 2 ** 20).toFixed(1)} -> ${(end.external / 2 ** 20).toFixed(1)} MiB, ` +
          `RSS ${(start.rss / 2 ** 20).toFixed(1)} -> ${(half.rss / 2 ** 20).toFixed(1)} (middle) -> ${(end.rss / 2 ** 20).toFixed(1)} MiB\n${timeline.join('\n')}\n${summary.join('\n')}\n`,
      );
      expect(failures.slice(0, 20)).toEqual([]);
      expect(Math.min(next, CASES)).toBe(CASES); // all cases ran within the time bound
      // Every stalled handshake was closed by the server, at its handshake timeout.
      expect(closedAfter).toHaveLength(STALLED_CONNECTIONS);
      for (const ms of closedAfter)
        expect(ms).toBeLessThan(TRANSPORT_LIMITS.handshakeTimeoutMs + 10_000);
      expect(end.heap - start.heap).toBeLessThan(MAX_HEAP_GROWTH_BYTES);
      expect(end.external - start.external).toBeLessThan(MAX_EXTERNAL_GROWTH_BYTES);
      expect(end.rss - half.rss).toBeLessThan(MAX_RSS_GROWTH_BYTES);
    },
    (MAX_SECONDS + 60) * 1000,
  );
});

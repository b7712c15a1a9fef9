/**
 * One load-generator process (forked by loadgen.ts): TLS + HTTP/2 (ALPN h2) gRPC connections to
 * the target, sending pre-serialized CreateCertificate requests. Three modes:
 *
 * - `closed`: a fixed number of calls in flight over a fixed number of connections;
 * - `open`: calls sent on a fixed schedule, latency counted from the *scheduled* send time, so a
 *   stalled server shows in the figures instead of slowing the generator down (no coordinated
 *   omission). The schedule runs {@link OPEN_WARMUP_MS} longer than asked, and calls scheduled in
 *   that first stretch are not counted: the worker is a new process whose own JIT warm-up would
 *   otherwise show as the server's tail latency (measured: the first 250 ms had a median of
 *   ~115 ms in every run, the rest 5-30 ms);
 * - `herd`: each proxy opens its own new TLS connection, makes its one call, and retries as
 *   istio-agent does (5 attempts, exponential backoff from 100 ms with 10 % jitter, on
 *   UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, INTERNAL and CANCELLED;
 *   ISTIO-CONTRACT.md §2.4).
 *
 * @module
 */
import * as grpc from '@grpc/grpc-js';
import { readRequests, type WireRequest } from './request-set.js';

/** What the parent asks for. */
export interface WorkerTask {
  readonly mode: 'closed' | 'open' | 'herd';
  readonly address: string;
  readonly rootCertPem: string;
  readonly serverName: string;
  readonly requestsFile: string;
  /** The slice of the request file this worker uses. */
  readonly first: number;
  readonly count: number;
  /** closed/open: connections to spread calls over. */
  readonly connections: number;
  /** closed: calls in flight; herd: proxies in flight. */
  readonly concurrency: number;
  /** closed/open: how long to send. */
  readonly durationMs: number;
  /** open: calls per second sent by this worker. */
  readonly ratePerSecond: number;
}

/** What a worker reports. */
export interface WorkerResult {
  readonly completed: number;
  readonly ok: number;
  /** Latencies of successful calls, ms (for the herd: from release to the certificate). */
  readonly latencies: number[];
  readonly errors: Record<string, number>;
  readonly seconds: number;
  /** herd: attempts per proxy (index = attempts, value = proxies). */
  readonly attemptHistogram: number[];
}

const METHOD = '/istio.v1.auth.IstioCertificateService/CreateCertificate';
const RETRYABLE = new Set([
  grpc.status.UNAVAILABLE,
  grpc.status.DEADLINE_EXCEEDED,
  grpc.status.RESOURCE_EXHAUSTED,
  grpc.status.ABORTED,
  grpc.status.INTERNAL,
  grpc.status.CANCELLED,
]);
const identity = (buffer: Buffer): Buffer => buffer;
/** The uncounted start of an open loop (see the module comment). */
const OPEN_WARMUP_MS = 1000;

function channel(task: WorkerTask, own: boolean): grpc.Client {
  return new grpc.Client(task.address, grpc.credentials.createSsl(Buffer.from(task.rootCertPem)), {
    'grpc.ssl_target_name_override': task.serverName,
    'grpc.default_authority': task.serverName,
    // Each client its own connection: a herd proxy is one pod, and closed/open loads spread
    // over several connections as many proxies do.
    ...(own ? { 'grpc.use_local_subchannel_pool': 1 } : {}),
    'grpc.max_receive_message_length': 4 * 1024 * 1024,
  });
}

function call(client: grpc.Client, request: WireRequest): Promise<{ readonly code: grpc.status }> {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${request.token}`);
  metadata.set('clusterid', '');
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      METHOD,
      identity,
      identity,
      request.body,
      metadata,
      { deadline: Date.now() + 120_000 },
      (error) => {
        resolve({ code: error ? error.code : grpc.status.OK });
      },
    );
  });
}

function countError(errors: Record<string, number>, code: grpc.status): void {
  const name = grpc.status[code];
  errors[name] = (errors[name] ?? 0) + 1;
}

/** Opens the connections before the load starts, so that no call waits for a TLS handshake. */
async function connected(task: WorkerTask): Promise<grpc.Client[]> {
  const clients = Array.from({ length: task.connections }, () => channel(task, true));
  await Promise.all(
    clients.map(
      (client) =>
        new Promise<void>((resolve, reject) => {
          client.waitForReady(Date.now() + 30_000, (error) => {
            if (error) reject(error);
            else resolve();
          });
        }),
    ),
  );
  return clients;
}

async function closedLoop(
  task: WorkerTask,
  requests: WireRequest[],
  clients: grpc.Client[],
): Promise<WorkerResult> {
  const latencies: number[] = [];
  const errors: Record<string, number> = {};
  let completed = 0;
  let next = 0;
  const started = performance.now();
  const until = started + task.durationMs;
  await Promise.all(
    Array.from({ length: task.concurrency }, async (_, slot) => {
      const client = clients[slot % clients.length]!;
      while (performance.now() < until) {
        const request = requests[next++ % requests.length]!;
        const t0 = performance.now();
        const { code } = await call(client, request);
        completed++;
        if (code === grpc.status.OK) latencies.push(performance.now() - t0);
        else countError(errors, code);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  for (const client of clients) client.close();
  return { completed, ok: latencies.length, latencies, errors, seconds, attemptHistogram: [] };
}

async function openLoop(
  task: WorkerTask,
  requests: WireRequest[],
  clients: grpc.Client[],
): Promise<WorkerResult> {
  const latencies: number[] = [];
  const errors: Record<string, number> = {};
  const intervalMs = 1000 / task.ratePerSecond;
  const warmup = Math.floor((OPEN_WARMUP_MS / 1000) * task.ratePerSecond);
  const total = warmup + Math.floor((task.durationMs / 1000) * task.ratePerSecond);
  const started = performance.now();
  let sent = 0;
  let completed = 0;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = performance.now();
      // Send every call whose time has come; latency counts from that time, not from now.
      while (sent < total && started + sent * intervalMs <= now) {
        const scheduled = started + sent * intervalMs;
        const counted = sent >= warmup;
        const client = clients[sent % clients.length]!;
        const request = requests[sent % requests.length]!;
        sent++;
        void call(client, request).then(({ code }) => {
          completed++;
          if (!counted) {
            // The warm-up: errors still count, latencies do not.
            if (code !== grpc.status.OK) countError(errors, code);
          } else if (code === grpc.status.OK) latencies.push(performance.now() - scheduled);
          else countError(errors, code);
          if (completed === total) resolve();
        });
      }
      if (sent < total) setTimeout(tick, Math.max(0, started + sent * intervalMs - now));
    };
    tick();
  });
  const seconds = (performance.now() - started) / 1000 - OPEN_WARMUP_MS / 1000;
  for (const client of clients) client.close();
  return {
    completed: completed - warmup,
    ok: latencies.length,
    latencies,
    errors,
    seconds,
    attemptHistogram: [],
  };
}

async function herd(task: WorkerTask, requests: WireRequest[]): Promise<WorkerResult> {
  const latencies: number[] = [];
  const errors: Record<string, number> = {};
  const attemptHistogram: number[] = [0, 0, 0, 0, 0, 0];
  let next = 0;
  let completed = 0;
  const released = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(task.concurrency, requests.length) }, async () => {
      while (next < requests.length) {
        const request = requests[next++]!;
        const client = channel(task, true);
        let attempts = 0;
        let code: grpc.status;
        for (;;) {
          attempts++;
          ({ code } = await call(client, request));
          if (code === grpc.status.OK || !RETRYABLE.has(code) || attempts === 5) break;
          const backoff = 100 * 2 ** (attempts - 1) * (0.9 + Math.random() * 0.2);
          await new Promise((resolve) => setTimeout(resolve, backoff));
        }
        client.close();
        completed++;
        attemptHistogram[attempts] = (attemptHistogram[attempts] ?? 0) + 1;
        if (code === grpc.status.OK) latencies.push(performance.now() - released);
        else countError(errors, code);
      }
    }),
  );
  const seconds = (performance.now() - released) / 1000;
  return { completed, ok: latencies.length, latencies, errors, seconds, attemptHistogram };
}

/** Worker entry: read the task, connect, wait for "go", run, report. */
process.on('message', (message: { kind: string; task?: WorkerTask }) => {
  if (message.kind !== 'run' || message.task === undefined) return;
  const task = message.task;
  const requests = readRequests(task.requestsFile).slice(task.first, task.first + task.count);
  const run = task.mode === 'closed' ? closedLoop : task.mode === 'open' ? openLoop : herd;
  // A herd's proxies connect after the release, each on its own; the other loads connect first.
  const clients = task.mode === 'herd' ? Promise.resolve([]) : connected(task);
  void clients.then((ready) => {
    process.send?.({ kind: 'ready' });
    process.once('message', () => {
      void run(task, requests, ready).then((result) => {
        process.send?.({ kind: 'result', result }, () => {
          process.exit(0);
        });
      });
    });
  });
});

/**
 * A slow API server (a proxy that delays every byte by 30 s rather than cutting anything, as an
 * overloaded or half-partitioned one behaves), against the real API server:
 * - identities whose tokens meshca verified before keep being issued, within the 1 s a stale
 *   token waits for a fresh answer;
 * - tokens meshca has never seen get UNAVAILABLE after `tokenReviewTimeout`, all of them, however
 *   many arrive at once: nothing piles up — calls in flight fall back to zero, the connections to
 *   the API server stay within the TokenReview pool, and memory is the same after a second storm;
 * - once the API server is fast again, new tokens are accepted without a restart.
 */
import { status as Status, type ServiceError } from '@grpc/grpc-js';
import { startServer, type RunningServer } from '../../src/cli/serve.js';
import { CaClient } from '../../src/client/index.js';
import { loadConfig } from '../../src/config/index.js';
import { workloadSpiffeId } from '../../src/identity/index.js';
import { csrFor } from '../server/harness.js';
import {
  adminKubeConfig,
  createServiceAccount,
  describeKube,
  eventually,
  meshcaKubeArgs,
  requestToken,
  setupMeshcaNamespaces,
  uniqueName,
} from '../support/kube.js';
import { memoryAfterGc, mib } from '../support/memory.js';
import { createTestPki, writeTestPki } from '../support/pki.js';
import { memoryLogger } from '../support/server.js';
import { proxiedKubeconfig, type TcpProxy } from '../support/tcp-proxy.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';

const DELAY_MS = 30_000;
const REVIEW_TIMEOUT_MS = 2000;
const REVIEW_CONCURRENCY = 20;
const STORM = 150;
/** Heap growth allowed from one storm to the next (after a forced GC). */
const MAX_HEAP_GROWTH_BYTES = 8 * 1024 * 1024;

describeKube('a slow API server', () => {
  let proxy: TcpProxy;
  let server: RunningServer;
  let client: CaClient;
  let known: { token: string; csrPem: string };
  let fresh: { tokens: string[]; csrPem: string };

  beforeAll(async () => {
    const admin = adminKubeConfig();
    const namespaces = await setupMeshcaNamespaces(admin);
    const pki = await createTestPki({ name: 'slow' });
    const caDir = tempDir('meshca-ca-');
    await writeTestPki(caDir, pki);
    const proxied = await proxiedKubeconfig(namespaces.kubeconfig, tempDir('meshca-kubeconfig-'));
    proxy = proxied.proxy;
    await proxy.open();
    const args = meshcaKubeArgs(namespaces);
    args[args.indexOf('--kubeconfig') + 1] = proxied.kubeconfig;
    const { config } = await loadConfig({
      argv: [
        ...args,
        '--ca-dir',
        caDir,
        '--trusted-node-accounts',
        '',
        '--state-dir',
        tempDir('meshca-state-'),
        '--listen',
        '127.0.0.1:0',
        '--http-listen',
        '127.0.0.1:0',
        '--token-review-timeout',
        `${REVIEW_TIMEOUT_MS}ms`,
        '--token-review-concurrency',
        String(REVIEW_CONCURRENCY),
        // Short, so that the known token is stale (not fresh) during the slowness.
        '--token-cache-ttl',
        '2s',
      ],
      env: {},
      cwd: process.cwd(),
    });
    server = await startServer(config, { logger: memoryLogger().logger, processMetrics: false });
    client = new CaClient({
      address: `localhost:${server.grpcPort}`,
      rootCertPem: pki.files.rootCertPem,
    });

    const identity = async (prefix: string): Promise<{ account: string; csrPem: string }> => {
      const account = uniqueName(prefix);
      await createServiceAccount(admin, namespaces.meshca, account);
      const uri = workloadSpiffeId('cluster.local', namespaces.meshca, account).uri;
      return { account, csrPem: (await csrFor(uri)).csrPem };
    };
    const knownIdentity = await identity('known');
    known = {
      token: await requestToken(admin, namespaces.meshca, knownIdentity.account, {
        audiences: ['istio-ca'],
      }),
      csrPem: knownIdentity.csrPem,
    };
    const freshIdentity = await identity('fresh');
    // Distinct tokens (distinct lifetimes), minted directly, never shown to meshca yet.
    const tokens: string[] = [];
    for (let i = 0; i < 2 * STORM + 1; i++) {
      tokens.push(
        await requestToken(admin, namespaces.meshca, freshIdentity.account, {
          audiences: ['istio-ca'],
          expirationSeconds: 3600 + i,
        }),
      );
    }
    fresh = { tokens, csrPem: freshIdentity.csrPem };
  }, 120_000);
  afterAll(async () => {
    client.close();
    await server.stop();
    await proxy.close();
    removeTempDirs();
  });

  const call = async (token: string, csrPem: string): Promise<{ code: Status; ms: number }> => {
    const started = performance.now();
    try {
      await client.createCertificate({ csrPem, token });
      return { code: Status.OK, ms: performance.now() - started };
    } catch (error) {
      return { code: (error as ServiceError).code, ms: performance.now() - started };
    }
  };
  const inFlight = async (): Promise<number> => {
    const { body } = await server.metrics.exposition();
    const line = body
      .split('\n')
      .find((text) => text.startsWith('meshca_certificate_requests_in_flight '));
    return Number(line?.slice(line.lastIndexOf(' ') + 1));
  };
  /** STORM calls at once with tokens meshca never saw; their outcomes, and the in-flight peak. */
  const storm = async (
    tokens: string[],
  ): Promise<{ codes: Set<string>; maxMs: number; peak: number }> => {
    let peak = 0;
    const sampling = { done: false };
    const sampler = (async () => {
      while (!sampling.done) {
        peak = Math.max(peak, await inFlight());
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    const results = await Promise.all(tokens.map((token) => call(token, fresh.csrPem)));
    sampling.done = true;
    await sampler;
    return {
      codes: new Set(results.map((result) => Status[result.code])),
      maxMs: Math.max(...results.map((result) => result.ms)),
      peak,
    };
  };

  it('serves known identities, refuses new ones after tokenReviewTimeout without piling up, and recovers', async () => {
    expect((await call(known.token, known.csrPem)).code).toBe(Status.OK);

    proxy.setDelay(DELAY_MS);
    // The known token's fresh period (2 s) passes: from now on it is served stale.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const knownCall = await call(known.token, known.csrPem);
    expect(Status[knownCall.code]).toBe('OK');
    expect(knownCall.ms).toBeLessThan(2000); // at most 1 s waiting for a fresh answer

    const first = await storm(fresh.tokens.slice(0, STORM));
    expect(first.codes).toEqual(new Set(['UNAVAILABLE']));
    // Every call answered within the review timeout (queueing included), plus scheduling slack.
    expect(first.maxMs).toBeLessThan(REVIEW_TIMEOUT_MS + 2500);
    expect(first.peak).toBeLessThanOrEqual(STORM);
    expect(await inFlight()).toBe(0);
    // The TokenReview pool (concurrency + 16 for watches, the Lease and writes) bounds the
    // connections to the API server however many calls wait.
    expect(proxy.connections.peak).toBeLessThanOrEqual(REVIEW_CONCURRENCY + 16 + 4);

    const before = memoryAfterGc();
    const second = await storm(fresh.tokens.slice(STORM, 2 * STORM));
    expect(second.codes).toEqual(new Set(['UNAVAILABLE']));
    expect(await inFlight()).toBe(0);
    const after = memoryAfterGc();
    process.stdout.write(
      `slow API server: storms of ${STORM}, slowest answer ${first.maxMs.toFixed(0)}/${second.maxMs.toFixed(0)} ms, ` +
        `peak in flight ${first.peak}/${second.peak}, connections peak ${proxy.connections.peak}, ` +
        `heap ${mib(before.heap)} -> ${mib(after.heap)} MiB\n`,
    );
    expect(after.heap - before.heap).toBeLessThan(MAX_HEAP_GROWTH_BYTES);
    // Known identities were served throughout.
    expect(Status[(await call(known.token, known.csrPem)).code]).toBe('OK');

    proxy.setDelay(0);
    const last = fresh.tokens[2 * STORM] ?? '';
    await eventually(
      'a new token accepted again',
      async () => ((await call(last, fresh.csrPem)).code === Status.OK ? true : undefined),
      20_000,
    );
  }, 120_000);
});

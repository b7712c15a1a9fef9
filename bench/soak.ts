/**
 * `npm run soak` (not in CI): a bounded run of a real `meshca serve` process under steady
 * issuance with renewals, CA reloads and pod churn, printing its memory over time and a verdict
 * on whether it stays flat.
 *
 * - With a Kubernetes API server (one named by MESHCA_TEST_KUBECONFIG, or one started from the
 *   kube tools as the tests do): meshca runs under the manifests' RBAC with TokenReview, the pod
 *   index (ambient) and leader election; pods are created and deleted all the time, and part of
 *   the load uses pod-bound tokens of those pods.
 * - Without one: development mode (dev PKI, dev token issuer), without pod churn.
 *
 * Settings (environment): SOAK_MINUTES (10), SOAK_RATE calls/s (20), SOAK_IDENTITIES (100),
 * SOAK_RELOAD_SECONDS (60: a new intermediate under the same root), SOAK_CHURN_PER_SECOND (2),
 * SOAK_SAMPLE_SECONDS (30). Exit status 0 when memory stayed flat, 1 when it grew.
 */
import { spawn } from 'node:child_process';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { createCaCertificate, generateCaKey, type CaKeyPair } from '../src/ca/index.js';
import { CaClient } from '../src/client/index.js';
import { systemClock } from '../src/clock.js';
import { issueDevToken } from '../src/devmode/index.js';
import { parseCertificatesPem, type ParsedCertificate } from '../src/asn1/index.js';
import { csrFor } from '../test/server/harness.js';
import globalSetup from '../test/support/global-setup.js';
import globalTeardown from '../test/support/global-teardown.js';
import {
  adminKubeConfig,
  createPod,
  createServedNamespace,
  createServiceAccount,
  eventually,
  meshcaKubeArgs,
  requestToken,
  setupMeshcaNamespaces,
} from '../test/support/kube.js';
import { createTestPki, writeTestPki } from '../test/support/pki.js';
import { freePort } from '../test/support/process.js';
import { removeTempDirs, tempDir } from '../test/support/tmp.js';

const env = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);
const MINUTES = env('SOAK_MINUTES', 10);
const RATE = env('SOAK_RATE', 20);
const IDENTITIES = env('SOAK_IDENTITIES', 100);
const RELOAD_SECONDS = env('SOAK_RELOAD_SECONDS', 60);
const CHURN_PER_SECOND = env('SOAK_CHURN_PER_SECOND', 2);
const SAMPLE_SECONDS = Math.max(5, env('SOAK_SAMPLE_SECONDS', 30));
const out = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** One request meshca will keep renewing: its CSR and a way to get a current token. */
interface Identity {
  readonly csrPem: string;
  token: string;
}

/** What the mode sets up: the server's arguments, identities, and its own churn, if any. */
interface Mode {
  readonly name: string;
  readonly args: string[];
  readonly caDir: string;
  readonly root: { readonly cert: ParsedCertificate; readonly key: CaKeyPair };
  identities(): Promise<Identity[]>;
  /** One step of pod churn (create, token, certificate, delete); absent without a cluster. */
  readonly churn?: (client: CaClient, step: number) => Promise<void>;
}

async function clusterMode(): Promise<Mode> {
  const admin = adminKubeConfig();
  const core = admin.makeApiClient(k8s.CoreV1Api);
  const namespaces = await setupMeshcaNamespaces(admin);
  const served = `soak-${namespaces.run}`;
  await createServedNamespace(admin, namespaces, served);
  const pki = await createTestPki({ name: 'soak' });
  const caDir = tempDir('meshca-soak-ca-');
  await writeTestPki(caDir, pki);
  await createServiceAccount(admin, served, 'churn');
  const churnCsr = (await csrFor(`spiffe://cluster.local/ns/${served}/sa/churn`)).csrPem;
  const live: string[] = [];
  return {
    name: `cluster (a real API server; TokenReview, pod index, leader election, ${CHURN_PER_SECOND} pods/s churned)`,
    args: [...meshcaKubeArgs(namespaces), '--ca-dir', caDir, '--pod-name', 'meshca-soak'],
    caDir,
    root: { cert: pki.root.cert, key: pki.root.key },
    identities: async () => {
      const identities: Identity[] = [];
      for (let i = 0; i < IDENTITIES; i++) {
        const account = `soak-${i}`;
        await createServiceAccount(admin, served, account).catch(() => undefined);
        identities.push({
          csrPem: (await csrFor(`spiffe://cluster.local/ns/${served}/sa/${account}`)).csrPem,
          token: await requestToken(admin, served, account, { audiences: ['istio-ca'] }),
        });
      }
      return identities;
    },
    churn: async (client, step) => {
      const name = `churn-${step}`;
      const pod = await createPod(admin, served, name, 'churn');
      live.push(name);
      const token = await requestToken(admin, served, 'churn', {
        audiences: ['istio-ca'],
        pod: { name, uid: pod.metadata?.uid ?? '' },
      });
      await client.createCertificate({ csrPem: churnCsr, token });
      // Keep about twenty pods alive: the pod index sees a steady stream of adds and deletes.
      while (live.length > 20) {
        const old = live.shift();
        if (old !== undefined) await core.deleteNamespacedPod({ name: old, namespace: served });
      }
    },
  };
}

function developmentMode(): Mode {
  const stateDir = tempDir('meshca-soak-state-');
  return {
    name: 'development (no API server: dev PKI and token issuer, no pod churn)',
    args: ['--state-dir', stateDir],
    caDir: join(stateDir, 'ca'),
    // Read when first needed: meshca creates the development PKI when it starts.
    get root(): Mode['root'] {
      const rootDir = join(stateDir, 'dev-root');
      const [cert] = parseCertificatesPem(
        readFileSync(join(rootDir, 'root-cert.pem'), 'utf8'),
        'root',
      );
      const privateKey = createPrivateKey(readFileSync(join(rootDir, 'root-key.pem'), 'utf8'));
      if (cert === undefined) throw new Error('no development root');
      return { cert, key: { privateKey, publicKey: createPublicKey(privateKey) } };
    },
    identities: async () => {
      const identities: Identity[] = [];
      for (let i = 0; i < IDENTITIES; i++) {
        const account = `soak-${i}`;
        identities.push({
          csrPem: (await csrFor(`spiffe://cluster.local/ns/soak/sa/${account}`)).csrPem,
          token: await issueDevToken(
            stateDir,
            {
              namespace: 'soak',
              serviceAccount: account,
              audiences: ['istio-ca'],
              ttlSeconds: 7200,
            },
            systemClock,
          ),
        });
      }
      return identities;
    },
  };
}

/** Replaces the signing intermediate with a new one under the same root, all files at once. */
async function reloadCa(mode: Mode, generation: number): Promise<void> {
  const { root } = mode;
  const key = generateCaKey('ec-p256');
  const cert = await createCaCertificate({
    commonName: `soak signing intermediate ${generation}`,
    subjectKey: key,
    issuer: { cert: root.cert, privateKey: root.key.privateKey },
    notBefore: new Date(Date.now() - 3600_000),
    notAfter: new Date(Date.now() + 30 * 24 * 3600_000),
  });
  const staged = tempDir('meshca-soak-next-');
  const files: Record<string, string> = {
    'ca-cert.pem': cert.pem,
    'ca-key.pem': key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    'cert-chain.pem': cert.pem + root.cert.pem,
    'root-cert.pem': root.cert.pem,
  };
  for (const [name, text] of Object.entries(files)) {
    writeFileSync(join(staged, name), text, { mode: 0o600 });
    renameSync(join(staged, name), join(mode.caDir, name));
  }
}

/** Median of numbers. */
function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

/** Least-squares slope of `values` against `times` (in minutes): growth per minute. */
function slopePerMinute(times: readonly number[], values: readonly number[]): number {
  const n = times.length;
  const meanT = times.reduce((a, b) => a + b, 0) / n;
  const meanV = values.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  times.forEach((t, i) => {
    num += (t - meanT) * ((values[i] ?? 0) - meanV);
    den += (t - meanT) ** 2;
  });
  return den === 0 ? 0 : num / den;
}

async function main(): Promise<void> {
  await globalSetup();
  const cluster = process.env['MESHCA_TEST_KUBECONFIG'] !== undefined;
  const mode = cluster ? await clusterMode() : developmentMode();
  out(
    `meshca soak: ${MINUTES} min, ${RATE} calls/s over ${IDENTITIES} identities, CA reload every ${RELOAD_SECONDS} s`,
  );
  out(`mode: ${mode.name}${cluster ? '' : ` — ${process.env['MESHCA_TEST_KUBE_SKIP'] ?? ''}`}`);
  const grpcPort = await freePort();
  const httpPort = await freePort();
  const server = spawn(
    process.execPath,
    [
      'bin/meshca.js',
      'serve',
      ...mode.args,
      '--listen',
      `127.0.0.1:${grpcPort}`,
      '--http-listen',
      `127.0.0.1:${httpPort}`,
      '--log-level',
      'warn',
    ],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
      // Ours without the test helpers' MESHCA_TEST_* variables (meshca warns about unknown ones).
      env: Object.fromEntries(
        Object.entries(process.env).filter(([name]) => !name.startsWith('MESHCA_')),
      ),
    },
  );
  let stderr = '';
  server.stderr.on(
    'data',
    (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-20_000)),
  );
  const metrics = async (): Promise<string> =>
    (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const sample = (text: string, name: string): number =>
    Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? NaN);
  const rssMiB = (): number =>
    Number(
      /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${server.pid ?? 0}/status`, 'utf8'))?.[1] ?? 0,
    ) / 1024;
  try {
    await eventually(
      'meshca ready',
      async () =>
        (await fetch(`http://127.0.0.1:${httpPort}/readyz`)).status === 200 ? true : undefined,
      60_000,
    );
    const rootCertPem = readFileSync(join(mode.caDir, 'root-cert.pem'), 'utf8');
    const identities = await mode.identities();
    const clients = Array.from(
      { length: 8 },
      () => new CaClient({ address: `localhost:${grpcPort}`, rootCertPem }),
    );
    const counts = { issued: 0, errors: 0, churned: 0, reloads: 0 };
    const errors = new Map<string, number>();
    const endAt = performance.now() + MINUTES * 60_000;
    const running = (): boolean => performance.now() < endAt;

    const issuing = (async () => {
      let i = 0;
      const pending = new Set<Promise<void>>();
      while (running()) {
        const identity = identities[i % identities.length];
        const client = clients[i % clients.length];
        i++;
        if (identity === undefined || client === undefined) break;
        const call = client
          .createCertificate({ csrPem: identity.csrPem, token: identity.token })
          .then(
            () => {
              counts.issued++;
            },
            (error: unknown) => {
              counts.errors++;
              const key = String((error as { details?: string }).details ?? error).slice(0, 80);
              errors.set(key, (errors.get(key) ?? 0) + 1);
            },
          )
          .finally(() => pending.delete(call));
        pending.add(call);
        await sleep(1000 / RATE);
      }
      await Promise.all(pending);
    })();
    const reloading = (async () => {
      for (let generation = 1; running(); generation++) {
        await sleep(RELOAD_SECONDS * 1000);
        if (!running()) break;
        await reloadCa(mode, generation);
        counts.reloads++;
      }
    })();
    const churning = (async () => {
      const churn = mode.churn;
      if (churn === undefined) return;
      for (let step = 0; running(); step++) {
        const client = clients[step % clients.length];
        if (client === undefined) break;
        await churn(client, step).then(
          () => {
            counts.churned++;
          },
          (error: unknown) => {
            counts.errors++;
            const key = `churn: ${String(error).slice(0, 70)}`;
            errors.set(key, (errors.get(key) ?? 0) + 1);
          },
        );
        await sleep(1000 / CHURN_PER_SECOND);
      }
    })();

    const samples: { minute: number; rss: number; heap: number; external: number }[] = [];
    const started = performance.now();
    out('  time    issued  errors  churned  reloads   RSS MiB  heap MiB  external MiB');
    while (running()) {
      await sleep(Math.min(SAMPLE_SECONDS * 1000, Math.max(0, endAt - performance.now())));
      const text = await metrics();
      const point = {
        minute: (performance.now() - started) / 60_000,
        rss: rssMiB(),
        heap: sample(text, 'nodejs_heap_size_used_bytes') / 2 ** 20,
        external: sample(text, 'nodejs_external_memory_bytes') / 2 ** 20,
      };
      samples.push(point);
      out(
        `  ${point.minute.toFixed(1).padStart(5)}m ${String(counts.issued).padStart(8)} ${String(counts.errors).padStart(7)} ${String(counts.churned).padStart(8)} ${String(counts.reloads).padStart(8)} ${point.rss.toFixed(1).padStart(9)} ${point.heap.toFixed(1).padStart(9)} ${point.external.toFixed(1).padStart(13)}`,
      );
    }
    await Promise.all([issuing, reloading, churning]);
    for (const client of clients) client.close();
    const loaded = sample(await metrics(), 'meshca_ca_reloads_total\\{result="loaded"\\}');

    // The verdict: after a warm-up (a fifth of the run), the second half against the first.
    const settled = samples.slice(Math.max(1, Math.floor(samples.length / 5)));
    const half = Math.floor(settled.length / 2);
    const [early, late] = [settled.slice(0, half), settled.slice(half)];
    const growth = (pick: (s: (typeof samples)[number]) => number, windowMin: boolean): number => {
      const of = (window: typeof samples): number =>
        windowMin ? Math.min(...window.map(pick)) : median(window.map(pick));
      return of(late) - of(early);
    };
    const rssGrowth = growth((s) => s.rss, false);
    // The heap is read before GC: its lowest reading per half is the live heap.
    const heapGrowth = growth((s) => s.heap, true);
    const rssSlope = slopePerMinute(
      settled.map((s) => s.minute),
      settled.map((s) => s.rss),
    );
    const flat =
      settled.length >= 4 &&
      rssGrowth < Math.max(16, 0.05 * median(early.map((s) => s.rss))) &&
      heapGrowth < 8;
    out();
    out(
      `issued ${counts.issued}, errors ${counts.errors}, pods churned ${counts.churned}, CA reloads written ${counts.reloads} (loaded by meshca: ${loaded - 1})`,
    );
    for (const [message, count] of errors) out(`  error x${count}: ${message}`);
    out(
      `verdict: ${settled.length < 4 ? 'TOO SHORT to judge (raise SOAK_MINUTES or lower SOAK_SAMPLE_SECONDS)' : flat ? 'FLAT' : 'GROWING'} — ` +
        `RSS median ${rssGrowth >= 0 ? '+' : ''}${rssGrowth.toFixed(1)} MiB from the first to the second half (slope ${rssSlope.toFixed(2)} MiB/min), ` +
        `live heap ${heapGrowth >= 0 ? '+' : ''}${heapGrowth.toFixed(1)} MiB`,
    );
    process.exitCode = flat ? 0 : 1;
  } finally {
    server.kill('SIGTERM');
    await new Promise((resolve) => server.once('exit', resolve));
    if (process.exitCode !== 0 && stderr !== '')
      out(`meshca stderr (last lines):\n${stderr.split('\n').slice(-10).join('\n')}`);
    removeTempDirs();
    globalTeardown();
  }
}

await main();

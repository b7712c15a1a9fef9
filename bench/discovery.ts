/**
 * `npm run bench` section 5: a rogue-CA discovery scan of 5,000 Secrets (BENCH_SCALE scales it)
 * against a real kube-apiserver + etcd started for the purpose (../shared/tools/kube, on free
 * ports, wiped afterwards), read through the real KubeClusterCertificateReader with its default
 * page size. The Secrets look like a cert-manager cluster: 60 % kubernetes.io/tls with their own
 * leaf (every one distinct) and chain, 10 % Opaque with a CA bundle, 30 % Opaque without
 * certificates, and a handful of planted problems. Prints the time of a cold scan and of a second
 * one (verdict cache warm), and the peak heap and RSS growth sampled during each.
 *
 * Creating the Secrets takes most of the section's time; the API server is fast enough that no
 * fake of the port is needed.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createCaCertificate, generateCaKey, type ParsedCertificate } from '../src/ca/index.js';
import { systemClock } from '../src/clock.js';
import { Allowlist, ReportSink, Scanner, VerdictCache } from '../src/discovery/index.js';
import { KubeClusterCertificateReader } from '../src/kube/index.js';
import { createLogger } from '../src/logger.js';
import { pool, startBenchKube } from './kube.js';

const DAY = 86_400_000;

async function certificate(
  commonName: string,
  issuer: { cert: ParsedCertificate; key: ReturnType<typeof generateCaKey> } | undefined,
  isCa: boolean,
): Promise<{ cert: ParsedCertificate; key: ReturnType<typeof generateCaKey> }> {
  const key = generateCaKey('ec-p256');
  const now = Date.now();
  const cert = await createCaCertificate({
    commonName,
    subjectKey: key,
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + 90 * DAY),
    isCa,
    ...(issuer === undefined
      ? {}
      : { issuer: { cert: issuer.cert, privateKey: issuer.key.privateKey } }),
  });
  return { cert, key };
}

const b64 = (text: string): string => Buffer.from(text).toString('base64');

/** Samples memory while `work` runs; returns its result, seconds and peak growth. */
async function measured<T>(work: () => Promise<T>) {
  global.gc?.();
  const base = process.memoryUsage();
  let heap = base.heapUsed;
  let rss = base.rss;
  const timer = setInterval(() => {
    const now = process.memoryUsage();
    heap = Math.max(heap, now.heapUsed);
    rss = Math.max(rss, now.rss);
  }, 20);
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const started = performance.now();
  try {
    const result = await work();
    loop.disable();
    const seconds = (performance.now() - started) / 1000;
    const now = process.memoryUsage();
    heap = Math.max(heap, now.heapUsed);
    rss = Math.max(rss, now.rss);
    return {
      result,
      seconds,
      heapMb: (heap - base.heapUsed) / 2 ** 20,
      rssMb: (rss - base.rss) / 2 ** 20,
      peakHeapMb: heap / 2 ** 20,
      loopP99Ms: loop.percentile(99) / 1e6,
      loopMaxMs: loop.max / 1e6,
    };
  } finally {
    clearInterval(timer);
  }
}

/** The bench section. */
export async function discovery(out: (line?: string) => void, secrets: number): Promise<void> {
  out(
    `## 5. Rogue-CA discovery: a scan of ${secrets.toLocaleString('en-US')} Secrets against a real kube-apiserver`,
  );
  const kube = startBenchKube();
  if ('unavailable' in kube) {
    out(`   skipped: ${kube.unavailable}`);
    out();
    return;
  }
  const client = kube.client;
  try {
    const namespace = 'bench';
    await client.requestJson(
      'POST',
      '/api/v1/namespaces',
      { metadata: { name: namespace } },
      AbortSignal.timeout(30_000),
    );
    const root = await certificate('bench root', undefined, true);
    const intermediate = await certificate('bench issuing CA', root, true);
    const rogue = await certificate('rogue CA', undefined, true);
    const creating = performance.now();
    await pool(secrets, 16, async (index) => {
      const kind = index % 10;
      let type = 'Opaque';
      let data: Record<string, string>;
      if (index < 5) {
        data = { 'ca.crt': b64(rogue.cert.pem), 'tls.key': b64('not a real key') };
      } else if (kind < 6) {
        const leaf = await certificate(`svc-${index}.bench.svc`, intermediate, false);
        type = 'kubernetes.io/tls';
        data = {
          'tls.crt': b64(leaf.cert.pem + intermediate.cert.pem),
          'tls.key': b64(leaf.key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()),
          'ca.crt': b64(root.cert.pem),
        };
      } else if (kind === 6) {
        data = { 'ca.crt': b64(root.cert.pem + intermediate.cert.pem) };
      } else {
        data = {
          'config.yaml': b64(`replicas: ${index}\n`.repeat(20)),
          password: b64('x'.repeat(32)),
        };
      }
      await client.requestJson(
        'POST',
        `/api/v1/namespaces/${namespace}/secrets`,
        { metadata: { name: `secret-${index}` }, type, data },
        AbortSignal.timeout(30_000),
      );
    });
    const createSeconds = (performance.now() - creating) / 1000;
    out(
      `   created ${secrets.toLocaleString('en-US')} Secrets in ${createSeconds.toFixed(1)} s (${Math.round(secrets / createSeconds)}/s, 16 in flight)`,
    );

    const cache = new VerdictCache(100_000);
    const report = new ReportSink({ maxFindings: 10_000 });
    const scanner = new Scanner(
      {
        reader: new KubeClusterCertificateReader(client, {
          pageSize: 100,
          requestTimeoutMs: 60_000,
        }),
        anchors: () => [root.cert],
        allowlist: new Allowlist(),
        sinks: [report],
        cache,
        clock: systemClock,
        logger: createLogger({ level: 'silent' }),
      },
      { scope: { namespaces: [] }, expiringSoonMs: 30 * DAY, certManagerNamespace: 'cert-manager' },
    );
    for (const label of ['cold scan (verdict cache empty)', 'warm scan (verdict cache full)']) {
      const run = await measured(() => scanner.scan(new AbortController().signal));
      const summary = run.result;
      const read = summary.sources.find((source) => source.source === 'secrets')?.objects ?? 0;
      out(
        `   ${label.padEnd(32)} ${run.seconds.toFixed(2).padStart(6)} s   ${Math.round(
          read / run.seconds,
        )
          .toLocaleString('en-US')
          .padStart(6)} Secrets/s   ` +
          `heap +${run.heapMb.toFixed(1)} MB (peak ${run.peakHeapMb.toFixed(0)} MB)   RSS +${run.rssMb.toFixed(1)} MB`,
      );
      out(
        `   ${''.padEnd(32)} event loop delay during the scan: p99 ${run.loopP99Ms.toFixed(1)} ms, max ${run.loopMaxMs.toFixed(1)} ms`,
      );
      if (label.startsWith('cold')) {
        out(
          `   ${''.padEnd(32)} ${read} Secrets read, ${summary.certificates} distinct certificates, ${summary.findings} findings (${summary.complete ? 'complete' : 'INCOMPLETE'})`,
        );
      }
    }
    out(`   verdict cache: ${cache.size} certificates remembered between scans`);
  } finally {
    await kube.stop();
  }
  out();
}

/**
 * `npm run bench`: figures and ratios for the issuance hot path. Never a pass/fail test: these
 * machines are shared and noisy, so read the numbers, compare the ratios.
 *
 *  1. CSR validation (parse, rules, proof of possession) per second, ECDSA P-256 and RSA-2048.
 *  2. Leaf signing: meshca's DER template against building the same certificate with pkijs.
 *  3. Token verification: local JWT verification, cold and behind the cache.
 *  4. A restart storm against a real `meshca serve` process: thousands of distinct workloads
 *     asking at once, then renewing; throughput, latency percentiles, probe latency during the
 *     storm, and the server's memory.
 *  5. The ledger recorder: the cost of observing an event, and the writer's rate into SQLite.
 *  6. Rogue-CA discovery: a scan of 5,000 Secrets in a real kube-apiserver (bench/discovery.ts).
 *  7. A policy decision with the example policies (bench/policy.ts).
 *  8. Scale (bench/perf/): meshca against its own ceilings in one run — the openssl crypto
 *     ceiling, a bare grpc-js server, steady and open-loop load, a herd of proxies — with
 *     governance off and on.
 *
 * Sizes scale with BENCH_SCALE (default 1); BENCH_ONLY=csr,signing,tokens,storm,ledger,discovery,
 * policy,scale picks sections; `--json` prints every section's figures as JSON on the last line;
 * BENCH_SERVER_NODE_OPTIONS passes flags to the server process (e.g. --cpu-prof).
 */
import { spawn } from 'node:child_process';
import { webcrypto, createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { CachingTokenVerifier, JwtVerifier } from '../src/auth/index.js';
import {
  CertificateAuthority,
  createCaCertificate,
  generateCaKey,
  loadCaMaterial,
} from '../src/ca/index.js';
import { CaClient } from '../src/client/index.js';
import { systemClock } from '../src/clock.js';
import {
  CsrValidator,
  DEFAULT_KEY_POLICY,
  buildCsrPem,
  generateWorkloadKey,
} from '../src/csr/index.js';
import {
  DEV_TOKEN_ISSUER,
  devTokenIssuerLayout,
  ensureDevTokenIssuer,
  issueDevToken,
} from '../src/devmode/index.js';
import { workloadSpiffeId } from '../src/identity/index.js';
import { GENERAL_NAME_URI, OID_SUBJECT_ALT_NAME, createCryptoEngine } from '../src/asn1/index.js';
import { ledgerBench } from './ledger.js';
import { discovery } from './discovery.js';
import { scaleSection } from './perf/section.js';
import { policyBench } from './policy.js';

const SCALE = Number(process.env['BENCH_SCALE'] ?? '1');
const n = (count: number): number => Math.max(1, Math.round(count * SCALE));
const out = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};

/** Runs `task` `total` times with `concurrency` in flight; returns per-op latencies (ms) and wall time. */
async function load(
  total: number,
  concurrency: number,
  task: (index: number) => Promise<unknown>,
): Promise<{ latencies: number[]; seconds: number; errors: number }> {
  const latencies: number[] = [];
  let next = 0;
  let errors = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, total) }, async () => {
      while (next < total) {
        const index = next++;
        const t0 = performance.now();
        try {
          await task(index);
        } catch {
          errors++;
        }
        latencies.push(performance.now() - t0);
      }
    }),
  );
  return { latencies, seconds: (performance.now() - started) / 1000, errors };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

const fmt = (value: number, digits = 0): string =>
  value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

async function csrValidation(): Promise<void> {
  out('## 1. CSR validation (parse + rules + proof of possession), 64 in flight');
  const validator = new CsrValidator(DEFAULT_KEY_POLICY);
  const id = workloadSpiffeId('cluster.local', 'default', 'bench');
  for (const [label, type] of [
    ['ECDSA P-256', 'ec'],
    ['RSA-2048', 'rsa'],
  ] as const) {
    const key = await generateWorkloadKey(type);
    const pem = await buildCsrPem(key.keys, { uris: [id.uri] });
    const total = n(3000);
    const { seconds } = await load(total, 64, () => validator.validate(pem, id));
    out(`   ${label.padEnd(12)} ${fmt(total / seconds).padStart(8)} validations/s`);
  }
  out();
}

async function signing(): Promise<void> {
  out('## 2. Leaf signing with an ECDSA P-256 intermediate, 64 in flight');
  const now = new Date();
  const rootKey = generateCaKey('ec-p256');
  const root = await createCaCertificate({
    commonName: 'bench root',
    subjectKey: rootKey,
    notBefore: new Date(now.getTime() - 3600_000),
    notAfter: new Date(now.getTime() + 10 * 365 * 86400_000),
  });
  const intermediateKey = generateCaKey('ec-p256');
  const intermediate = await createCaCertificate({
    commonName: 'bench intermediate',
    subjectKey: intermediateKey,
    issuer: { cert: root, privateKey: rootKey.privateKey },
    notBefore: new Date(now.getTime() - 3600_000),
    notAfter: new Date(now.getTime() + 365 * 86400_000),
  });
  const material = loadCaMaterial(
    {
      caCertPem: intermediate.pem,
      caKeyPem: intermediateKey.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      certChainPem: undefined,
      rootCertPem: root.pem,
    },
    now,
  );
  const workload = await generateWorkloadKey('ec');
  const spkiDer = Buffer.from(await webcrypto.subtle.exportKey('spki', workload.keys.publicKey));
  const uri = 'spiffe://cluster.local/ns/default/sa/bench';
  const fields = {
    spkiDer,
    subjectAltNames: [{ type: 'uri' as const, value: uri }],
    notBefore: new Date(now.getTime() - 120_000),
    notAfter: new Date(now.getTime() + 86400_000),
  };
  const total = n(4000);
  const results: Record<string, number> = {};
  for (const verifyIssued of [false, true]) {
    const authority = new CertificateAuthority({ verifyIssued });
    authority.install(material);
    const { seconds } = await load(total, 64, () => authority.current().issue(fields));
    results[`template${verifyIssued ? '+check' : ''}`] = total / seconds;
  }

  // The same certificate built object by object with pkijs and signed through WebCrypto.
  const engine = createCryptoEngine();
  const issuerSchema = new pkijs.Certificate({ schema: asn1js.fromBER(intermediate.der).result });
  const signingKey = await webcrypto.subtle.importKey(
    'pkcs8',
    intermediateKey.privateKey.export({ type: 'pkcs8', format: 'der' }),
    { name: 'ECDSA', namedCurve: 'P-256' },
    false,
    ['sign'],
  );
  const pkijsIssue = async (): Promise<void> => {
    const cert = new pkijs.Certificate();
    cert.version = 2;
    cert.serialNumber = new asn1js.Integer({
      valueHex: webcrypto.getRandomValues(new Uint8Array(16)),
    });
    cert.issuer = issuerSchema.subject;
    cert.notBefore.value = fields.notBefore;
    cert.notAfter.value = fields.notAfter;
    await cert.subjectPublicKeyInfo.importKey(workload.keys.publicKey, engine);
    cert.extensions = [
      new pkijs.Extension({
        extnID: OID_SUBJECT_ALT_NAME,
        critical: true,
        extnValue: new pkijs.GeneralNames({
          names: [new pkijs.GeneralName({ type: GENERAL_NAME_URI, value: uri })],
        })
          .toSchema()
          .toBER(false),
      }),
    ];
    await cert.sign(signingKey, 'SHA-256', engine);
    cert.toSchema(true).toBER(false);
  };
  const pkijsRun = await load(total, 64, pkijsIssue);
  results['pkijs'] = total / pkijsRun.seconds;
  out(`   DER template             ${fmt(results['template'] ?? 0).padStart(8)} certificates/s`);
  out(
    `   DER template + self-check ${fmt(results['template+check'] ?? 0).padStart(7)} certificates/s`,
  );
  out(`   pkijs object building    ${fmt(results['pkijs']).padStart(8)} certificates/s`);
  out(
    `   ratio template / pkijs   ${fmt((results['template'] ?? 0) / results['pkijs'], 2).padStart(8)}x`,
  );
  out(
    `   cost of the self-check   ${fmt(100 * (1 - (results['template+check'] ?? 0) / (results['template'] ?? 1)), 1).padStart(8)}%`,
  );
  out();
}

async function tokens(stateDir: string): Promise<void> {
  out('## 3. Token verification (ES256, local JWKS), 64 in flight');
  await ensureDevTokenIssuer(stateDir);
  const verifier = new JwtVerifier(
    {
      jwks: { kind: 'file', path: devTokenIssuerLayout(stateDir).jwksFile },
      issuer: DEV_TOKEN_ISSUER,
      audiences: ['istio-ca'],
      clockToleranceSeconds: 30,
    },
    systemClock,
  );
  const cached = new CachingTokenVerifier(
    verifier,
    {
      ttlMs: 60_000,
      staleTtlMs: 3_600_000,
      negativeTtlMs: 2000,
      maxEntries: 100_000,
      verifyTimeoutMs: 5000,
    },
    systemClock,
  );
  const count = n(2000);
  const list = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      issueDevToken(
        stateDir,
        {
          namespace: 'bench',
          serviceAccount: `sa-${i}`,
          audiences: ['istio-ca'],
          ttlSeconds: 3600,
        },
        systemClock,
      ),
    ),
  );
  const verify = (i: number): Promise<unknown> =>
    cached.verify(list[i] ?? '', new AbortController().signal);
  const cold = await load(count, 64, verify);
  const warm = await load(count, 64, verify);
  out(`   cold (verify + cache fill) ${fmt(count / cold.seconds).padStart(8)} tokens/s`);
  out(`   warm (cache hits)          ${fmt(count / warm.seconds).padStart(8)} tokens/s`);
  out(`   ratio warm / cold          ${fmt(cold.seconds / warm.seconds, 1).padStart(8)}x`);
  out();
}

async function storm(stateDir: string): Promise<void> {
  const workloads = n(3000);
  const concurrency = 500;
  out(
    `## 4. Restart storm: ${fmt(workloads)} distinct workloads, ${concurrency} in flight, against \`meshca serve\``,
  );
  const port = 30000 + Math.floor(Math.random() * 20000);
  const httpPort = port + 1;
  const server = spawn(
    process.execPath,
    [
      ...(process.env['BENCH_SERVER_NODE_OPTIONS']?.split(' ').filter(Boolean) ?? []),
      'bin/meshca.js',
      'serve',
      '--state-dir',
      stateDir,
      '--listen',
      `127.0.0.1:${port}`,
      '--http-listen',
      `127.0.0.1:${httpPort}`,
      '--log-level',
      'warn',
      '--max-in-flight',
      '100000',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  server.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  try {
    for (let i = 0; i < 100; i++) {
      if (stderr.includes('Try:')) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const rss = (): number => {
      const status = readFileSync(`/proc/${server.pid ?? 0}/status`, 'utf8');
      return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
    };
    const cpuSeconds = (): number => {
      // /proc/<pid>/stat fields 14 and 15: utime and stime in clock ticks (100 per second).
      const fields =
        readFileSync(`/proc/${server.pid ?? 0}/stat`, 'utf8')
          .split(') ')[1]
          ?.split(' ') ?? [];
      return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) / 100;
    };
    const heapUsedMiB = async (): Promise<number> => {
      const text = await fetch(`http://127.0.0.1:${httpPort}/metrics`).then((r) => r.text());
      return Number(/^nodejs_heap_size_used_bytes (\S+)/m.exec(text)?.[1] ?? 0) / 1024 / 1024;
    };
    const rssIdle = rss();
    const heapIdle = await heapUsedMiB();
    const rootCertPem = readFileSync(join(stateDir, 'ca', 'root-cert.pem'), 'utf8');
    out('   preparing keys, CSRs and tokens...');
    const key = await generateWorkloadKey('ec');
    const rsaShare = 10; // every 10th workload uses RSA-2048, istio-agent's default
    const rsaKey = await generateWorkloadKey('rsa');
    const requests = await Promise.all(
      Array.from({ length: workloads }, async (_, i) => {
        const sa = `sa-${i}`;
        const uri = workloadSpiffeId('cluster.local', 'storm', sa).uri;
        return {
          csrPem: await buildCsrPem(i % rsaShare === 0 ? rsaKey.keys : key.keys, { uris: [uri] }),
          token: await issueDevToken(
            stateDir,
            { namespace: 'storm', serviceAccount: sa, audiences: ['istio-ca'], ttlSeconds: 3600 },
            systemClock,
          ),
        };
      }),
    );
    // Several channels, as many proxies would open many connections.
    const clients = Array.from(
      { length: 16 },
      () => new CaClient({ address: `localhost:${port}`, rootCertPem }),
    );
    const probeLatencies: number[] = [];
    const probing = new AbortController();
    const probe = (async () => {
      while (!probing.signal.aborted) {
        const t0 = performance.now();
        await fetch(`http://127.0.0.1:${httpPort}/readyz`).then((r) => r.text());
        probeLatencies.push(performance.now() - t0);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    const call = (i: number): Promise<string[]> => {
      const request = requests[i];
      const client = clients[i % clients.length];
      if (!request || !client) throw new Error('bench bug');
      return client.createCertificate({ csrPem: request.csrPem, token: request.token });
    };
    let peakRss = rssIdle;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, rss());
    }, 100);
    const cpu0 = cpuSeconds();
    const first = await load(workloads, concurrency, call);
    const cpu1 = cpuSeconds();
    const second = await load(workloads, concurrency, call);
    const cpu2 = cpuSeconds();
    clearInterval(sampler);
    probing.abort();
    await probe;
    for (const client of clients) client.close();
    const report = (label: string, run: typeof first): void => {
      out(
        `   ${label.padEnd(26)} ${fmt(workloads / run.seconds).padStart(7)} certs/s   p50 ${fmt(percentile(run.latencies, 50), 1).padStart(6)} ms   p95 ${fmt(percentile(run.latencies, 95), 1).padStart(6)} ms   p99 ${fmt(percentile(run.latencies, 99), 1).padStart(6)} ms   errors ${run.errors}`,
      );
    };
    report('storm (cold token cache)', first);
    report('renewal (warm token cache)', second);
    out(
      `   ratio renewal / storm      ${fmt(first.seconds / second.seconds, 2).padStart(7)}x throughput`,
    );
    out(
      `   server CPU per certificate storm ${fmt(((cpu1 - cpu0) * 1000) / workloads, 2)} ms, renewal ${fmt(((cpu2 - cpu1) * 1000) / workloads, 2)} ms (all server threads)`,
    );
    out(
      `   /readyz during the storm   p50 ${fmt(percentile(probeLatencies, 50), 1)} ms, max ${fmt(Math.max(...probeLatencies), 1)} ms over ${probeLatencies.length} probes`,
    );
    out(
      `   server RSS                 idle ${fmt(rssIdle, 1)} MiB, peak ${fmt(peakRss, 1)} MiB, after ${fmt(rss(), 1)} MiB`,
    );
    const heapAfter = await heapUsedMiB();
    out(
      `   server JS heap in use      idle ${fmt(heapIdle, 1)} MiB, after ${fmt(heapAfter, 1)} MiB (${fmt(((heapAfter - heapIdle) * 1024) / workloads, 2)} KiB per cached workload, before GC)`,
    );
  } finally {
    server.kill('SIGTERM');
  }
  out();
}

async function main(): Promise<void> {
  const stateDir = mkdtempSync(join(tmpdir(), 'meshca-bench-'));
  try {
    out(
      `meshca benchmark (Node ${process.version}, scale ${SCALE}, ${createHash('sha256').update(String(Date.now())).digest('hex').slice(0, 6)})`,
    );
    out();
    const only = process.env['BENCH_ONLY']?.split(',');
    // A section may return its figures; `--json` prints them all on the last line.
    const sections: [string, () => Promise<unknown>][] = [
      ['csr', csrValidation],
      ['signing', signing],
      ['tokens', () => tokens(stateDir)],
      ['storm', () => storm(stateDir)],
      ['ledger', () => ledgerBench(stateDir, n(20_000), out)],
      ['discovery', () => discovery(out, n(5000))],
      ['policy', () => policyBench(out, n(100_000))],
      ['scale', () => scaleSection(SCALE, out)],
    ];
    const figures: Record<string, unknown> = {};
    for (const [name, section] of sections) {
      if (only !== undefined && !only.includes(name)) continue;
      const result = await section();
      if (result !== undefined) figures[name] = result;
    }
    if (process.argv.includes('--json')) {
      process.stdout.write(
        `${JSON.stringify({ node: process.version, scale: SCALE, ...figures })}\n`,
      );
    }
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
}

await main();

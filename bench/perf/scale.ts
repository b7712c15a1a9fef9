/**
 * The scale benchmark of issue #12: meshca and its ceilings measured in one run.
 *
 * - `cryptoPerSec`: openssl CSR-verify + CA-sign pairs on all cores;
 * - `bareRpcPerSec`: a bare grpc-js server (constant answer) under the same TLS, load and number
 *   of processes as meshca;
 * - steady load on reused connections, for both CSR shapes, with a P-256 and an RSA-2048
 *   intermediate: issued/s, `compositeCeilingPerSec` = 1/(1/crypto + 1/bare), `ratio`, p50/p99,
 *   errors by code, meshca's CPU per certificate, peak RSS;
 * - an open loop at half the measured maximum (latency from the scheduled send time);
 * - a herd of proxies, each on its own new TLS connection, retrying as istio-agent does,
 *   against meshca and against the bare server.
 *
 * @module
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CertificateAuthority,
  createCaCertificate,
  generateCaKey,
  issueServerCertificate,
  loadCaDirectory,
  writeCaDirectory,
  type CaKeyType,
} from '../../src/ca/index.js';
import { systemClock } from '../../src/clock.js';
import {
  DEV_TOKEN_ISSUER,
  devTokenIssuerLayout,
  ensureDevTokenIssuer,
  issueDevToken,
} from '../../src/devmode/index.js';
import { compositeCeiling, cryptoPerSecond, measureCryptoSpeeds } from './ceilings.js';
import { percentile, runLoad, type LoadResult, type LoadSpec, type Target } from './loadgen.js';
import { machineCpu, startBareServer, startMeshca, type ServerProcess } from './processes.js';
import { buildRequests, writeRequests, type CsrShape } from './request-set.js';

/** Knobs, from the environment (BENCH_SCALE shortens everything). */
export interface ScaleOptions {
  readonly scale: number;
  readonly steadySeconds: number;
  readonly herdProxies: number;
  readonly herdInFlight: number;
  readonly loadProcesses: number;
  readonly connections: number;
  readonly inFlight: number;
  /** Extra `meshca serve` arguments per configuration (governance off/on). */
  readonly configurations: readonly {
    readonly name: string;
    readonly args: (context: Fixture, caDir: string) => readonly string[];
  }[];
}

/** What the scenarios share: PKIs, tokens, request files. */
export interface Fixture {
  readonly dir: string;
  readonly jwksFile: string;
  readonly caDirs: Readonly<Record<'ec' | 'rsa', string>>;
  readonly rootPem: Readonly<Record<'ec' | 'rsa', string>>;
  readonly requestFiles: Readonly<Record<CsrShape, string>>;
  readonly herdFile: string;
  readonly requestCount: number;
}

/** One scenario's figures. */
export interface ScenarioFigures {
  readonly configuration: string;
  readonly scenario: string;
  readonly issuedPerSec: number;
  readonly cryptoPerSec: number;
  readonly bareRpcPerSec: number;
  readonly compositeCeilingPerSec: number;
  readonly ratio: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: Record<string, number>;
  readonly cpuMsPerCert: number;
  readonly peakRssMiB: number;
  /**
   * Where the machine's cores went during the scenario, in cores: meshca, everything else that
   * ran (the load generator, the API server and etcd with governance on), idle, and the share the
   * hypervisor gave to other machines (steal).
   */
  readonly cores: {
    readonly meshca: number;
    readonly others: number;
    readonly idle: number;
    readonly steal: number;
  };
}

/** The half-rate open loop. */
export interface OpenLoopFigures {
  readonly configuration: string;
  readonly scenario: string;
  readonly ratePerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: Record<string, number>;
}

/** The herd. */
export interface HerdFigures {
  readonly configuration: string;
  readonly proxies: number;
  readonly inFlight: number;
  readonly seconds: number;
  readonly bareSeconds: number;
  readonly ratioToBare: number;
  readonly retriedProxies: number;
  readonly maxAttempts: number;
  readonly failures: number;
  readonly errors: Record<string, number>;
  readonly p99Ms: number;
  readonly peakRssMiB: number;
}

const TRUST_DOMAIN = 'cluster.local';
/** The namespace of every identity of the load. */
export const BENCH_NAMESPACE = 'bench';

async function writePki(dir: string, type: CaKeyType): Promise<string> {
  const now = new Date();
  const rootKey = generateCaKey(type);
  const root = await createCaCertificate({
    commonName: `bench root ${type}`,
    subjectKey: rootKey,
    notBefore: new Date(now.getTime() - 3_600_000),
    notAfter: new Date(now.getTime() + 10 * 365 * 86_400_000),
  });
  const key = generateCaKey(type);
  const intermediate = await createCaCertificate({
    commonName: `bench intermediate ${type}`,
    subjectKey: key,
    issuer: { cert: root, privateKey: rootKey.privateKey },
    notBefore: new Date(now.getTime() - 3_600_000),
    notAfter: new Date(now.getTime() + 365 * 86_400_000),
    pathLength: 0,
  });
  await writeCaDirectory(dir, {
    caCertPem: intermediate.pem,
    caKeyPem: key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    certChainPem: intermediate.pem + root.pem,
    rootCertPem: root.pem,
  });
  return root.pem;
}

/** Builds PKIs (P-256 and RSA-2048 intermediates), a token issuer, and request files. */
export async function buildFixture(
  dir: string,
  requestCount: number,
  herdProxies: number,
  pods?: readonly { readonly name: string; readonly uid: string }[],
): Promise<Fixture> {
  const ecDir = join(dir, 'ca-ec');
  const rsaDir = join(dir, 'ca-rsa');
  const rootPem = { ec: await writePki(ecDir, 'ec-p256'), rsa: await writePki(rsaDir, 'rsa-2048') };
  const tokenDir = join(dir, 'tokens');
  mkdirSync(tokenDir, { recursive: true });
  await ensureDevTokenIssuer(tokenDir);
  const identities = Array.from({ length: Math.max(requestCount, herdProxies) }, (_, index) => ({
    namespace: BENCH_NAMESPACE,
    serviceAccount: `sa-${index}`,
  }));
  const tokens = new Map<number, string>();
  const tokenFor = async (index: number): Promise<string> => {
    let token = tokens.get(index);
    if (token === undefined) {
      const identity = identities[index];
      if (identity === undefined) throw new Error('bench bug: no identity');
      // Bound to the identity's pod when there is a cluster, as the kubelet's projected tokens
      // are: the just-in-time check of governance needs it (meshca ignores it otherwise).
      const pod = pods?.[index];
      token = await issueDevToken(
        tokenDir,
        {
          ...identity,
          audiences: ['istio-ca'],
          ttlSeconds: 6 * 3600,
          ...(pod === undefined ? {} : { pod }),
        },
        systemClock,
      );
      tokens.set(index, token);
    }
    return token;
  };
  const requestFiles = {} as Record<CsrShape, string>;
  for (const shape of ['istio-agent-rsa', 'ztunnel-ec'] as const) {
    const file = join(dir, `requests-${shape}.bin`);
    writeRequests(
      file,
      await buildRequests(identities.slice(0, requestCount), shape, TRUST_DOMAIN, tokenFor),
    );
    requestFiles[shape] = file;
  }
  const herdFile = join(dir, 'requests-herd.bin');
  writeRequests(
    herdFile,
    await buildRequests(
      identities.slice(0, herdProxies),
      'istio-agent-rsa',
      TRUST_DOMAIN,
      tokenFor,
    ),
  );
  return {
    dir,
    jwksFile: devTokenIssuerLayout(tokenDir).jwksFile,
    caDirs: { ec: ecDir, rsa: rsaDir },
    rootPem,
    requestFiles,
    herdFile,
    requestCount,
  };
}

/**
 * What every configuration shares: the given CA, tokens verified against the fixture's JWKS, a
 * fresh state directory.
 */
export function commonArgs(fixture: Fixture, caDir: string): string[] {
  return [
    '--ca-dir',
    caDir,
    '--jwks',
    fixture.jwksFile,
    '--jwt-issuer',
    DEV_TOKEN_ISSUER,
    '--state-dir',
    join(fixture.dir, `state-${Math.random().toString(36).slice(2)}`),
  ];
}

/** meshca's arguments without governance: no cluster, the identity ledger off (on by default). */
export function plainArgs(fixture: Fixture, caDir: string): string[] {
  return [...commonArgs(fixture, caDir), '--ledger', 'off', '--kubeconfig', 'none'];
}

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => {
        resolve(port);
      });
    });
  });
}

/** Samples a server's RSS while `work` runs; returns work's result and the peak. */
async function withPeakRss<T>(
  server: ServerProcess,
  work: () => Promise<T>,
): Promise<{ readonly value: T; readonly peakRssMiB: number }> {
  let peak = server.rssMiB();
  const timer = setInterval(() => {
    peak = Math.max(peak, server.rssMiB());
  }, 100);
  try {
    return { value: await work(), peakRssMiB: peak };
  } finally {
    clearInterval(timer);
  }
}

/** The bare server's identity: a serving certificate from the same intermediate. */
async function bareIdentity(
  fixture: Fixture,
  kind: 'ec' | 'rsa',
): Promise<{ chain: string; key: string; ca: string }> {
  const material = await loadCaDirectory(fixture.caDirs[kind], new Date());
  const authority = new CertificateAuthority({ verifyIssued: false });
  authority.install(material);
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const issued = await issueServerCertificate(
    authority.current(),
    {
      publicKey,
      subjectAltNames: [{ type: 'dns', value: 'localhost' }],
      ttlSeconds: 86_400,
      backdateSeconds: 60,
    },
    new Date(),
  );
  const files = {
    chain: join(fixture.dir, `bare-${kind}-chain.pem`),
    key: join(fixture.dir, `bare-${kind}-key.pem`),
    ca: join(fixture.dir, `bare-${kind}-ca.pem`),
  };
  writeFileSync(files.chain, [issued.pem, ...issued.intermediatePems].join(''));
  writeFileSync(files.key, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), {
    mode: 0o600,
  });
  writeFileSync(files.ca, fixture.rootPem[kind]);
  return files;
}

/** Runs every scenario; `report` receives each figure as it comes. */
export async function runScale(
  fixture: Fixture,
  options: ScaleOptions,
  report: {
    readonly line: (text: string) => void;
    readonly steady: (figures: ScenarioFigures) => void;
    readonly open: (figures: OpenLoopFigures) => void;
    readonly herd: (figures: HerdFigures) => void;
  },
): Promise<{
  readonly cryptoPerSec: Record<string, number>;
  readonly bareRpcPerSec: number;
  /** The bare server's open loop at half its rate: what this machine and load generator can show. */
  readonly bareHalfRate: {
    readonly ratePerSec: number;
    readonly p50Ms: number;
    readonly p99Ms: number;
  };
  readonly bareHerdSeconds: number;
  /** The bare server's peak RSS in its herd: what 1,000 TLS connections at once cost by themselves. */
  readonly bareHerdPeakRssMiB: number;
}> {
  report.line('   measuring the ceilings: openssl speed on every core...');
  const speeds = measureCryptoSpeeds(Math.max(1, Math.round(3 * options.scale)));
  const durationMs = options.steadySeconds * 1000;
  const steadySpec = (file: string): LoadSpec => ({
    mode: 'closed',
    processes: options.loadProcesses,
    requestsFile: file,
    requestCount: fixture.requestCount,
    connections: options.connections,
    concurrency: options.inFlight,
    durationMs,
    ratePerSecond: 0,
  });
  const target = (port: number, kind: 'ec' | 'rsa'): Target => ({
    address: `127.0.0.1:${port}`,
    rootCertPem: fixture.rootPem[kind],
    serverName: 'localhost',
  });

  // The bare RPC ceiling, under the same load shape (one process, as meshca runs).
  const barePort = await freePort();
  const bare = await startBareServer(barePort, await bareIdentity(fixture, 'ec'), 1);
  let bareRpcPerSec: number;
  let bareHalfRate: { ratePerSec: number; p50Ms: number; p99Ms: number };
  let bareHerdSeconds: number;
  let bareHerdPeakRssMiB: number;
  try {
    await runLoad(target(barePort, 'ec'), {
      ...steadySpec(fixture.requestFiles['ztunnel-ec']),
      durationMs: 2000,
    });
    const steady = await runLoad(
      target(barePort, 'ec'),
      steadySpec(fixture.requestFiles['ztunnel-ec']),
    );
    bareRpcPerSec = steady.ok / steady.seconds;
    report.line(
      `   bare grpc-js server: ${Math.round(bareRpcPerSec)} calls/s (p99 ${percentile(steady.latencies, 99).toFixed(1)} ms)`,
    );
    // The control of the p99-at-half-rate figures: the same open loop against the bare server.
    const bareRate = Math.max(1, Math.round(bareRpcPerSec / 2));
    const bareOpen = await runLoad(target(barePort, 'ec'), {
      ...steadySpec(fixture.requestFiles['ztunnel-ec']),
      mode: 'open',
      ratePerSecond: bareRate,
    });
    bareHalfRate = {
      ratePerSec: bareRate,
      p50Ms: percentile(bareOpen.latencies, 50),
      p99Ms: percentile(bareOpen.latencies, 99),
    };
    report.line(
      `   bare grpc-js server, open loop at half rate: ${bareRate} calls/s, p50 ${bareHalfRate.p50Ms.toFixed(1)} ms, p99 ${bareHalfRate.p99Ms.toFixed(1)} ms`,
    );
    const { value: herd, peakRssMiB } = await withPeakRss(bare, () =>
      runLoad(target(barePort, 'ec'), herdSpec(fixture, options)),
    );
    bareHerdSeconds = herd.seconds;
    bareHerdPeakRssMiB = peakRssMiB;
    report.line(
      `   bare grpc-js server herd: ${options.herdProxies} proxies in ${herd.seconds.toFixed(1)} s, peak RSS ${Math.round(peakRssMiB)} MiB`,
    );
  } finally {
    await bare.stop();
  }

  const cryptoFigures: Record<string, number> = {};
  for (const configuration of options.configurations) {
    for (const kind of ['ec', 'rsa'] as const) {
      for (const shape of ['istio-agent-rsa', 'ztunnel-ec'] as const) {
        const cryptoPerSec = cryptoPerSecond(
          speeds,
          shape === 'istio-agent-rsa' ? 'rsa' : 'ec',
          kind,
        );
        cryptoFigures[`${shape}/${kind}`] = cryptoPerSec;
        const scenario = `steady ${shape === 'istio-agent-rsa' ? 'RSA-2048 CSRs' : 'P-256 CSRs'}, ${kind === 'ec' ? 'P-256' : 'RSA-2048'} intermediate`;
        const { server, port } = await launch(
          fixture,
          configuration.args(fixture, fixture.caDirs[kind]),
        );
        try {
          // Warm up: JIT, token cache, connections.
          await runLoad(target(port, kind), {
            ...steadySpec(fixture.requestFiles[shape]),
            durationMs: 2000,
          });
          // CPU counters over the load itself, from the workers' release to their results.
          let cpu0 = server.cpuSeconds();
          let machine0 = machineCpu();
          let wall0 = performance.now();
          const { value: result, peakRssMiB } = await withPeakRss(server, () =>
            runLoad(target(port, kind), steadySpec(fixture.requestFiles[shape]), () => {
              cpu0 = server.cpuSeconds();
              machine0 = machineCpu();
              wall0 = performance.now();
            }),
          );
          const cpu1 = server.cpuSeconds();
          const machine1 = machineCpu();
          const wallSeconds = (performance.now() - wall0) / 1000;
          const issuedPerSec = result.ok / result.seconds;
          const composite = compositeCeiling(cryptoPerSec, bareRpcPerSec);
          report.steady({
            configuration: configuration.name,
            scenario,
            issuedPerSec,
            cryptoPerSec,
            bareRpcPerSec,
            compositeCeilingPerSec: composite,
            ratio: issuedPerSec / composite,
            p50Ms: percentile(result.latencies, 50),
            p99Ms: percentile(result.latencies, 99),
            errors: result.errors,
            cpuMsPerCert: ((cpu1 - cpu0) * 1000) / Math.max(1, result.ok),
            peakRssMiB,
            cores: {
              meshca: (cpu1 - cpu0) / wallSeconds,
              others: Math.max(0, machine1.busy - machine0.busy - (cpu1 - cpu0)) / wallSeconds,
              idle: (machine1.idle - machine0.idle) / wallSeconds,
              steal: (machine1.steal - machine0.steal) / wallSeconds,
            },
          });
          if (kind === 'ec') {
            // The open loop at half the measured maximum, on the same (warm) meshca.
            const rate = Math.max(1, Math.round(issuedPerSec / 2));
            const open = await runLoad(target(port, kind), {
              ...steadySpec(fixture.requestFiles[shape]),
              mode: 'open',
              ratePerSecond: rate,
            });
            report.open({
              configuration: configuration.name,
              scenario: `open loop at half rate, ${shape === 'istio-agent-rsa' ? 'RSA-2048' : 'P-256'} CSRs`,
              ratePerSec: rate,
              p50Ms: percentile(open.latencies, 50),
              p99Ms: percentile(open.latencies, 99),
              errors: open.errors,
            });
          }
        } finally {
          await server.stop();
        }
      }
    }
    // The herd, on a fresh meshca with a P-256 intermediate (cold token cache).
    const { server, port } = await launch(fixture, configuration.args(fixture, fixture.caDirs.ec));
    try {
      const { value: herd, peakRssMiB } = await withPeakRss(server, () =>
        runLoad(target(port, 'ec'), herdSpec(fixture, options)),
      );
      report.herd(herdFigures(configuration.name, options, herd, bareHerdSeconds, peakRssMiB));
    } finally {
      await server.stop();
    }
  }
  return {
    cryptoPerSec: cryptoFigures,
    bareRpcPerSec,
    bareHalfRate,
    bareHerdSeconds,
    bareHerdPeakRssMiB,
  };
}

function herdSpec(fixture: Fixture, options: ScaleOptions): LoadSpec {
  return {
    mode: 'herd',
    processes: options.loadProcesses,
    requestsFile: fixture.herdFile,
    requestCount: options.herdProxies,
    connections: 0,
    concurrency: options.herdInFlight,
    durationMs: 0,
    ratePerSecond: 0,
  };
}

function herdFigures(
  configuration: string,
  options: ScaleOptions,
  herd: LoadResult,
  bareSeconds: number,
  peakRssMiB: number,
): HerdFigures {
  const maxAttempts = herd.attemptHistogram.reduce(
    (max, count, attempts) => (count > 0 ? attempts : max),
    0,
  );
  return {
    configuration,
    proxies: options.herdProxies,
    inFlight: options.herdInFlight,
    seconds: herd.seconds,
    bareSeconds,
    ratioToBare: herd.seconds / bareSeconds,
    retriedProxies: herd.retried,
    maxAttempts,
    failures: herd.completed - herd.ok,
    errors: herd.errors,
    p99Ms: percentile(herd.latencies, 99),
    peakRssMiB,
  };
}

async function launch(
  fixture: Fixture,
  args: readonly string[],
): Promise<{ readonly server: ServerProcess; readonly port: number }> {
  const port = await freePort();
  const httpPort = await freePort();
  const server = await startMeshca(
    [...args, '--listen', `127.0.0.1:${port}`, '--http-listen', `127.0.0.1:${httpPort}`],
    httpPort,
    join(fixture.dir, `meshca-${port}.log`),
  );
  return { server, port };
}

/** The machine, for the report. */
export function machine(): string {
  const cpu =
    /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown CPU';
  const cores = execFileSync('nproc', { encoding: 'utf8' }).trim();
  return `${cores} cores, ${cpu}, Node ${process.version}`;
}

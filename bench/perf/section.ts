/**
 * The `scale` section of `npm run bench` (issue #12): sets up the fixture, runs every scenario
 * against meshca with governance off and on, and prints figures, ratios and the targets.
 *
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { governanceArgs, prepareGovernance, type GovernanceCluster } from './governance.js';
import { targetLines } from './targets.js';
import {
  BENCH_NAMESPACE,
  buildFixture,
  machine,
  plainArgs,
  runScale,
  type HerdFigures,
  type OpenLoopFigures,
  type ScaleOptions,
  type ScenarioFigures,
} from './scale.js';

/** Everything the section measured, for `--json`. */
export interface ScaleReport {
  readonly machine: string;
  readonly options: Omit<ScaleOptions, 'configurations'> & { readonly configurations: string[] };
  readonly ceilings: Awaited<ReturnType<typeof runScale>>;
  readonly steady: ScenarioFigures[];
  readonly openLoop: OpenLoopFigures[];
  readonly herd: HerdFigures[];
}

const fmt = (value: number, digits = 0): string =>
  Number.isFinite(value)
    ? value.toLocaleString('en-US', {
        maximumFractionDigits: digits,
        minimumFractionDigits: digits,
      })
    : '-';

const errorsText = (errors: Record<string, number>): string =>
  Object.keys(errors).length === 0
    ? 'none'
    : Object.entries(errors)
        .map(([code, count]) => `${code} ${count}`)
        .join(', ');

/**
 * Runs the section; `out` prints a line. Governance off, then on (unless
 * `BENCH_GOVERNANCE=off`, or no API server can be started: then it says so).
 */
export async function scaleSection(
  scale: number,
  out: (line?: string) => void,
): Promise<ScaleReport> {
  const herdProxies = Math.max(200, Math.round(10_000 * scale));
  const requestCount = 2000;
  const options: Omit<ScaleOptions, 'configurations'> = {
    scale,
    steadySeconds: Math.max(3, Math.round(10 * scale)),
    herdProxies,
    herdInFlight: 1000,
    loadProcesses: Number(process.env['BENCH_LOAD_PROCESSES'] ?? '2'),
    connections: 5,
    inFlight: 500,
  };
  out(`## scale: meshca against its ceilings, in one run (${machine()})`);
  out(
    `   steady: ${options.inFlight} calls in flight over ${options.connections} reused TLS connections, ${options.steadySeconds} s; herd: ${options.herdProxies} proxies, each its own TLS connection, ${options.herdInFlight} in flight, istio-agent retries; load generator: ${options.loadProcesses} processes`,
  );
  const dir = mkdtempSync(join(tmpdir(), 'meshca-scale-'));
  const steady: ScenarioFigures[] = [];
  const openLoop: OpenLoopFigures[] = [];
  const herd: HerdFigures[] = [];
  let governance: GovernanceCluster | undefined;
  try {
    const configurations: ScaleOptions['configurations'][number][] = [
      { name: 'governance off', args: plainArgs },
    ];
    if (process.env['BENCH_GOVERNANCE'] === 'off') {
      out('   governance on: skipped (BENCH_GOVERNANCE=off)');
    } else {
      out('   preparing the governance-on cluster: a real kube-apiserver with a pod per proxy...');
      const prepared = await prepareGovernance(
        dir,
        BENCH_NAMESPACE,
        Math.max(requestCount, herdProxies),
        out,
      );
      if ('unavailable' in prepared) out(`   governance on: skipped (${prepared.unavailable})`);
      else {
        governance = prepared;
        configurations.push({ name: 'governance on', args: governanceArgs(prepared) });
      }
    }
    out('   preparing PKIs, tokens and CSRs...');
    const fixture = await buildFixture(dir, requestCount, herdProxies, governance?.pods);
    const ceilings = await runScale(
      fixture,
      { ...options, configurations },
      {
        line: out,
        steady: (figures) => {
          steady.push(figures);
          out(
            `   [${figures.configuration}] ${figures.scenario.padEnd(46)} ${fmt(figures.issuedPerSec).padStart(6)} issued/s  ceiling ${fmt(figures.compositeCeilingPerSec).padStart(6)}/s (crypto ${fmt(figures.cryptoPerSec)}, bare ${fmt(figures.bareRpcPerSec)})  ratio ${fmt(figures.ratio, 2)}  p50 ${fmt(figures.p50Ms, 1)} ms  p99 ${fmt(figures.p99Ms, 1)} ms  CPU ${fmt(figures.cpuMsPerCert, 2)} ms/cert  peak RSS ${fmt(figures.peakRssMiB)} MiB  errors ${errorsText(figures.errors)}`,
          );
          out(
            `      cores: meshca ${fmt(figures.cores.meshca, 2)}, others ${fmt(figures.cores.others, 2)} (load generator${figures.configuration === 'governance on' ? ', API server, etcd' : ''}), idle ${fmt(figures.cores.idle, 2)}, steal ${fmt(figures.cores.steal, 2)}`,
          );
        },
        open: (figures) => {
          openLoop.push(figures);
          out(
            `   [${figures.configuration}] ${figures.scenario.padEnd(46)} ${fmt(figures.ratePerSec).padStart(6)} sent/s    p50 ${fmt(figures.p50Ms, 1)} ms  p99 ${fmt(figures.p99Ms, 1)} ms (from the scheduled send)  errors ${errorsText(figures.errors)}`,
          );
        },
        herd: (figures) => {
          herd.push(figures);
          out(
            `   [${figures.configuration}] herd of ${figures.proxies} proxies: ${fmt(figures.seconds, 1)} s (bare server ${fmt(figures.bareSeconds, 1)} s, ${fmt(figures.ratioToBare, 2)}x)  retried proxies ${figures.retriedProxies} (max ${figures.maxAttempts} attempts)  failures ${figures.failures}  p99 ${fmt(figures.p99Ms / 1000, 1)} s  peak RSS ${fmt(figures.peakRssMiB)} MiB  errors ${errorsText(figures.errors)}`,
          );
        },
      },
    );
    const report: ScaleReport = {
      machine: machine(),
      options: { ...options, configurations: configurations.map((c) => c.name) },
      ceilings,
      steady,
      openLoop,
      herd,
    };
    for (const text of targetLines(report)) out(text);
    return report;
  } finally {
    await governance?.kube.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

// Run directly: `tsx bench/perf/section.ts [--json]`.
if (process.argv[1]?.endsWith('section.ts')) {
  const json = process.argv.includes('--json');
  const report = await scaleSection(Number(process.env['BENCH_SCALE'] ?? '1'), (line = '') => {
    process.stdout.write(`${line}\n`);
  });
  if (json) process.stdout.write(`${JSON.stringify(report)}\n`);
}

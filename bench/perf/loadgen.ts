/**
 * Runs the load generator: forks worker processes (loadgen-worker.ts), gives each a slice of
 * the requests, releases them together, and merges their results.
 *
 * @module
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { WorkerResult, WorkerTask } from './loadgen-worker.js';

/** Where to send the load. */
export interface Target {
  readonly address: string;
  readonly rootCertPem: string;
  readonly serverName: string;
}

/** A load, split evenly over `processes` workers. */
export interface LoadSpec {
  readonly mode: WorkerTask['mode'];
  readonly processes: number;
  readonly requestsFile: string;
  readonly requestCount: number;
  /** Total over all workers. */
  readonly connections: number;
  readonly concurrency: number;
  readonly durationMs: number;
  /** open: total calls per second. */
  readonly ratePerSecond: number;
}

/** The merged result. */
export interface LoadResult {
  readonly completed: number;
  readonly ok: number;
  readonly seconds: number;
  readonly latencies: Float64Array;
  readonly errors: Record<string, number>;
  readonly attemptHistogram: number[];
  /** Proxies (herd) that needed more than one attempt. */
  readonly retried: number;
}

const WORKER = fileURLToPath(new URL('./loadgen-worker.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Runs one load against `target`. `atGo` runs when the workers are connected and released, so
 * that a caller can sample CPU counters over the load itself (not over the workers' start-up).
 */
export async function runLoad(
  target: Target,
  spec: LoadSpec,
  atGo?: () => void,
): Promise<LoadResult> {
  const workers: ChildProcess[] = [];
  const results: Promise<WorkerResult>[] = [];
  const ready: Promise<void>[] = [];
  const perWorker = Math.floor(spec.requestCount / spec.processes);
  for (let index = 0; index < spec.processes; index++) {
    const child = fork(WORKER, [], {
      execArgv: ['--import', 'tsx'],
      stdio: 'inherit',
      cwd: REPO_ROOT,
    });
    workers.push(child);
    const share = (total: number): number =>
      Math.max(1, Math.floor(total / spec.processes) + (index < total % spec.processes ? 1 : 0));
    const task: WorkerTask = {
      mode: spec.mode,
      address: target.address,
      rootCertPem: target.rootCertPem,
      serverName: target.serverName,
      requestsFile: spec.requestsFile,
      // A herd splits its proxies; closed and open loads share the whole set.
      first: spec.mode === 'herd' ? index * perWorker : 0,
      count:
        spec.mode === 'herd'
          ? index === spec.processes - 1
            ? spec.requestCount - index * perWorker
            : perWorker
          : spec.requestCount,
      connections: share(spec.connections),
      concurrency: share(spec.concurrency),
      durationMs: spec.durationMs,
      ratePerSecond: spec.ratePerSecond / spec.processes,
    };
    ready.push(
      new Promise((resolve) => {
        child.once('message', () => {
          resolve();
        });
      }),
    );
    results.push(
      new Promise((resolve, reject) => {
        child.on('message', (message: { kind: string; result?: WorkerResult }) => {
          if (message.kind === 'result' && message.result !== undefined) resolve(message.result);
        });
        child.once('exit', (code) => {
          if (code !== 0) reject(new Error(`load generator exited with ${String(code)}`));
        });
      }),
    );
    child.send({ kind: 'run', task });
  }
  await Promise.all(ready);
  atGo?.();
  for (const child of workers) child.send({ kind: 'go' });
  const all = await Promise.all(results);
  const latencies = new Float64Array(all.reduce((sum, result) => sum + result.latencies.length, 0));
  let offset = 0;
  for (const result of all) {
    latencies.set(result.latencies, offset);
    offset += result.latencies.length;
  }
  latencies.sort();
  const errors: Record<string, number> = {};
  const attemptHistogram: number[] = [];
  for (const result of all) {
    for (const [code, count] of Object.entries(result.errors)) {
      errors[code] = (errors[code] ?? 0) + count;
    }
    result.attemptHistogram.forEach((count, attempts) => {
      attemptHistogram[attempts] = (attemptHistogram[attempts] ?? 0) + count;
    });
  }
  return {
    completed: all.reduce((sum, result) => sum + result.completed, 0),
    ok: all.reduce((sum, result) => sum + result.ok, 0),
    seconds: Math.max(...all.map((result) => result.seconds)),
    latencies,
    errors,
    attemptHistogram,
    retried: attemptHistogram.slice(2).reduce((sum, count) => sum + (count || 0), 0),
  };
}

/** The `p`th percentile of sorted latencies. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

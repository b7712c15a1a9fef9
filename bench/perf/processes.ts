/**
 * Server processes for the benchmark: meshca (`serve`, from source) and the bare gRPC server,
 * with their CPU time and memory read from /proc (summed over a process and its children, so a
 * server that runs several processes is measured whole).
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A running server process tree. */
export interface ServerProcess {
  readonly child: ChildProcess;
  /** CPU seconds used so far by the process and its descendants (user + system). */
  cpuSeconds(): number;
  /** Resident memory of the process and its descendants, MiB. */
  rssMiB(): number;
  stop(): Promise<void>;
}

function descendants(pid: number): number[] {
  const all: number[] = [pid];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (parent === pid) all.push(...descendants(Number(entry)));
    } catch {
      // Gone meanwhile.
    }
  }
  return all;
}

function cpuOf(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    // Fields 14 and 15 (utime, stime), in clock ticks of 1/100 s.
    return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) / 100;
  } catch {
    return 0;
  }
}

function rssOf(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

function track(child: ChildProcess): ServerProcess {
  const pid = child.pid ?? 0;
  return {
    child,
    cpuSeconds: () => descendants(pid).reduce((sum, each) => sum + cpuOf(each), 0),
    rssMiB: () => descendants(pid).reduce((sum, each) => sum + rssOf(each), 0),
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) {
          resolve();
          return;
        }
        child.once('exit', () => {
          resolve();
        });
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
      }),
  };
}

/** Starts `meshca serve ARGS`, logging to `logFile`, and waits until /readyz says 200. */
export async function startMeshca(
  args: readonly string[],
  httpPort: number,
  logFile: string,
): Promise<ServerProcess> {
  const log = openSync(logFile, 'a');
  const child = spawn(
    process.execPath,
    [
      ...(process.env['BENCH_SERVER_NODE_OPTIONS']?.split(' ').filter(Boolean) ?? []),
      // The compiled meshca, as it runs in production (`npm run bench` builds it first).
      join(REPO_ROOT, 'bin/meshca.js'),
      'serve',
      ...args,
    ],
    { cwd: REPO_ROOT, stdio: ['ignore', log, log], env: benchEnv() },
  );
  const server = track(child);
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`meshca exited with ${child.exitCode}; see ${logFile}`);
    }
    try {
      const response = await fetch(`http://127.0.0.1:${httpPort}/readyz`);
      await response.text();
      if (response.status === 200) return server;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await server.stop();
      throw new Error(`meshca not ready after 120 s; see ${logFile}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Starts the bare server (bare-server.ts) and waits until it listens. */
export async function startBareServer(
  port: number,
  files: { readonly chain: string; readonly key: string; readonly ca: string },
  processes: number,
): Promise<ServerProcess> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      fileURLToPath(new URL('./bare-server.ts', import.meta.url)),
      String(port),
      files.chain,
      files.key,
      files.ca,
      String(processes),
    ],
    { cwd: REPO_ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: benchEnv() },
  );
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => {
      resolve();
    });
    child.once('exit', (code) => {
      reject(new Error(`bare server exited with ${String(code)}`));
    });
  });
  return track(child);
}

/** The environment of server processes: ours without MESHCA_* settings. */
function benchEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('MESHCA_')),
  );
}

/** The machine's CPU time, seconds summed over all cores, from /proc/stat. */
export interface MachineCpu {
  readonly busy: number;
  readonly idle: number;
  /** Time the hypervisor gave this VM's cores to others. */
  readonly steal: number;
}

/** Reads the machine's CPU counters (zeros where /proc/stat is absent). */
export function machineCpu(): MachineCpu {
  try {
    const fields =
      readFileSync('/proc/stat', 'utf8').split('\n')[0]?.trim().split(/\s+/).slice(1) ?? [];
    const [user, nice, system, idle, iowait, irq, softirq, steal] = fields.map(Number);
    const tick = (value: number | undefined): number => (value ?? 0) / 100;
    return {
      busy: tick(user) + tick(nice) + tick(system) + tick(irq) + tick(softirq),
      idle: tick(idle) + tick(iowait),
      steal: tick(steal),
    };
  } catch {
    return { busy: 0, idle: 0, steal: 0 };
  }
}

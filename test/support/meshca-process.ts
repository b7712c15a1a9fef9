/**
 * `meshca serve` as a real child process (from source, through tsx), for tests of what only a
 * process shows: signals, exit status, stderr.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { REPO_ROOT } from './environment.js';
import { eventually } from './kube.js';
import { captureLog } from './log-capture.js';
import { freePort } from './process.js';

/** One line of meshca's JSON log. */
export interface LogLine {
  readonly time: number | string;
  readonly level: number;
  readonly msg: string;
  readonly [field: string]: unknown;
}

/** A meshca child process. */
export interface MeshcaProcess {
  readonly grpcPort: number;
  readonly httpPort: number;
  readonly child: ChildProcess;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** The JSON log lines so far. */
  logs(): LogLine[];
  /** GET on the ops port. */
  get(path: string): Promise<{ readonly status: number; readonly body: string }>;
  /** Kills it (SIGKILL) unless it has exited. */
  kill(): void;
}

/** The environment of the child: ours without test-only MESHCA_* variables. */
export function childEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('MESHCA_')),
  );
}

/**
 * Starts `meshca serve ARGS` on free ports and waits until `/readyz` answers 200.
 *
 * @param env Variables added to the child's environment (e.g. MESHCA_LEDGER_PASSWORD).
 */
export async function startMeshcaProcess(
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
): Promise<MeshcaProcess> {
  const grpcPort = await freePort();
  const httpPort = await freePort();
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'test/support/meshca-main.ts',
      'serve',
      ...args,
      '--listen',
      `127.0.0.1:${grpcPort}`,
      '--http-listen',
      `127.0.0.1:${httpPort}`,
    ],
    { cwd: REPO_ROOT, env: { ...childEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    stderr += text;
    captureLog(text);
  });
  child.stdout.resume();
  let code: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (exitCode) => {
      code = exitCode;
      resolve(exitCode);
    });
  });
  const get = async (path: string): Promise<{ status: number; body: string }> => {
    const response = await fetch(`http://127.0.0.1:${httpPort}${path}`);
    return { status: response.status, body: await response.text() };
  };
  const meshca: MeshcaProcess = {
    grpcPort,
    httpPort,
    child,
    exited,
    stderr: () => stderr,
    logs: () =>
      stderr
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as LogLine),
    get,
    kill: () => {
      if (code === undefined) child.kill('SIGKILL');
    },
  };
  try {
    await Promise.race([
      eventually(
        'meshca ready',
        async () => ((await get('/readyz')).status === 200 ? true : undefined),
        30_000,
      ),
      exited.then((exitCode) => {
        throw new Error(`meshca exited with ${String(exitCode)} before it was ready:\n${stderr}`);
      }),
    ]);
  } catch (error) {
    meshca.kill();
    throw error;
  }
  return meshca;
}

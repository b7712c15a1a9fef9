/**
 * A real PostgreSQL (Debian's postgresql 15) for the ledger tests, started by the tests
 * themselves on loopback in a temporary directory, on a free port, with password authentication
 * over TCP. PostgreSQL refuses to run as root, so as root it runs as the `postgres` user
 * (`runuser`). Fault tests stop and restart it.
 *
 * In CI (`CI=true`) a missing PostgreSQL is a failure, never a skip: `.ci/run` installs it.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { IN_CI } from './environment.js';
import { freePort, run } from './process.js';
import { tempDir } from './tmp.js';

const POSTGRES_ROOT = '/usr/lib/postgresql';

/** The newest installed server's bin directory, or undefined. */
function binDir(): string | undefined {
  if (!existsSync(POSTGRES_ROOT)) return undefined;
  const versions = readdirSync(POSTGRES_ROOT)
    .filter((version) => existsSync(join(POSTGRES_ROOT, version, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(POSTGRES_ROOT, versions[0], 'bin');
}

const RUNNING_AS_ROOT = process.getuid?.() === 0;

/** Why PostgreSQL cannot be started here, or undefined when it can. */
export function postgresUnavailableReason(): string | undefined {
  if (binDir() === undefined)
    return `no PostgreSQL server under ${POSTGRES_ROOT} (apt-get install postgresql)`;
  return undefined;
}

/**
 * Whether the PostgreSQL tests run: true when it is installed; in CI a missing server throws, so
 * the run fails; elsewhere it warns and the caller skips.
 */
export function postgresAvailable(): boolean {
  const reason = postgresUnavailableReason();
  if (reason === undefined) return true;
  if (IN_CI) throw new Error(`the ledger tests need PostgreSQL in CI: ${reason}`);
  console.warn(`skipping the PostgreSQL tests: ${reason}`);
  return false;
}

/** A running test server. */
export interface TestPostgres {
  readonly port: number;
  /** The superuser's password, and a file holding it (as a Secret would be mounted). */
  readonly password: string;
  readonly passwordFile: string;
  /** The server's self-signed certificate (PEM), when it serves TLS. */
  readonly tlsCertFile: string;
  /** `postgres://postgres@127.0.0.1:PORT/DATABASE` (no password in it). */
  url(database?: string): string;
  /** Creates an empty database and returns its URL. */
  createDatabase(): Promise<string>;
  /** Runs one statement as the superuser in `database`. */
  sql(
    database: string,
    statement: string,
    params?: readonly unknown[],
  ): Promise<Record<string, unknown>[]>;
  stop(): Promise<void>;
  start(): Promise<void>;
  /**
   * Freezes the server (SIGSTOP to the postmaster and every backend): connections stay open and
   * nothing answers, as with a database host that hangs or a network that drops everything.
   */
  freeze(): void;
  /** Lets a frozen server run again (SIGCONT). */
  thaw(): void;
  /** Stops the server for good (its files go with the test's temp dirs). */
  destroy(): Promise<void>;
}

/** Runs a PostgreSQL program as the server's user. */
async function asServerUser(program: string, args: readonly string[]): Promise<void> {
  const bin = binDir();
  if (bin === undefined) throw new Error('PostgreSQL is not installed');
  const command = RUNNING_AS_ROOT ? 'runuser' : join(bin, program);
  const fullArgs = RUNNING_AS_ROOT
    ? ['-u', 'postgres', '--', join(bin, program), ...args]
    : [...args];
  const result = await run(command, fullArgs, { timeoutMs: 60_000, cwd: '/' });
  if (result.code !== 0) {
    throw new Error(`${program} failed (${result.code}): ${result.stderr}${result.stdout}`);
  }
}

let databases = 0;

/** Options of {@link startPostgres}. */
export interface TestPostgresOptions {
  /**
   * Serve TLS with a self-signed certificate for this DNS name (not for 127.0.0.1, so that
   * `verify-full` to the loopback address fails and `verify-ca` passes); its PEM is
   * {@link TestPostgres.tlsCertFile}.
   */
  readonly tlsName?: string;
}

/** Starts a fresh server. */
export async function startPostgres(settings: TestPostgresOptions = {}): Promise<TestPostgres> {
  const dir = tempDir('meshca-pg-');
  const data = join(dir, 'data');
  const password = `test-${Math.random().toString(36).slice(2)}`;
  const passwordFile = join(dir, 'password');
  writeFileSync(passwordFile, `${password}\n`, { mode: 0o644 });
  if (RUNNING_AS_ROOT) {
    await run('chown', ['-R', 'postgres:postgres', dir]);
    chmodSync(dir, 0o700);
  }
  await asServerUser('initdb', [
    '-D',
    data,
    '-U',
    'postgres',
    '--pwfile',
    passwordFile,
    '--auth-local=trust',
    '--auth-host=scram-sha-256',
    '-E',
    'UTF8',
    '--no-sync',
  ]);
  const tls: string[] = [];
  const tlsCertFile = join(dir, 'server.crt');
  if (settings.tlsName !== undefined) {
    const keyFile = join(dir, 'server.key');
    const made = await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-subj',
      `/CN=${settings.tlsName}`,
      '-addext',
      `subjectAltName=DNS:${settings.tlsName}`,
      '-days',
      '2',
      '-keyout',
      keyFile,
      '-out',
      tlsCertFile,
    ]);
    if (made.code !== 0) throw new Error(`openssl failed: ${made.stderr}`);
    chmodSync(keyFile, 0o600);
    if (RUNNING_AS_ROOT) await run('chown', ['postgres:postgres', keyFile, tlsCertFile]);
    tls.push('-c ssl=on', `-c ssl_cert_file=${tlsCertFile}`, `-c ssl_key_file=${keyFile}`);
  }
  const port = await freePort();
  const options = [
    ...tls,
    `-p ${port}`,
    `-k ${dir}`,
    '-c listen_addresses=127.0.0.1',
    '-c fsync=off',
    '-c synchronous_commit=off',
    '-c full_page_writes=off',
    '-c max_connections=50',
  ].join(' ');
  const start = (): Promise<void> =>
    asServerUser('pg_ctl', [
      '-D',
      data,
      '-o',
      options,
      '-l',
      join(dir, 'log'),
      '-w',
      '-t',
      '60',
      'start',
    ]);
  const stop = (): Promise<void> =>
    asServerUser('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
  await start();
  let running = true;
  const url = (database = 'postgres'): string =>
    `postgres://postgres@127.0.0.1:${port}/${database}`;
  const sql = async (
    database: string,
    statement: string,
    params: readonly unknown[] = [],
  ): Promise<Record<string, unknown>[]> => {
    const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password, database });
    await client.connect();
    try {
      return (await client.query(statement, [...params])).rows as Record<string, unknown>[];
    } finally {
      await client.end();
    }
  };
  return {
    port,
    password,
    passwordFile,
    tlsCertFile,
    url,
    sql,
    async createDatabase() {
      const name = `ledger_${process.pid}_${++databases}`;
      await sql('postgres', `CREATE DATABASE ${name}`);
      return url(name);
    },
    async stop() {
      if (!running) return;
      await stop();
      running = false;
    },
    async start() {
      if (running) return;
      await start();
      running = true;
    },
    freeze() {
      signalServer(data, 'SIGSTOP');
    },
    thaw() {
      signalServer(data, 'SIGCONT');
    },
    async destroy() {
      signalServer(data, 'SIGCONT');
      if (!running) return;
      await stop().catch(() => undefined);
      running = false;
    },
  };
}

/** Signals the server's processes (one that ended meanwhile is no longer there to signal). */
function signalServer(data: string, signal: NodeJS.Signals): void {
  for (const pid of serverProcesses(data)) {
    try {
      process.kill(pid, signal);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  }
}

/** The postmaster of `data` (from its postmaster.pid), then its children (backends, workers). */
function serverProcesses(data: string): number[] {
  let postmaster: number;
  try {
    postmaster = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return [];
  }
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(join('/proc', entry, 'stat'), 'utf8');
      // pid (comm) state ppid ...: comm may hold spaces and parentheses, so read after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === postmaster) children.push(Number(entry));
    } catch {
      // The process ended meanwhile.
    }
  }
  return [postmaster, ...children];
}

/**
 * The shared ledger: PostgreSQL (`pg`, a small pool), for several replicas and several clusters
 * writing to one database: the security team's view across clusters. Each writer process is its
 * own chain, so writers never contend on the records they append; retention steps and migrations
 * are serialized across processes with advisory locks.
 *
 * The password never comes from a flag: it is read from a file at each new connection (so that a
 * rotated Secret is picked up) or handed over by the composition root from an environment
 * variable. TLS follows libpq's modes: `disable`, `require` (encrypted, unverified),
 * `verify-ca` (the server chains to the given CA), `verify-full` (and its name matches the host).
 *
 * Closing waits a little for the pool to end cleanly; a server that hangs (no answer, no FIN)
 * would hold its sockets, and so the process, forever: past that wait they are destroyed.
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { Socket } from 'node:net';
import pg from 'pg';
import type { Clock } from '../clock.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import { sleep } from '../util/index.js';
import type { SqlDriver, SqlExecutor, SqlRow, SqlValue } from './sql-driver.js';
import { numberedPlaceholders } from './sql-driver.js';
import { SqlLedgerStore } from './sql-store.js';

/** How the connection to PostgreSQL is protected (libpq's `sslmode` names). */
export type PostgresTlsMode = 'disable' | 'require' | 'verify-ca' | 'verify-full';

/** Options of {@link PostgresLedgerStore}. */
export interface PostgresLedgerOptions {
  /**
   * `postgres://user@host:port/database`. A password in the URL is accepted (from a file or an
   * environment variable, never a flag) but {@link passwordFile} or {@link password} win; TLS is
   * set with {@link tls}, not `sslmode` in the URL.
   */
  readonly url: string;
  /** A file holding the password (trailing newline ignored), read at each new connection. */
  readonly passwordFile?: string;
  /** The password itself, when the composition root read it from the environment. */
  readonly password?: string;
  readonly tls?: {
    readonly mode: PostgresTlsMode;
    /** PEM CA bundle to verify the server with (`verify-ca`, `verify-full`). */
    readonly caFile?: string;
  };
  /** Connections in the pool. Default 4. */
  readonly poolSize?: number;
  /** Connect timeout, ms. Default 5000. */
  readonly connectTimeoutMs?: number;
  /** Server-side statement timeout, ms. Default 30000. */
  readonly statementTimeoutMs?: number;
  /** For upgrade tests only: stop migrating at this schema version. */
  readonly migrateTo?: number;
}

/** How long {@link PostgresLedgerStore.close} waits for the pool to end before cutting sockets, ms. */
const CLOSE_WAIT_MS = 400;

/** Advisory lock keys: 'mesh' and one number per purpose. */
const LOCK_NAMESPACE = 0x6d657368;
const MIGRATION_LOCK = 1;
const PRUNE_LOCK = 2;

/** The PostgreSQL store. */
export class PostgresLedgerStore extends SqlLedgerStore {
  readonly kind = 'postgres';
  readonly #options: PostgresLedgerOptions;
  readonly #logger: Logger;
  /** Every socket to the server, open or connecting. */
  readonly #sockets = new Set<Socket>();
  #pool: pg.Pool | undefined;

  /** @throws TypeError for a URL that is not `postgres://` or carries `sslmode`. */
  constructor(options: PostgresLedgerOptions, clock: Clock, logger: Logger) {
    super(clock, options.migrateTo);
    this.#options = options;
    this.#logger = logger;
    poolConfig(options);
  }

  protected connect(): Promise<SqlDriver> {
    const pool = new pg.Pool({ ...poolConfig(this.#options), stream: () => this.#socket() });
    // An idle connection that breaks (the server restarts) must not crash the process; the next
    // query opens a new one.
    pool.on('error', (error) => {
      this.#logger.warn({ err: errorMessage(error) }, 'ledger database connection lost');
    });
    this.#pool = pool;
    return Promise.resolve(new PostgresDriver(pool));
  }

  /**
   * Ends the pool; sockets still open after {@link CLOSE_WAIT_MS} (a hung server, a query that
   * never returns) are destroyed, so that nothing holds the process after shutdown.
   */
  override async close(): Promise<void> {
    const ended = super.close().then(
      () => true,
      () => true,
    );
    if (await Promise.race([ended, sleep(CLOSE_WAIT_MS).then(() => false)])) return;
    if (this.#sockets.size > 0) {
      this.#logger.warn(
        { connections: this.#sockets.size },
        'the ledger database did not close in time; its connections are cut',
      );
    }
    for (const socket of this.#sockets) socket.destroy();
    await Promise.race([ended, sleep(CLOSE_WAIT_MS)]);
  }

  /** A new socket for pg (which connects it, and wraps it in TLS when configured). */
  #socket(): Socket {
    const socket = new Socket();
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    return socket;
  }

  protected async withMigrationLock<T>(_driver: SqlDriver, work: () => Promise<T>): Promise<T> {
    if (this.#pool === undefined) throw new TypeError('connect before migrating');
    const client = await this.#pool.connect();
    let broken = false;
    const onError = (): void => {
      broken = true;
    };
    client.on('error', onError);
    try {
      await client.query('SELECT pg_advisory_lock($1::int, $2::int)', [
        LOCK_NAMESPACE,
        MIGRATION_LOCK,
      ]);
      try {
        return await work();
      } finally {
        await client.query('SELECT pg_advisory_unlock($1::int, $2::int)', [
          LOCK_NAMESPACE,
          MIGRATION_LOCK,
        ]);
      }
    } finally {
      client.removeListener('error', onError);
      client.release(broken);
    }
  }

  protected async lockForPrune(tx: SqlExecutor): Promise<void> {
    await tx.query('SELECT pg_advisory_xact_lock(?::int, ?::int)', [LOCK_NAMESPACE, PRUNE_LOCK]);
  }
}

/** The pool's settings. @throws TypeError for a bad URL. */
function poolConfig(options: PostgresLedgerOptions): pg.PoolConfig {
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw new TypeError('the ledger URL is not a URL');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new TypeError(`the ledger URL must be postgres://, not ${url.protocol}//`);
  }
  if (url.searchParams.has('sslmode')) {
    throw new TypeError('set TLS for the ledger with its TLS options, not sslmode in the URL');
  }
  const passwordFile = options.passwordFile;
  const urlPassword = url.password === '' ? undefined : decodeURIComponent(url.password);
  const password =
    passwordFile !== undefined
      ? async (): Promise<string> => (await readFile(passwordFile, 'utf8')).replace(/\r?\n$/, '')
      : (options.password ?? urlPassword);
  return {
    host: decodeURIComponent(url.hostname).replace(/^\[(.*)\]$/, '$1'),
    port: url.port === '' ? 5432 : Number(url.port),
    database: decodeURIComponent(url.pathname.replace(/^\//, '')) || undefined,
    user: url.username === '' ? undefined : decodeURIComponent(url.username),
    ...(password === undefined ? {} : { password }),
    ssl: tlsConfig(options.tls),
    max: options.poolSize ?? 4,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    statement_timeout: options.statementTimeoutMs ?? 30_000,
    idleTimeoutMillis: 30_000,
    application_name: 'meshca',
  };
}

function tlsConfig(tls: PostgresLedgerOptions['tls']): pg.PoolConfig['ssl'] {
  if (tls === undefined || tls.mode === 'disable') return false;
  if (tls.mode === 'require') return { rejectUnauthorized: false };
  const ca = tls.caFile === undefined ? undefined : readFileSync(tls.caFile, 'utf8');
  return {
    rejectUnauthorized: true,
    ...(ca === undefined ? {} : { ca }),
    // verify-ca: the chain is checked, the name is not (libpq's meaning).
    ...(tls.mode === 'verify-ca' ? { checkServerIdentity: () => undefined } : {}),
  };
}

/** pg's pool behind the driver interface. */
class PostgresDriver implements SqlDriver {
  readonly pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.pool = pool;
  }

  async query(sql: string, params: readonly SqlValue[] = []): Promise<readonly SqlRow[]> {
    const result = await this.pool.query(numberedPlaceholders(sql), [...params]);
    return result.rows as SqlRow[];
  }

  async transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken = false;
    // A checked-out connection that the server ends (a restart) emits 'error' on the client, not
    // the pool: unhandled, it would crash the process. The query in progress fails by itself.
    const onError = (): void => {
      broken = true;
    };
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      const result = await work({
        query: async (sql, params = []) =>
          (await client.query(numberedPlaceholders(sql), [...params])).rows as SqlRow[],
      });
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      throw error;
    } finally {
      // A connection that broke is not given back to the pool.
      client.removeListener('error', onError);
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

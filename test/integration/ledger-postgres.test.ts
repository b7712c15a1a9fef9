/**
 * The ledger in a real PostgreSQL, through `meshca serve` (child processes, the password from
 * MESHCA_LEDGER_PASSWORD):
 * - PostgreSQL stopped in the middle of a load and started again: issuance never stops, and every
 *   record arrives, none twice;
 * - meshca killed (SIGKILL) while PostgreSQL is down, then both restarted: the spool is written;
 * - `fail-closed`: with the spool full, issuance answers UNAVAILABLE until the database is back;
 * - two replicas on one database: a certificate of one, revoked by `meshca revoke`, is on the
 *   CRL of both.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { devPkiLayout, ensureDevPki } from '../../src/ca/index.js';
import { runCommand } from '../../src/cli/main.js';
import { CaClient } from '../../src/client/index.js';
import { systemClock } from '../../src/clock.js';
import {
  DEV_TOKEN_ISSUER,
  devTokenIssuerLayout,
  ensureDevTokenIssuer,
  issueDevToken,
} from '../../src/devmode/index.js';
import { csrFor } from '../server/harness.js';
import { eventually } from '../support/kube.js';
import { issuanceLoad, metricValue, type LoadResult } from '../support/issuance-load.js';
import { startMeshcaProcess, type MeshcaProcess } from '../support/meshca-process.js';
import { postgresAvailable, startPostgres, type TestPostgres } from '../support/postgres.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';

const available = postgresAvailable();
const never = new AbortController().signal;

(available ? describe : describe.skip)('the ledger in PostgreSQL, through serve', () => {
  let pg: TestPostgres;
  const processes: MeshcaProcess[] = [];

  beforeAll(async () => {
    pg = await startPostgres();
  }, 120_000);
  afterAll(async () => {
    for (const meshca of processes) meshca.kill();
    await pg.destroy();
    removeTempDirs();
  });
  afterEach(async () => {
    await pg.start();
  }, 60_000);

  async function meshca(
    stateDir: string,
    url: string,
    extra: string[] = [],
  ): Promise<MeshcaProcess> {
    const started = await startMeshcaProcess(
      [
        '--state-dir',
        stateDir,
        '--ledger',
        url,
        '--ledger-tls-mode',
        'disable',
        '--ledger-flush-interval',
        '100ms',
        ...extra,
      ],
      { MESHCA_LEDGER_PASSWORD: pg.password },
    );
    processes.push(started);
    return started;
  }

  async function metrics(process: MeshcaProcess): Promise<string> {
    return (await process.get('/metrics')).body;
  }

  async function drained(process: MeshcaProcess): Promise<void> {
    await eventually(
      'the ledger backlog written',
      async () =>
        metricValue(await metrics(process), 'meshca_ledger_backlog_records') === 0
          ? true
          : undefined,
      60_000,
    );
  }

  /** Issuance records in the database: how many, and how many distinct requests. */
  async function recorded(
    url: string,
  ): Promise<{ records: number; requests: number; serials: string[] }> {
    const database = new URL(url).pathname.slice(1);
    const [counts] = await pg.sql(
      database,
      "SELECT count(*) AS records, count(DISTINCT body::json->>'requestId') AS requests FROM ledger_records WHERE kind = 'issuance'",
    );
    const serials = await pg.sql(
      database,
      "SELECT serial FROM ledger_certificates WHERE namespace = 'load'",
    );
    return {
      records: Number(counts?.['records']),
      requests: Number(counts?.['requests']),
      serials: serials.map((row) => String(row['serial'])).sort(),
    };
  }

  async function verify(url: string): Promise<number> {
    return runCommand(
      ['ledger', 'verify', '--ledger', url, '--ledger-tls-mode', 'disable'],
      {
        stdout: { write: () => true },
        stderr: { write: () => true },
        env: { MESHCA_LEDGER_PASSWORD: pg.password },
        cwd: process.cwd(),
      },
      never,
    );
  }

  const serialsOf = (answers: readonly LoadResult[]): string[] =>
    answers.flatMap((answer) => (answer.serial === undefined ? [] : [answer.serial])).sort();

  it('loses nothing and duplicates nothing when PostgreSQL stops in the middle of a load', async () => {
    const url = await pg.createDatabase();
    const stateDir = tempDir('meshca-pg-load-');
    const server = await meshca(stateDir, url);
    const load = await issuanceLoad(stateDir, server.grpcPort);
    const answers: LoadResult[] = [];
    let stop = false;
    let sent = 0;
    const workers = Promise.all(
      Array.from({ length: 10 }, async () => {
        while (!stop) answers.push(await load.call(sent++));
      }),
    );
    const answered = async (count: number): Promise<void> => {
      await eventually(
        `${count} answers`,
        () => (answers.length >= count ? true : undefined),
        60_000,
      );
    };
    await answered(200);
    await pg.stop();
    const downAt = answers.length;
    await answered(downAt + 200);
    await pg.start();
    const upAt = answers.length;
    await answered(upAt + 200);
    stop = true;
    await workers;
    load.close();

    // Issuance never depended on the database.
    expect(answers.every((answer) => answer.outcome === 'OK')).toBe(true);
    await drained(server);
    const text = await metrics(server);
    expect(metricValue(text, 'meshca_ledger_write_errors_total')).toBeGreaterThan(0);
    expect(metricValue(text, 'meshca_ledger_records_dropped_total{reason="spool-full"}')).toBe(0);
    const messages = server.logs().map((line) => line.msg);
    expect(messages).toContain('ledger database unavailable; records go to the spool');
    expect(messages).toContain('ledger database available again');

    const inDatabase = await recorded(url);
    expect(inDatabase.records).toBe(answers.length);
    expect(inDatabase.requests).toBe(answers.length);
    expect(inDatabase.serials).toEqual(serialsOf(answers));
    expect(await verify(url)).toBe(0);
  }, 180_000);

  it('writes the spool of a meshca killed while PostgreSQL was down, once both are back', async () => {
    const url = await pg.createDatabase();
    const stateDir = tempDir('meshca-pg-kill-');
    const first = await meshca(stateDir, url);
    const load = await issuanceLoad(stateDir, first.grpcPort);
    const before = await load.run(20, 5);
    await drained(first);
    await pg.stop();
    const during = await load.run(100, 10);
    load.close();
    expect([...before, ...during].every((answer) => answer.outcome === 'OK')).toBe(true);
    await eventually(
      'every record in the spool',
      async () =>
        metricValue(await metrics(first), 'meshca_ledger_spool_records') === during.length
          ? true
          : undefined,
      30_000,
    );
    first.kill();
    await first.exited;

    await pg.start();
    const second = await meshca(stateDir, url);
    await drained(second);
    expect(second.logs().find((line) => line.msg === 'ledger spool replayed')).toMatchObject({
      records: during.length,
    });
    const inDatabase = await recorded(url);
    expect(inDatabase.records).toBe(before.length + during.length);
    expect(inDatabase.requests).toBe(before.length + during.length);
    expect(inDatabase.serials).toEqual(serialsOf([...before, ...during]));
    expect(await verify(url)).toBe(0);
  }, 180_000);

  it('fails closed, when so configured, while the spool is full', async () => {
    const url = await pg.createDatabase();
    const stateDir = tempDir('meshca-pg-closed-');
    const server = await meshca(stateDir, url, [
      '--ledger-spool-max',
      '5',
      '--ledger-spool-full',
      'fail-closed',
    ]);
    const load = await issuanceLoad(stateDir, server.grpcPort);
    expect((await load.call(0)).outcome).toBe('OK');
    await drained(server);
    await pg.stop();
    const answers: LoadResult[] = [];
    for (let index = 1; index <= 8; index++) answers.push(await load.call(index));
    expect(answers.slice(0, 5).map((answer) => answer.outcome)).toEqual([
      'OK',
      'OK',
      'OK',
      'OK',
      'OK',
    ]);
    expect(answers.slice(5)).toEqual(
      Array.from({ length: 3 }, () => ({
        outcome: 'UNAVAILABLE',
        details: 'the CA is temporarily unavailable, retry later',
      })),
    );
    expect(server.logs().some((line) => line['code'] === 'ERR_LEDGER_UNAVAILABLE')).toBe(true);
    await pg.start();
    await drained(server);
    expect((await load.call(9)).outcome).toBe('OK');
    load.close();
    await drained(server);
    const inDatabase = await recorded(url);
    expect(inDatabase.records).toBe(7);
  }, 180_000);

  it("puts every replica's certificates on every replica's CRL", async () => {
    const url = await pg.createDatabase();
    // One CA and one token issuer for both replicas (as a cacerts Secret and the cluster's JWKS).
    const shared = tempDir('meshca-pg-shared-');
    await ensureDevPki(shared, systemClock.now());
    await ensureDevTokenIssuer(shared);
    const { caDir } = devPkiLayout(shared);
    const replica = (): Promise<MeshcaProcess> =>
      meshca(tempDir('meshca-pg-replica-'), url, [
        '--ca-dir',
        caDir,
        '--jwks',
        devTokenIssuerLayout(shared).jwksFile,
        '--jwt-issuer',
        DEV_TOKEN_ISSUER,
        '--kubeconfig',
        'none',
        '--revocation',
        '--crl-check-interval',
        '500ms',
      ]);
    const [a, b] = [await replica(), await replica()];
    const client = new CaClient({
      address: `localhost:${a.grpcPort}`,
      rootCertPem: readFileSync(join(caDir, 'root-cert.pem'), 'utf8'),
    });
    const { csrPem } = await csrFor('spiffe://cluster.local/ns/shop/sa/web', 'ec');
    const token = await issueDevToken(
      shared,
      { namespace: 'shop', serviceAccount: 'web', audiences: ['istio-ca'], ttlSeconds: 600 },
      systemClock,
    );
    const chain = await client.createCertificate({ csrPem, token });
    client.close();
    const serial = new X509Certificate(chain[0]!).serialNumber.toLowerCase();
    await drained(a);
    const revoked = await runCommand(
      ['revoke', serial, '--ledger', url, '--ledger-tls-mode', 'disable'],
      {
        stdout: { write: () => true },
        stderr: { write: () => true },
        env: { MESHCA_LEDGER_PASSWORD: pg.password },
        cwd: process.cwd(),
      },
      never,
    );
    expect(revoked).toBe(0);
    const numbers: bigint[] = [];
    for (const server of [a, b]) {
      const der = await eventually(
        'the serial on the CRL',
        async () => {
          const response = await fetch(`http://127.0.0.1:${server.httpPort}/crl`);
          const body = Buffer.from(await response.arrayBuffer());
          return body.includes(Buffer.from(serial, 'hex')) ? body : undefined;
        },
        15_000,
      );
      numbers.push(crlNumber(der));
    }
    // Both signed, with distinct numbers.
    expect(numbers[0]).not.toBe(numbers[1]);
  }, 120_000);
});

/** The CRL number of a DER CRL (its last INTEGER before the signature: the crlNumber extension). */
function crlNumber(der: Buffer): bigint {
  // OID 2.5.29.20 (crlNumber), then OCTET STRING { INTEGER }.
  const oid = Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x14]);
  const at = der.indexOf(oid);
  if (at < 0) throw new Error('no CRL number');
  const integer = at + oid.length + 2;
  const length = der[integer + 1] ?? 0;
  return BigInt(`0x${der.subarray(integer + 2, integer + 2 + length).toString('hex')}`);
}

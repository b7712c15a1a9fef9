/**
 * SIGTERM while the ledger's PostgreSQL cannot take the records, through `meshca serve` (a child
 * process): stopped (connections refused) or hung (the server SIGSTOPped: connections open,
 * nothing answers, the write in progress never returns). Either way meshca exits 0 within its
 * bound (the drain, then at most `closeTimeout` = 5 s for the ledger and 1 s to close the
 * database), says how many records stay in the spool, and the next start writes every one.
 */
import { join } from 'node:path';
import { Spool } from '../../src/ledger/spool.js';
import { eventually } from '../support/kube.js';
import { issuanceLoad, metricValue } from '../support/issuance-load.js';
import { startMeshcaProcess, type MeshcaProcess } from '../support/meshca-process.js';
import { postgresAvailable, startPostgres, type TestPostgres } from '../support/postgres.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';

/** The ledger's share of a shutdown (5 s to write, 1 s to close the database), plus slack. */
const LEDGER_CLOSE_BOUND_MS = 5000 + 1000 + 3000;

(postgresAvailable() ? describe : describe.skip)(
  'SIGTERM while the ledger database cannot take the records',
  () => {
    let pg: TestPostgres;
    const processes: MeshcaProcess[] = [];

    beforeAll(async () => {
      pg = await startPostgres();
    }, 120_000);
    afterAll(async () => {
      for (const meshca of processes) meshca.kill();
      await Promise.all(processes.map((meshca) => meshca.exited));
      await pg.destroy();
      removeTempDirs();
    });
    afterEach(async () => {
      pg.thaw();
      await pg.start();
    }, 60_000);

    async function meshca(stateDir: string, url: string): Promise<MeshcaProcess> {
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
        ],
        { MESHCA_LEDGER_PASSWORD: pg.password },
      );
      processes.push(started);
      return started;
    }

    async function drained(server: MeshcaProcess): Promise<void> {
      await eventually(
        'the ledger backlog written',
        async () =>
          metricValue((await server.get('/metrics')).body, 'meshca_ledger_backlog_records') === 0
            ? true
            : undefined,
        60_000,
      );
    }

    it.each([
      ['stopped', (): Promise<void> => pg.stop(), (): Promise<void> => pg.start()],
      [
        'hung',
        (): Promise<void> => {
          pg.freeze();
          return Promise.resolve();
        },
        (): Promise<void> => {
          pg.thaw();
          return Promise.resolve();
        },
      ],
    ])(
      'PostgreSQL %s: exit 0 within the bound, the records left in the spool, written by the next start',
      async (_state, fault, repair) => {
        const url = await pg.createDatabase();
        const database = new URL(url).pathname.slice(1);
        const stateDir = tempDir('meshca-pg-shutdown-');
        const first = await meshca(stateDir, url);
        const load = await issuanceLoad(stateDir, first.grpcPort);
        const before = await load.run(10, 5);
        await drained(first);

        await fault();
        const during = await load.run(30, 10);
        load.close();
        expect([...before, ...during].every((answer) => answer.outcome === 'OK')).toBe(true);
        const signalled = performance.now();
        first.child.kill('SIGTERM');
        const code = await first.exited;
        const elapsedMs = performance.now() - signalled;

        expect(code).toBe(0);
        expect(elapsedMs).toBeLessThan(LEDGER_CLOSE_BOUND_MS);
        const logs = first.logs();
        expect(
          logs.find(
            (line) =>
              line.msg ===
              'ledger not flushed at shutdown; the rest waits in the spool for the next start',
          ),
        ).toMatchObject({ level: 40, spooled: during.length });
        expect(new Spool(join(stateDir, 'ledger-spool.jsonl')).load()).toHaveLength(during.length);

        await repair();
        const second = await meshca(stateDir, url);
        await drained(second);
        expect(second.logs().find((line) => line.msg === 'ledger spool replayed')).toMatchObject({
          records: during.length,
        });
        const rows = await pg.sql(
          database,
          "SELECT serial FROM ledger_certificates WHERE namespace = 'load'",
        );
        expect(rows.map((row) => String(row['serial'])).sort()).toEqual(
          [...before, ...during].map((answer) => answer.serial).sort(),
        );
      },
      120_000,
    );
  },
);

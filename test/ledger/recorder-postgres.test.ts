/**
 * The recorder against a real PostgreSQL that stops in the middle of a load and comes back, and a
 * restart of meshca while it is down: every record arrives, none twice, and issuance never waits.
 */
import { join } from 'node:path';
import { FixedClock } from '../../src/clock.js';
import { silentLogger } from '../../src/logger.js';
import { PostgresLedgerStore, verifyLedger } from '../../src/ledger/index.js';
import type { LedgerStore } from '../../src/ledger/index.js';
import { postgresAvailable, startPostgres, type TestPostgres } from '../support/postgres.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';
import { event, T0 } from './fixtures.js';
import { metric, recorder } from './recorder-support.js';

const available = postgresAvailable();
let server: TestPostgres | undefined;
const controller = new AbortController();

beforeAll(async () => {
  if (available) server = await startPostgres();
}, 120_000);
afterAll(async () => {
  controller.abort();
  await server?.destroy();
  removeTempDirs();
});

function running(): TestPostgres {
  if (server === undefined) throw new Error('PostgreSQL did not start');
  return server;
}

function store(url: string): PostgresLedgerStore {
  return new PostgresLedgerStore(
    { url, passwordFile: running().passwordFile, connectTimeoutMs: 1000, statementTimeoutMs: 5000 },
    new FixedClock(new Date(T0)),
    silentLogger(),
  );
}

async function recordCount(ledger: LedgerStore): Promise<number> {
  return (await ledger.chains()).reduce((sum, chain) => sum + chain.records, 0);
}

(available ? describe : describe.skip)('LedgerRecorder on PostgreSQL', () => {
  it('loses nothing and duplicates nothing when the database stops during a load and comes back', async () => {
    const url = await running().createDatabase();
    const ledgerStore = store(url);
    const spoolPath = join(tempDir('meshca-recorder-'), 'ledger-spool.jsonl');
    const { recorder: ledger, registry } = recorder(ledgerStore, {
      spoolPath,
      batchSize: 50,
      writeTimeoutMs: 2000,
    });
    await ledger.start(controller.signal);

    let produced = 0;
    let slowestObserveMs = 0;
    let maxSpooled = 0;
    const producing = { on: true };
    const load = (async () => {
      while (producing.on) {
        for (let i = 0; i < 10; i++) {
          const started = performance.now();
          ledger.observe(event({ outcome: i === 9 ? 'denied' : 'issued', denyRule: 'namespaces' }));
          slowestObserveMs = Math.max(slowestObserveMs, performance.now() - started);
          produced++;
        }
        maxSpooled = Math.max(maxSpooled, await metric(registry, 'meshca_ledger_spool_records'));
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 500));
    await running().stop();
    const producedWhileDown = produced;
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await running().start();
    await new Promise((resolve) => setTimeout(resolve, 500));
    producing.on = false;
    await load;
    expect(produced).toBeGreaterThan(producedWhileDown);

    await ledger.flush(30_000);
    expect(await recordCount(ledgerStore)).toBe(produced);
    expect(ledger.head().sequence).toBe(produced);
    const verdict = await verifyLedger(ledgerStore, [ledger.head()]);
    expect(verdict.ok).toBe(true);
    expect(verdict.chains).toHaveLength(1);
    expect(maxSpooled).toBeGreaterThan(0);
    expect(await metric(registry, 'meshca_ledger_write_errors_total')).toBeGreaterThan(0);
    expect(await metric(registry, 'meshca_ledger_records_written_total')).toBeGreaterThanOrEqual(
      produced,
    );
    expect(await metric(registry, 'meshca_ledger_backlog_records')).toBe(0);
    // Observing is a queue push, whatever the database does: it never waits for the database
    // (a connection timeout is seconds). The bound is loose on purpose — a busy, shared machine
    // pauses any code for tens of milliseconds; the cost per event is measured by `npm run bench`.
    expect(slowestObserveMs).toBeLessThan(1000);
    await ledger.close();
  }, 90_000);

  it('writes the spool of a meshca killed while the database was down, once both are back', async () => {
    const url = await running().createDatabase();
    const spoolPath = join(tempDir('meshca-recorder-'), 'ledger-spool.jsonl');
    const first = recorder(store(url), { spoolPath, closeTimeoutMs: 300 }).recorder;
    await first.start(controller.signal);
    for (let i = 0; i < 30; i++) first.observe(event());
    await first.flush();
    await running().stop();
    for (let i = 0; i < 70; i++) first.observe(event());
    const head = first.head();
    await first.close();

    await running().start();
    const secondStore = store(url);
    const second = recorder(secondStore, { spoolPath, writer: 'restarted' }).recorder;
    await second.start(controller.signal);
    second.observe(event());
    await second.flush(30_000);
    expect(await recordCount(secondStore)).toBe(101);
    const verdict = await verifyLedger(secondStore, [head, second.head()]);
    expect(verdict.ok).toBe(true);
    expect(verdict.chains.map((c) => c.records).sort((a, b) => a - b)).toEqual([1, 100]);
    await second.close();
  }, 90_000);
});

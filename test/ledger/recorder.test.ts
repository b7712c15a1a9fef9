import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Registry } from 'prom-client';
import { FixedClock } from '../../src/clock.js';
import { createLogger, silentLogger } from '../../src/logger.js';
import { LedgerMetrics } from '../../src/metrics/index.js';
import { LedgerPruner, LedgerRecorder, verifyLedger } from '../../src/ledger/index.js';
import type { LedgerStore } from '../../src/ledger/index.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';
import { event, ISSUER_B, T0, TestChain } from './fixtures.js';
import { eventually, FlakySqliteStore, metric, recorder } from './recorder-support.js';

afterAll(removeTempDirs);

function setup(): { store: FlakySqliteStore; spoolPath: string; dir: string } {
  const dir = tempDir('meshca-recorder-');
  return {
    dir,
    store: new FlakySqliteStore({ path: join(dir, 'ledger.db') }, new FixedClock(new Date(T0))),
    spoolPath: join(dir, 'ledger-spool.jsonl'),
  };
}

async function recordCount(store: LedgerStore): Promise<number> {
  return (await store.chains()).reduce((sum, chain) => sum + chain.records, 0);
}

const controller = new AbortController();
afterAll(() => {
  controller.abort();
});

describe('LedgerRecorder', () => {
  it('records issuances and refusals of authenticated callers, and nothing else', async () => {
    const { store, spoolPath } = setup();
    const { recorder: ledger, registry } = recorder(store, { spoolPath });
    await ledger.start(controller.signal);
    const events = [
      event(),
      event({ outcome: 'denied', denyRule: 'namespaces' }),
      event({ outcome: 'invalid' }),
      event({ outcome: 'unauthenticated' }),
      event({ outcome: 'unauthenticated', caller: false }),
      event({ outcome: 'unavailable' }),
      event({ outcome: 'internal' }),
    ];
    for (const e of events) ledger.observe(e);
    await ledger.flush();
    expect(await recordCount(store)).toBe(4);
    expect(await metric(registry, 'meshca_ledger_records_written_total')).toBe(4);
    expect(await metric(registry, 'meshca_ledger_backlog_records')).toBe(0);
    expect((await store.denials(new Date(0))).items.map((d) => d.outcome)).toEqual([
      'denied',
      'invalid',
      'unauthenticated',
    ]);
    await ledger.close();
  });

  it('records retirements, revocations and findings, and names the intermediate in force for refusals', async () => {
    const { store, spoolPath } = setup();
    const registry = new Registry();
    const ledger = new LedgerRecorder(
      { writer: 'pod-a', spoolPath, flushIntervalMs: 20 },
      {
        store,
        clock: new FixedClock(new Date(T0 + 1000)),
        logger: silentLogger(),
        metrics: new LedgerMetrics(registry),
        currentIssuer: () => ISSUER_B,
      },
    );
    await ledger.start(controller.signal);
    const issued = event({ pod: { name: 'cart-1', uid: 'uid-1' } });
    ledger.observe(issued);
    ledger.observe(event({ outcome: 'denied', denyRule: 'namespaces' }));
    ledger.retire({
      pod: { namespace: 'shop', name: 'cart-1', uid: 'uid-1' },
      reason: 'pod-deleted',
    });
    ledger.revoke({ serials: ['ABCDEF'], reason: 'keyCompromise', by: 'alice' });
    ledger.finding({
      kind: 'self-signed-ca',
      severity: 'critical',
      object: 'Secret a/b',
      detail: { why: 'test' },
    });
    await ledger.flush();
    const serialHex = issued.certificate!.serialHex;
    const [workload] = (await store.workloads()).items;
    expect(workload?.certificates.map((c) => [c.serial, c.status])).toEqual([
      [serialHex, 'retired'],
    ]);
    expect((await store.denials(new Date(0))).items[0]?.issuerFingerprint).toBe(ISSUER_B);
    expect((await store.findings(new Date(0))).items.map((f) => f.kind)).toEqual([
      'self-signed-ca',
    ]);
    const head = ledger.head();
    expect(head).toMatchObject({ writer: 'pod-a', sequence: 5 });
    expect((await verifyLedger(store, [head])).ok).toBe(true);
    await ledger.close();
    expect(await metric(registry, 'meshca_ledger_chain_head_sequence')).toBe(5);
  });

  it('spools while the database is down and writes everything, in order and once, when it is back', async () => {
    const { store, spoolPath } = setup();
    const { recorder: ledger, registry } = recorder(store, { spoolPath, batchSize: 7 });
    await ledger.start(controller.signal);
    for (let i = 0; i < 10; i++) ledger.observe(event());
    await ledger.flush();
    store.down = true;
    for (let i = 0; i < 40; i++) ledger.observe(event());
    await eventually(async () => (await metric(registry, 'meshca_ledger_spool_records')) === 40);
    expect(readFileSync(spoolPath, 'utf8').trim().split('\n')).toHaveLength(40);
    expect(await metric(registry, 'meshca_ledger_backlog_records')).toBe(40);
    expect(await metric(registry, 'meshca_ledger_write_errors_total')).toBeGreaterThan(0);
    expect(ledger.readiness()[0]?.check()).toMatch(/unavailable.*40 records waiting/);
    // Issuance is never held back under drop-oldest.
    expect(ledger.admit()).toBeUndefined();
    store.down = false;
    for (let i = 0; i < 5; i++) ledger.observe(event());
    await eventually(() => ledger.backlog() === 0);
    expect(await recordCount(store)).toBe(55);
    expect(ledger.readiness()[0]?.check()).toBeUndefined();
    const result = await verifyLedger(store, [ledger.head()]);
    expect(result.ok).toBe(true);
    expect(result.chains[0]).toMatchObject({ firstSequence: 1, lastSequence: 55, records: 55 });
    // The spool is emptied once written.
    await eventually(() => readFileSync(spoolPath, 'utf8') === '');
    await ledger.close();
  });

  it('survives a restart: a closed recorder spools what it could not write, the next one writes it', async () => {
    const { store, spoolPath, dir } = setup();
    store.down = true;
    const first = recorder(store, { spoolPath, closeTimeoutMs: 100 }).recorder;
    await first.start(controller.signal);
    for (let i = 0; i < 25; i++) first.observe(event());
    const firstHead = first.head();
    await first.close();
    // Requests finishing after close still reach the spool.
    first.observe(event());
    expect(readFileSync(spoolPath, 'utf8').trim().split('\n')).toHaveLength(26);

    const reopened = new FlakySqliteStore(
      { path: join(dir, 'ledger.db') },
      new FixedClock(new Date(T0)),
    );
    const { recorder: second, registry } = recorder(reopened, { spoolPath, writer: 'test-pod-2' });
    await second.start(controller.signal);
    expect(await metric(registry, 'meshca_ledger_spool_records')).toBe(26);
    second.observe(event());
    await second.flush();
    expect(await recordCount(reopened)).toBe(27);
    const result = await verifyLedger(reopened, [firstHead, second.head()]);
    expect(result.ok).toBe(true);
    expect(result.chains.map((c) => c.records).sort()).toEqual([1, 26]);
    await second.close();
    // Replaying a spool twice (a crash before it was emptied) stores nothing twice.
    const third = recorder(
      new FlakySqliteStore({ path: join(dir, 'ledger.db') }, new FixedClock(new Date(T0))),
      { spoolPath },
    );
    await third.recorder.start(controller.signal);
    await third.recorder.flush();
    await third.recorder.close();
    expect(existsSync(spoolPath)).toBe(true);
  });

  it('replays a spool whose last line was torn by a crash', async () => {
    const { store, spoolPath } = setup();
    store.down = true;
    const first = recorder(store, { spoolPath, closeTimeoutMs: 50 }).recorder;
    await first.start(controller.signal);
    for (let i = 0; i < 3; i++) first.observe(event());
    await first.close();
    appendFileSync(spoolPath, '{"chainId":"torn');
    store.down = false;
    const second = recorder(store, { spoolPath }).recorder;
    await second.start(controller.signal);
    await second.flush();
    expect(await recordCount(store)).toBe(3);
    await second.close();
  });

  it('drops the oldest records when the spool is full under drop-oldest, leaving a gap record', async () => {
    const { store, spoolPath } = setup();
    const { recorder: ledger, registry } = recorder(store, {
      spoolPath,
      spoolMaxRecords: 50,
      spoolFull: 'drop-oldest',
    });
    await ledger.start(controller.signal);
    store.down = true;
    for (let i = 0; i < 120; i++) ledger.observe(event());
    expect(ledger.backlog()).toBeLessThanOrEqual(50);
    const dropped = await metric(registry, 'meshca_ledger_records_dropped_total');
    expect(dropped).toBeGreaterThanOrEqual(70);
    expect(ledger.admit()).toBeUndefined();
    store.down = false;
    await ledger.flush();
    const result = await verifyLedger(store, [ledger.head()]);
    expect(result.ok).toBe(true);
    expect(result.chains[0]!.gaps).toBeGreaterThan(0);
    // Every record made is in the database or counted as dropped.
    expect(await recordCount(store)).toBe(ledger.head().sequence - dropped);
    await ledger.close();
  });

  it('closes the gate when the spool is full under fail-closed, and opens it once written', async () => {
    const { store, spoolPath } = setup();
    const { recorder: ledger, registry } = recorder(store, {
      spoolPath,
      spoolMaxRecords: 20,
      spoolFull: 'fail-closed',
    });
    await ledger.start(controller.signal);
    store.down = true;
    for (let i = 0; i < 19; i++) ledger.observe(event());
    expect(ledger.admit()).toBeUndefined();
    ledger.observe(event());
    expect(ledger.admit()).toMatchObject({ code: 'ERR_LEDGER_UNAVAILABLE', kind: 'unavailable' });
    // Refusals recorded while the gate is closed are kept up to the hard bound, then dropped.
    for (let i = 0; i < 10; i++)
      ledger.observe(event({ outcome: 'denied', denyRule: 'namespaces' }));
    expect(ledger.backlog()).toBeLessThanOrEqual(23);
    expect(await metric(registry, 'meshca_ledger_records_dropped_total')).toBeGreaterThan(0);
    store.down = false;
    await ledger.flush();
    expect(ledger.admit()).toBeUndefined();
    expect((await verifyLedger(store)).ok).toBe(true);
    await ledger.close();
  });

  it('starts while the database cannot be reached, and writes once it can', async () => {
    const { store, spoolPath } = setup();
    store.down = true;
    const { recorder: ledger } = recorder(store, { spoolPath });
    await ledger.start(controller.signal);
    ledger.observe(event());
    await eventually(() => existsSync(spoolPath) && readFileSync(spoolPath, 'utf8') !== '');
    store.down = false;
    await eventually(() => ledger.backlog() === 0);
    expect(await recordCount(store)).toBe(1);
    await ledger.close();
  });

  it('fails to start on a database newer than this meshca', async () => {
    const { store, spoolPath, dir } = setup();
    await store.open();
    await store.close();
    const db = new Database(join(dir, 'ledger.db'));
    db.prepare('INSERT INTO ledger_schema (version, applied_at_ms) VALUES (99, 0)').run();
    db.close();
    const { recorder: ledger } = recorder(store, { spoolPath });
    await expect(ledger.start(controller.signal)).rejects.toMatchObject({
      code: 'ERR_LEDGER_SCHEMA',
    });
    await ledger.close();
  });

  it('never throws from observe, even for an event it cannot hash', () => {
    const { store, spoolPath } = setup();
    const { recorder: ledger } = recorder(store, { spoolPath });
    const bad = { ...event(), time: new Date(Number.NaN) };
    expect(() => {
      ledger.observe(bad);
    }).not.toThrow();
  });

  it.each([[{ spoolMaxRecords: 0 }], [{ batchSize: 0 }]])('rejects bad options %j', (options) => {
    const { store, spoolPath } = setup();
    expect(() => recorder(store, { spoolPath, ...options })).toThrow(TypeError);
  });
});

describe('the chain head', () => {
  it('is logged and exported at a fixed interval, for an outside system to anchor', async () => {
    const { store, spoolPath } = setup();
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({
      level: 'info',
      destination: {
        write(line: string) {
          lines.push(JSON.parse(line) as Record<string, unknown>);
        },
      },
    });
    const registry = new Registry();
    const ledger = new LedgerRecorder(
      { writer: 'pod-h', spoolPath, flushIntervalMs: 10, headIntervalMs: 30 },
      { store, clock: new FixedClock(new Date(T0)), logger, metrics: new LedgerMetrics(registry) },
    );
    await ledger.start(controller.signal);
    ledger.observe(event());
    ledger.observe(event());
    await eventually(() =>
      lines.some((line) => line['msg'] === 'ledger chain head' && line['sequence'] === 2),
    );
    const head = lines.find(
      (line) => line['msg'] === 'ledger chain head' && line['sequence'] === 2,
    );
    expect(head).toMatchObject({
      chainId: ledger.head().chainId,
      writer: 'pod-h',
      hash: ledger.head().hash,
    });
    expect(await metric(registry, 'meshca_ledger_chain_head_sequence')).toBe(2);
    await ledger.close();
  });
});

describe('LedgerPruner as a part', () => {
  it('prunes on its interval until closed', async () => {
    const { store } = setup();
    await store.open();
    const chain = new TestChain();
    await store.append([
      chain.issuance({ timeMs: T0 - 40 * 86_400_000, ttlMs: 3600_000 }),
      chain.issuance(),
    ]);
    const pruner = new LedgerPruner(
      { writer: 'pruner@pod', intervalMs: 20, pauseMs: 0 },
      { store, clock: new FixedClock(new Date(T0)), logger: silentLogger() },
    );
    await pruner.start(controller.signal);
    await eventually(async () => (await store.chains()).some((c) => c.writer === 'pruner@pod'));
    await pruner.close();
    expect(
      (await verifyLedger(store)).chains.find((c) => c.chainId === chain.writer.chainId),
    ).toMatchObject({ prunedThrough: 1, records: 1 });
    await store.close();
  });

  it.each([[{ retentionMs: 0 }], [{ batchSize: 0 }]])('rejects bad options %j', (options) => {
    const { store } = setup();
    expect(
      () =>
        new LedgerPruner(
          { writer: 'p', ...options },
          { store, clock: new FixedClock(new Date(T0)), logger: silentLogger() },
        ),
    ).toThrow(TypeError);
  });
});

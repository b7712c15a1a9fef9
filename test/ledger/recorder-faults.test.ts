/**
 * The recorder's faults: a full disk under its SQLite file and its spool (a real tmpfs, filled and
 * freed), and shutdown — what `close` writes, spools, or reports lost, within its deadline.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FixedClock } from '../../src/clock.js';
import { SqliteLedgerStore, verifyLedger, type LedgerStore } from '../../src/ledger/index.js';
import { Spool } from '../../src/ledger/spool.js';
import { mountSmallDisk, smallDiskAvailable, unmountSmallDisks } from '../support/small-disk.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';
import { event, T0 } from './fixtures.js';
import {
  eventually,
  FlakySqliteStore,
  metric,
  recorder,
  recordingLogger,
} from './recorder-support.js';

const controller = new AbortController();
afterAll(() => {
  controller.abort();
  unmountSmallDisks();
  removeTempDirs();
});

const clock = new FixedClock(new Date(T0));

async function recordCount(store: LedgerStore): Promise<number> {
  return (await store.chains()).reduce((sum, chain) => sum + chain.records, 0);
}

const messages = (lines: () => Record<string, unknown>[]): unknown[] =>
  lines().map((line) => line['msg']);

(smallDiskAvailable() ? describe : describe.skip)(
  'LedgerRecorder on a full disk (SQLite and spool on a real tmpfs)',
  () => {
    function onSmallDisk(): {
      store: SqliteLedgerStore;
      spoolPath: string;
      disk: ReturnType<typeof mountSmallDisk>;
    } {
      const disk = mountSmallDisk(4 << 20);
      return {
        disk,
        store: new SqliteLedgerStore({ path: join(disk.path, 'ledger.db') }, clock),
        spoolPath: join(disk.path, 'ledger-spool.jsonl'),
      };
    }

    it('drop-oldest: issuance goes on, the oldest records are dropped past the bound, the rest is written once there is room', async () => {
      const { disk, store, spoolPath } = onSmallDisk();
      const { logger, lines } = recordingLogger();
      const { recorder: ledger, registry } = recorder(
        store,
        { spoolPath, spoolMaxRecords: 50, spoolFull: 'drop-oldest' },
        logger,
      );
      await ledger.start(controller.signal);
      for (let i = 0; i < 10; i++) ledger.observe(event());
      await ledger.flush();

      disk.fill();
      for (let i = 0; i < 120; i++) ledger.observe(event());
      await eventually(
        async () => (await metric(registry, 'meshca_ledger_spool_write_errors_total')) > 0,
      );
      for (let i = 0; i < 30; i++) ledger.observe(event());
      expect(ledger.backlog()).toBeLessThanOrEqual(50);
      expect(ledger.admit()).toBeUndefined();
      expect(await metric(registry, 'meshca_ledger_write_errors_total')).toBeGreaterThan(0);
      const dropped = await metric(registry, 'meshca_ledger_records_dropped_total');
      expect(dropped).toBeGreaterThanOrEqual(100);
      expect(ledger.readiness()[0]?.check()).toMatch(
        /^ledger database unavailable \(the SQLite ledger .* cannot be written, the disk is full \(SQLITE_FULL: .*\)\); \d+ records waiting, in memory: the spool cannot be written \((Error: )?ENOSPC: no space left on device/,
      );
      expect(
        lines().find(
          (line) => line['msg'] === 'ledger database unavailable; records go to the spool',
        ),
      ).toMatchObject({
        level: 40,
        err: expect.stringContaining('SQLITE_FULL') as unknown,
      });
      expect(
        lines().filter(
          (line) => line['msg'] === 'ledger spool cannot be written; records wait in memory',
        ),
      ).toEqual([
        expect.objectContaining({
          level: 50,
          path: spoolPath,
          err: expect.stringContaining('ENOSPC') as unknown,
        }),
      ]);
      expect(messages(lines)).toContain('ledger spool full: oldest records dropped');

      disk.free();
      await eventually(() => ledger.backlog() === 0);
      expect(messages(lines)).toContain('ledger database available again');
      const result = await verifyLedger(store, [ledger.head()]);
      expect(result.ok).toBe(true);
      expect(result.chains[0]?.gaps).toBeGreaterThan(0);
      // Every record made is in the database or counted as dropped.
      expect(await recordCount(store)).toBe(ledger.head().sequence - dropped);
      await ledger.close();
      disk.unmount();
    });

    it('fail-closed: the gate closes while neither the database nor the spool can be written, and opens once there is room; nothing issued is lost', async () => {
      const { disk, store, spoolPath } = onSmallDisk();
      const { recorder: ledger, registry } = recorder(store, {
        spoolPath,
        spoolMaxRecords: 1000,
        spoolFull: 'fail-closed',
      });
      await ledger.start(controller.signal);
      ledger.observe(event());
      await ledger.flush();

      disk.fill();
      ledger.observe(event());
      const closed = await eventually(() => ledger.admit() !== undefined).then(() =>
        ledger.admit(),
      );
      expect(closed).toMatchObject({ code: 'ERR_LEDGER_UNAVAILABLE', kind: 'unavailable' });
      expect(closed?.message).toMatch(
        /^the ledger cannot record: neither its database \(.*SQLITE_FULL.*\) nor its spool \((Error: )?ENOSPC.*\) can be written; \d+ records wait in memory$/,
      );
      expect(closed?.clientMessage).toBe('the CA is temporarily unavailable, retry later');
      // Refusals are still recorded while the gate is closed.
      for (let i = 0; i < 5; i++) ledger.observe(event({ outcome: 'unavailable' }));

      disk.free();
      await eventually(() => ledger.admit() === undefined);
      await ledger.flush();
      expect(await metric(registry, 'meshca_ledger_records_dropped_total')).toBe(0);
      expect(await recordCount(store)).toBe(ledger.head().sequence);
      const result = await verifyLedger(store, [ledger.head()]);
      expect(result.ok).toBe(true);
      expect(result.chains[0]?.gaps).toBe(0);
      await ledger.close();
      disk.unmount();
    });

    it('close on a full disk reports and counts the records neither could take, and never throws', async () => {
      const { disk, store, spoolPath } = onSmallDisk();
      const { logger, lines } = recordingLogger();
      const { recorder: ledger, registry } = recorder(
        store,
        { spoolPath, closeTimeoutMs: 300, flushIntervalMs: 60_000 },
        logger,
      );
      await ledger.start(controller.signal);
      disk.fill();
      for (let i = 0; i < 10; i++) ledger.observe(event());
      await ledger.close();
      expect(
        lines().find(
          (line) =>
            line['msg'] ===
            'ledger records lost at shutdown: neither the database nor the spool could take them',
        ),
      ).toMatchObject({
        level: 50,
        lost: 10,
        spooled: 0,
        spool: expect.stringContaining('ENOSPC') as unknown,
      });
      expect(await metric(registry, 'meshca_ledger_records_dropped_total')).toBe(10);
      // A request finishing after close: its record cannot be kept either, and nothing throws.
      ledger.observe(event());
      expect(await metric(registry, 'meshca_ledger_records_dropped_total')).toBe(11);
      expect(messages(lines)).toContain('ledger record lost');
      disk.unmount();
    });
  },
);

describe('LedgerRecorder.close', () => {
  function setup(): { store: FlakySqliteStore; spoolPath: string; dir: string } {
    const dir = tempDir('meshca-recorder-close-');
    return {
      dir,
      store: new FlakySqliteStore({ path: join(dir, 'ledger.db') }, clock),
      spoolPath: join(dir, 'ledger-spool.jsonl'),
    };
  }

  it('writes everything waiting before it returns, and says so', async () => {
    const { store, spoolPath, dir } = setup();
    const { logger, lines } = recordingLogger();
    // A flush interval longer than the test: only close writes.
    const { recorder: ledger } = recorder(store, { spoolPath, flushIntervalMs: 60_000 }, logger);
    await ledger.start(controller.signal);
    for (let i = 0; i < 30; i++) ledger.observe(event());
    expect(ledger.backlog()).toBe(30);
    await ledger.close();
    expect(lines().find((line) => line['msg'] === 'ledger flushed at shutdown')).toMatchObject({
      level: 30,
      written: 30,
    });
    const reopened = new SqliteLedgerStore({ path: join(dir, 'ledger.db') }, clock);
    await reopened.open();
    expect(await recordCount(reopened)).toBe(30);
    await reopened.close();
    expect(existsSync(spoolPath) ? readFileSync(spoolPath, 'utf8') : '').toBe('');
  });

  it('is bounded by closeTimeoutMs when the database hangs, the write in progress included, and spools the rest', async () => {
    const { store, spoolPath, dir } = setup();
    const { logger, lines } = recordingLogger();
    const { recorder: ledger } = recorder(
      store,
      { spoolPath, closeTimeoutMs: 400, flushIntervalMs: 20 },
      logger,
    );
    await ledger.start(controller.signal);
    store.hung = true;
    for (let i = 0; i < 20; i++) ledger.observe(event());
    // The loop's write is under way, and hangs.
    await eventually(() => store.appends > 0);
    const started = performance.now();
    await ledger.close();
    expect(performance.now() - started).toBeLessThan(400 + 1000);
    expect(
      lines().find(
        (line) =>
          line['msg'] ===
          'ledger not flushed at shutdown; the rest waits in the spool for the next start',
      ),
    ).toMatchObject({ level: 40, written: 0, spooled: 20 });
    expect(new Spool(spoolPath).load()).toHaveLength(20);

    // The next start writes them.
    const next = new FlakySqliteStore({ path: join(dir, 'ledger.db') }, clock);
    const second = recorder(next, { spoolPath, writer: 'test-pod-2' }).recorder;
    await second.start(controller.signal);
    await second.flush();
    expect(await recordCount(next)).toBe(20);
    await second.close();
  });
});

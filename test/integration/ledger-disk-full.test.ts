/**
 * A full disk under the SQLite ledger, through `meshca serve` (a child process in development
 * mode whose state directory — ledger.db and the spool — is a real tmpfs of a few MiB, filled by
 * a filler file and freed by deleting it, as an operator making room would):
 *
 * - `drop-oldest`: issuance never fails; records wait in memory (the spool cannot be written
 *   either), the oldest are dropped past `ledgerSpoolMax` (counted, logged, marked in the chain);
 *   once there is room the rest is written, `ledger verify` passes, and nothing crashed;
 * - `fail-closed`: issuance answers UNAVAILABLE `ERR_LEDGER_UNAVAILABLE` while neither the
 *   database nor the spool can be written, and issues again once there is room; every
 *   certificate issued is in the ledger.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runCommand } from '../../src/cli/main.js';
import { eventually } from '../support/kube.js';
import { issuanceLoad, metricValue, type LoadResult } from '../support/issuance-load.js';
import { startMeshcaProcess, type MeshcaProcess } from '../support/meshca-process.js';
import {
  mountSmallDisk,
  smallDiskAvailable,
  unmountSmallDisks,
  type SmallDisk,
} from '../support/small-disk.js';
import { removeTempDirs } from '../support/tmp.js';

const never = new AbortController().signal;

(smallDiskAvailable() ? describe : describe.skip)('a full disk under the SQLite ledger', () => {
  const processes: MeshcaProcess[] = [];

  afterAll(async () => {
    for (const meshca of processes) meshca.kill();
    await Promise.all(processes.map((meshca) => meshca.exited));
    unmountSmallDisks();
    removeTempDirs();
  });

  async function meshcaOn(disk: SmallDisk, extra: string[]): Promise<MeshcaProcess> {
    const started = await startMeshcaProcess([
      '--state-dir',
      disk.path,
      '--ledger-flush-interval',
      '100ms',
      ...extra,
    ]);
    processes.push(started);
    return started;
  }

  async function metrics(meshca: MeshcaProcess): Promise<string> {
    return (await meshca.get('/metrics')).body;
  }

  async function metric(meshca: MeshcaProcess, series: string): Promise<number> {
    return metricValue(await metrics(meshca), series) ?? NaN;
  }

  async function drained(meshca: MeshcaProcess, timeoutMs = 60_000): Promise<void> {
    await eventually(
      'the ledger backlog written',
      async () =>
        (await metric(meshca, 'meshca_ledger_backlog_records')) === 0 ? true : undefined,
      timeoutMs,
    );
  }

  /** What the ledger file holds, read after meshca exited. */
  function ledgerOf(disk: SmallDisk): { serials: string[]; records: number } {
    const db = new Database(join(disk.path, 'ledger.db'), { readonly: true });
    try {
      const serials = (
        db.prepare('SELECT serial FROM ledger_certificates').all() as { serial: string }[]
      ).map((row) => row.serial);
      const { records } = db.prepare('SELECT count(*) AS records FROM ledger_records').get() as {
        records: number;
      };
      return { serials, records };
    } finally {
      db.close();
    }
  }

  async function verify(disk: SmallDisk): Promise<number> {
    return runCommand(
      ['ledger', 'verify', '--state-dir', disk.path],
      {
        stdout: { write: () => true },
        stderr: { write: () => true },
        env: {},
        cwd: process.cwd(),
      },
      never,
    );
  }

  /** SIGTERM, and the exit code; the last `ledger chain head` line says how far the chain went. */
  async function stop(meshca: MeshcaProcess): Promise<{ code: number | null; head: number }> {
    meshca.child.kill('SIGTERM');
    const code = await meshca.exited;
    const heads = meshca.logs().filter((line) => line.msg === 'ledger chain head');
    return { code, head: Number(heads[heads.length - 1]?.['sequence']) };
  }

  const serialsOf = (answers: readonly LoadResult[]): string[] =>
    answers.flatMap((answer) => (answer.serial === undefined ? [] : [answer.serial]));

  it('drop-oldest: issuance goes on, the oldest records are dropped past the bound, the rest arrives once there is room', async () => {
    const disk = mountSmallDisk(16 << 20);
    const server = await meshcaOn(disk, ['--ledger-spool-max', '40']);
    const load = await issuanceLoad(disk.path, server.grpcPort);
    const before = await load.run(20, 5);
    await drained(server);

    disk.fill();
    const during = await load.run(100, 10);
    // Issuance never depended on the disk.
    expect([...before, ...during].every((answer) => answer.outcome === 'OK')).toBe(true);
    await eventually(
      'the spool found unwritable',
      async () =>
        (await metric(server, 'meshca_ledger_spool_write_errors_total')) > 0 ? true : undefined,
      30_000,
    );
    expect(await metric(server, 'meshca_ledger_write_errors_total')).toBeGreaterThan(0);
    expect(await metric(server, 'meshca_ledger_backlog_records')).toBeLessThanOrEqual(40);
    expect(await metric(server, 'meshca_ledger_spool_records')).toBe(0);
    const dropped = await metric(
      server,
      'meshca_ledger_records_dropped_total{reason="spool-full"}',
    );
    expect(dropped).toBeGreaterThanOrEqual(60);
    const ready = await server.get('/readyz');
    expect(ready.status).toBe(200);
    expect(
      (JSON.parse(ready.body) as { details: Record<string, string> }).details['ledger'],
    ).toMatch(
      /^ledger database unavailable \(the SQLite ledger .*ledger\.db cannot be written, the disk is full \(SQLITE_FULL: database or disk is full\)\); \d+ records waiting, in memory: the spool cannot be written \(ENOSPC: no space left on device/,
    );
    const logs = server.logs();
    expect(
      logs.find((line) => line.msg === 'ledger database unavailable; records go to the spool'),
    ).toMatchObject({ level: 40, err: expect.stringContaining('SQLITE_FULL') as unknown });
    expect(
      logs.filter((line) => line.msg === 'ledger spool cannot be written; records wait in memory'),
    ).toEqual([
      expect.objectContaining({
        level: 50,
        path: join(disk.path, 'ledger-spool.jsonl'),
        err: expect.stringContaining('ENOSPC') as unknown,
      }),
    ]);
    expect(logs.some((line) => line.msg === 'ledger spool full: oldest records dropped')).toBe(
      true,
    );

    // Room again: what was kept is written, by the same process.
    disk.free();
    await drained(server);
    expect(server.logs().map((line) => line.msg)).toContain('ledger database available again');
    const after = await load.run(10, 5);
    load.close();
    expect(after.every((answer) => answer.outcome === 'OK')).toBe(true);
    await drained(server);

    const { code, head } = await stop(server);
    expect(code).toBe(0);
    const kept = ledgerOf(disk);
    // Every record made is in the file or counted as dropped; the holes are explained.
    expect(kept.records + dropped).toBe(head);
    const issued = new Set(serialsOf([...before, ...during, ...after]));
    expect(kept.serials.every((serial) => issued.has(serial))).toBe(true);
    for (const serial of serialsOf([...before, ...after])) expect(kept.serials).toContain(serial);
    expect(await verify(disk)).toBe(0);
    disk.unmount();
  }, 180_000);

  it('fail-closed: UNAVAILABLE while neither the database nor the spool can be written, issuing again once there is room, nothing issued lost', async () => {
    const disk = mountSmallDisk(16 << 20);
    const server = await meshcaOn(disk, ['--ledger-spool-full', 'fail-closed']);
    const load = await issuanceLoad(disk.path, server.grpcPort);
    const answers = await load.run(10, 5);
    expect(answers.every((answer) => answer.outcome === 'OK')).toBe(true);
    await drained(server);

    disk.fill();
    // Issued until the first write finds the disk full (one flush interval at most), then closed.
    let index = 0;
    const firstRefusal = await eventually(
      'the gate closed',
      async () => {
        const answer = await load.call(index++);
        answers.push(answer);
        return answer.outcome === 'OK' ? undefined : answer;
      },
      30_000,
    );
    expect(firstRefusal).toEqual({
      outcome: 'UNAVAILABLE',
      details: 'the CA is temporarily unavailable, retry later',
    });
    const closed = await load.run(10, 5);
    expect(closed.map((answer) => answer.outcome)).toEqual(Array(10).fill('UNAVAILABLE'));
    answers.push(...closed);
    expect(
      await metric(
        server,
        'meshca_certificate_requests_total{outcome="unavailable",reason="ERR_LEDGER_UNAVAILABLE"}',
      ),
    ).toBe(11);
    expect(
      server
        .logs()
        .filter(
          (line) =>
            line.msg === 'certificate request refused' && line['code'] === 'ERR_LEDGER_UNAVAILABLE',
        ),
    ).toHaveLength(11);
    expect((await server.get('/healthz')).status).toBe(200);

    disk.free();
    const reopened = await eventually(
      'issuing again',
      async () => {
        const answer = await load.call(index++);
        answers.push(answer);
        return answer.outcome === 'OK' ? answer : undefined;
      },
      60_000,
    );
    expect(reopened.serial).toBeDefined();
    load.close();
    await drained(server);

    const { code, head } = await stop(server);
    expect(code).toBe(0);
    expect(server.logs().map((line) => line.msg)).toContain('ledger flushed at shutdown');
    const kept = ledgerOf(disk);
    // Nothing was dropped: every record made is in the file, every certificate issued with it.
    expect(kept.records).toBe(head);
    expect(kept.serials.sort()).toEqual(serialsOf(answers).sort());
    expect(await verify(disk)).toBe(0);
    disk.unmount();
  }, 180_000);
});

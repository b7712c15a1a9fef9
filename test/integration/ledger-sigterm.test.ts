/**
 * SIGTERM to the leader under load with the identity ledger on, between real meshca processes
 * sharing a Lease in the real kube-apiserver, with SQLite (a file per replica) and with
 * PostgreSQL (one database), each case a deployment of its own: no call it received fails, it
 * releases the Lease (the other replica takes over at once, not after the Lease duration), and it
 * writes every record before it exits 0 — each certificate it issued is in its ledger, its chain is
 * whole up to the head it logged last, its spool is empty, `ledger verify` passes.
 *
 * (test/integration/failover.test.ts pins the drain with the ledger's defaults;
 * ledger-shutdown.test.ts the SIGTERM while the database cannot take the records.)
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { status as Status, type ServiceError } from '@grpc/grpc-js';
import type * as k8s from '@kubernetes/client-node';
import Database from 'better-sqlite3';
import { CaClient } from '../../src/client/index.js';
import { adminKubeConfig, describeKube, eventually } from '../support/kube.js';
import type { MeshcaProcess } from '../support/meshca-process.js';
import { postgresAvailable, startPostgres, type TestPostgres } from '../support/postgres.js';
import {
  deployReplicatedMeshca,
  LEASE_DURATION_MS,
  leaseTime,
  meshcaCommand,
  serialOf,
  type ReplicatedMeshca,
} from '../support/replicated-meshca.js';
import { removeTempDirs } from '../support/tmp.js';

const IN_FLIGHT = 100;

/** What the ledger holds of one writer's chain: its records and the serials it issued. */
interface WriterRecords {
  readonly records: number;
  readonly lastSequence: number;
  readonly serials: string[];
}

const RECORDS_OF_WRITER =
  'SELECT count(*) AS records, max(sequence) AS last FROM ledger_records WHERE writer = ?';
const SERIALS_OF_WRITER = `SELECT c.serial AS serial FROM ledger_certificates c
  JOIN ledger_records r ON r.chain_id = c.chain_id AND r.sequence = c.sequence
  WHERE r.writer = ?`;

function sqliteRecords(file: string, writer: string): WriterRecords {
  const db = new Database(file, { readonly: true });
  try {
    const counts = db.prepare(RECORDS_OF_WRITER).get(writer) as {
      records: number;
      last: number | null;
    };
    const serials = db.prepare(SERIALS_OF_WRITER).all(writer) as { serial: string }[];
    return {
      records: counts.records,
      lastSequence: counts.last ?? 0,
      serials: serials.map((row) => row.serial).sort(),
    };
  } finally {
    db.close();
  }
}

(postgresAvailable() ? describeKube : describe.skip)(
  'SIGTERM of the leader with the ledger',
  () => {
    let admin: k8s.KubeConfig;
    let pg: TestPostgres;
    const processes: MeshcaProcess[] = [];

    beforeAll(async () => {
      admin = adminKubeConfig();
      pg = await startPostgres();
    }, 120_000);

    afterAll(async () => {
      for (const replica of processes) replica.kill();
      await Promise.all(processes.map((replica) => replica.exited));
      await pg.destroy();
      removeTempDirs();
    });

    const deploy = (args: readonly string[]): Promise<ReplicatedMeshca> =>
      deployReplicatedMeshca(admin, {
        args,
        env: { MESHCA_LEDGER_PASSWORD: pg.password },
        processes,
      });
    const cli = (args: readonly string[]): Promise<{ code: number; out: string }> =>
      meshcaCommand(args, { MESHCA_LEDGER_PASSWORD: pg.password });

    async function postgresRecords(url: string, writer: string): Promise<WriterRecords> {
      const database = new URL(url).pathname.slice(1);
      const numbered = (sql: string): string => sql.replace('?', '$1');
      const [counts] = await pg.sql(database, numbered(RECORDS_OF_WRITER), [writer]);
      const serials = await pg.sql(database, numbered(SERIALS_OF_WRITER), [writer]);
      return {
        records: Number(counts?.['records']),
        lastSequence: Number(counts?.['last'] ?? 0),
        serials: serials.map((row) => String(row['serial'])).sort(),
      };
    }

    it.each([
      ['SQLite, a file per replica', 'sqlite'],
      ['PostgreSQL, one database', 'postgres'],
    ] as const)(
      'SIGTERM under load (%s): every call received answered, the Lease handed over at once, every record written, exit 0',
      async (_title, database) => {
        const url = database === 'postgres' ? await pg.createDatabase() : undefined;
        const deployment = await deploy(
          url === undefined ? [] : ['--ledger', url, '--ledger-tls-mode', 'disable'],
        );
        await Promise.all([deployment.launch('meshca-a'), deployment.launch('meshca-b')]);
        const { name, leader, follower } = await deployment.settledLeader();
        const clients = Array.from(
          { length: 4 },
          () =>
            new CaClient({
              address: `localhost:${leader.grpcPort}`,
              rootCertPem: deployment.pki.files.rootCertPem,
            }),
        );
        const serials: string[] = [];
        // Every token reviewed once, so that the load measures the drain rather than TokenReview.
        for (const [index, caller] of deployment.callers.entries()) {
          const chain = await clients[index % clients.length]?.createCertificate({
            csrPem: caller.csrPem,
            token: caller.token,
          });
          if (chain !== undefined) serials.push(serialOf(chain));
        }
        const outcomes = new Map<string, number>();
        let sent = 0;
        let pending = 0;
        const stop = { now: false };
        const worker = async (slot: number): Promise<void> => {
          while (!stop.now) {
            const caller = deployment.callers[(slot + sent) % deployment.callers.length];
            const client = clients[slot % clients.length];
            if (caller === undefined || client === undefined) return;
            sent++;
            pending++;
            let outcome = 'OK';
            try {
              const chain = await client.createCertificate({
                csrPem: caller.csrPem,
                token: caller.token,
                deadlineMs: 30_000,
              });
              serials.push(serialOf(chain));
            } catch (error) {
              outcome = Status[(error as ServiceError).code];
            } finally {
              pending--;
            }
            outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
          }
        };
        const running = Promise.all(Array.from({ length: IN_FLIGHT }, (_, slot) => worker(slot)));
        await eventually(
          'the load under way',
          () => ((outcomes.get('OK') ?? 0) >= 300 ? true : undefined),
          30_000,
        );
        const before = await deployment.readLease();
        const signalledAt = Date.now();
        const pendingAtSignal = pending;
        leader.child.kill('SIGTERM');
        const taken = await eventually(
          'the other replica holding the Lease',
          async () => {
            const lease = await deployment.readLease();
            const holder = lease.spec?.holderIdentity;
            return holder !== name && holder !== undefined && holder !== '' ? lease : undefined;
          },
          LEASE_DURATION_MS + 20_000,
        );
        const code = await leader.exited;
        stop.now = true;
        await running;
        for (const client of clients) client.close();

        // The drain: every call received was answered, and only those never received failed.
        expect(code).toBe(0);
        const logs = leader.logs();
        const messages = logs.map((line) => line.msg);
        const drain = logs.find((line) => line.msg.startsWith('gRPC drain'));
        expect(drain).toMatchObject({ cut: 0 });
        // The signal landed under load. (Whether meshca itself held calls at that instant depends on
        // who had the CPU; failover.test.ts and server/grpc-drain.test.ts pin the drain of those.)
        expect(pendingAtSignal).toBeGreaterThan(0);
        const issued = logs.filter((line) => line.msg === 'certificate issued').length;
        expect(messages).not.toContain('certificate request refused');
        expect(issued).toBe(drain?.['received']);
        expect(outcomes.get('OK')).toBe(issued - deployment.callers.length);
        for (const [outcome] of outcomes) expect(['OK', 'UNAVAILABLE']).toContain(outcome);
        expect(serials).toHaveLength(issued);

        // The Lease: released, and taken by the follower at once rather than after it expired.
        expect(messages).toContain('lease released');
        expect(taken.spec?.holderIdentity).toBe(
          [...deployment.replicas].find(([, replica]) => replica === follower)?.[0],
        );
        expect(leaseTime(taken.spec?.acquireTime) - signalledAt).toBeLessThan(LEASE_DURATION_MS);
        expect(taken.spec?.leaseTransitions).toBe((before.spec?.leaseTransitions ?? 0) + 1);

        // The ledger: flushed after the drain and before the exit, nothing left in the spool.
        expect(messages.indexOf('ledger flushed at shutdown')).toBeGreaterThan(
          messages.indexOf(drain?.msg ?? ''),
        );
        expect(messages).not.toContain(
          'ledger not flushed at shutdown; the rest waits in the spool for the next start',
        );
        const heads = logs.filter((line) => line.msg === 'ledger chain head');
        const head = Number(heads[heads.length - 1]?.['sequence']);
        expect(head).toBeGreaterThanOrEqual(issued);
        const stateDir = deployment.stateDirs.get(name) ?? '';
        const spool = join(stateDir, 'ledger-spool.jsonl');
        expect(existsSync(spool) ? readFileSync(spool, 'utf8') : '').toBe('');
        const stored =
          url === undefined
            ? sqliteRecords(join(stateDir, 'ledger.db'), name)
            : await postgresRecords(url, name);
        // Every record of the chain, up to the head logged at exit, is in the database: every
        // certificate the leader issued, none more.
        expect(stored).toEqual({ records: head, lastSequence: head, serials: [...serials].sort() });
        const verified = await cli(
          url === undefined
            ? ['ledger', 'verify', '--state-dir', stateDir]
            : ['ledger', 'verify', '--ledger', url, '--ledger-tls-mode', 'disable'],
        );
        expect(verified).toMatchObject({ code: 0 });
      },
      150_000,
    );
  },
);

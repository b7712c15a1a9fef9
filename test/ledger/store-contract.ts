/**
 * The contract every ledger store keeps, run against each one (SQLite, PostgreSQL): idempotent
 * appends, derived state, inventory views and their pages, lifecycle, tamper detection,
 * retention, and schema upgrades.
 */
import { FixedClock } from '../../src/clock.js';
import { silentLogger } from '../../src/logger.js';
import {
  canonicalJson,
  LATEST_SCHEMA_VERSION,
  LedgerPruner,
  recordHash,
  verifyLedger,
} from '../../src/ledger/index.js';
import type { ChainedRecord, LedgerStore } from '../../src/ledger/index.js';
import { event, ISSUER_A, ISSUER_B, serialOf, T0, TestChain } from './fixtures.js';

/** One empty database for one test. */
export interface TestDatabase {
  /** Opens (and migrates) a store on this database. */
  open(options?: { readonly migrateTo?: number }): Promise<LedgerStore>;
  /** Runs SQL with `?` placeholders directly (as an attacker with database access would). */
  sql(
    statement: string,
    params?: readonly (string | number | null)[],
  ): Promise<Record<string, unknown>[]>;
}

/** Makes test databases of one kind. */
export interface StoreFactory {
  fresh(): Promise<TestDatabase>;
}

const HOUR = 3600_000;
const DAY = 24 * HOUR;

/** Registers the contract's tests for one store. */
export function describeStoreContract(name: string, factory: () => StoreFactory): void {
  describe(`${name} ledger store contract`, () => {
    const opened: LedgerStore[] = [];
    async function fresh(): Promise<{ db: TestDatabase; store: LedgerStore }> {
      const db = await factory().fresh();
      const store = await db.open();
      opened.push(store);
      return { db, store };
    }
    afterEach(async () => {
      for (const store of opened.splice(0)) await store.close();
    });
    const now = new Date(T0 + HOUR);

    it('migrates an empty database to the latest schema, and reopening changes nothing', async () => {
      const { db, store } = await fresh();
      expect(await store.schemaVersion()).toBe(LATEST_SCHEMA_VERSION);
      const again = await db.open();
      opened.push(again);
      expect(await again.schemaVersion()).toBe(LATEST_SCHEMA_VERSION);
      const rows = await db.sql('SELECT COUNT(*) AS n FROM ledger_schema');
      expect(Number(rows[0]?.['n'])).toBe(LATEST_SCHEMA_VERSION);
    });

    it('appends idempotently: a replayed batch stores nothing twice', async () => {
      const { db, store } = await fresh();
      const chain = new TestChain();
      const batch = [
        chain.issuance(),
        chain.issuance({ outcome: 'denied', denyRule: 'namespaces' }),
      ];
      expect(await store.append(batch)).toEqual({ inserted: 2, duplicates: 0 });
      expect(await store.append(batch)).toEqual({ inserted: 0, duplicates: 2 });
      const more = [...batch, chain.issuance()];
      expect(await store.append(more)).toEqual({ inserted: 1, duplicates: 2 });
      const counts = await db.sql(
        'SELECT (SELECT COUNT(*) FROM ledger_records) AS r, (SELECT COUNT(*) FROM ledger_certificates) AS c, (SELECT COUNT(*) FROM ledger_decisions) AS d',
      );
      expect(counts.map((row) => [Number(row['r']), Number(row['c']), Number(row['d'])])).toEqual([
        [3, 2, 1],
      ]);
      expect((await verifyLedger(store)).ok).toBe(true);
    });

    it('shows an issued certificate with every recorded field', async () => {
      const { store } = await fresh();
      const chain = new TestChain();
      const record = chain.issuance({
        impersonatedBy: 'ztunnel',
        pod: { name: 'cart-7', uid: 'uid-7' },
      });
      await store.append([record]);
      const page = await store.identities(now);
      expect(page.nextCursor).toBeUndefined();
      expect(page.items).toEqual([
        {
          serial: serialOf(record),
          issuerFingerprint: ISSUER_A,
          identity: 'spiffe://cluster.local/ns/shop/sa/cart',
          trustDomain: 'cluster.local',
          namespace: 'shop',
          serviceAccount: 'cart',
          cluster: 'east',
          podName: 'cart-7',
          podUid: 'uid-7',
          nodeName: 'node-1',
          caller: 'spiffe://cluster.local/ns/istio-system/sa/ztunnel',
          keyAlgorithm: 'EC',
          keyBits: 256,
          issuedAt: new Date(T0).toISOString(),
          notBefore: new Date(T0 - 60_000).toISOString(),
          notAfter: new Date(T0 + DAY).toISOString(),
          status: 'active',
          statusTime: null,
          statusReason: null,
          statusBy: null,
        },
      ]);
    });

    it('lists refusals and audit verdicts apart, with their reasons, since a time', async () => {
      const { store } = await fresh();
      const chain = new TestChain();
      await store.append([
        chain.issuance({ outcome: 'denied', denyRule: 'namespaces', timeMs: T0 - 2 * DAY }),
        chain.issuance({ outcome: 'denied', denyRule: 'service-accounts', namespace: 'batch' }),
        chain.issuance({ outcome: 'invalid', timeMs: T0 + 1 }),
        chain.issuance({
          timeMs: T0 + 2,
          audits: [
            {
              effect: 'audit',
              layer: 'local',
              rule: 'require-ingress',
              reason: 'no Ingress in shop',
            },
          ],
        }),
      ]);
      const page = await store.denials(new Date(T0 - DAY));
      expect(
        page.items.map((d) => [
          d.audit,
          d.outcome,
          d.errorCode,
          d.layer,
          d.rule,
          d.reason,
          d.namespace,
        ]),
      ).toEqual([
        [
          false,
          'denied',
          'ERR_POLICY_DENIED',
          'central',
          'service-accounts',
          'namespace batch is not allowed',
          'batch',
        ],
        [false, 'invalid', 'ERR_CSR_SAN_MISSING', null, null, 'refused: invalid', 'shop'],
        [true, 'issued', null, 'local', 'require-ingress', 'no Ingress in shop', 'shop'],
      ]);
      expect(
        (await store.denials(new Date(T0 - 3 * DAY), { namespace: 'batch' })).items,
      ).toHaveLength(1);
      expect(page.items[0]?.issuerFingerprint).toBe(ISSUER_A);
    });

    it('filters by namespace, cluster, identity and intermediate', async () => {
      const { store } = await fresh();
      const chain = new TestChain();
      await store.append([
        chain.issuance({ namespace: 'shop', cluster: 'east' }),
        chain.issuance({ namespace: 'shop', cluster: 'west', issuer: ISSUER_B }),
        chain.issuance({ namespace: 'pay', serviceAccount: 'api', cluster: 'east' }),
      ]);
      const count = async (filter: Parameters<LedgerStore['identities']>[1]): Promise<number> =>
        (await store.identities(now, filter)).items.length;
      expect(await count({})).toBe(3);
      expect(await count({ namespace: 'shop' })).toBe(2);
      expect(await count({ cluster: 'west' })).toBe(1);
      expect(await count({ identity: 'spiffe://cluster.local/ns/pay/sa/api' })).toBe(1);
      expect(await count({ issuer: ISSUER_B })).toBe(1);
      expect(await count({ namespace: 'shop', cluster: 'east' })).toBe(1);
      expect(await count({ namespace: 'nowhere' })).toBe(0);
    });

    it('pages through a view with a stable cursor, even while records arrive', async () => {
      const { store } = await fresh();
      const chain = new TestChain();
      const records = Array.from({ length: 25 }, (_, i) =>
        chain.issuance({ serviceAccount: `sa-${String(i).padStart(2, '0')}` }),
      );
      await store.append(records);
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await store.identities(
          now,
          {},
          cursor === undefined ? { limit: 10 } : { limit: 10, cursor },
        );
        seen.push(...page.items.map((item) => item.serial));
        cursor = page.nextCursor;
        pages++;
        // An identity that sorts first arrives after the first page: no row is skipped or repeated.
        if (pages === 1) await store.append([chain.issuance({ serviceAccount: 'aaa' })]);
      } while (cursor !== undefined);
      expect(pages).toBe(3);
      expect(new Set(seen).size).toBe(25);
      expect(seen.sort()).toEqual(records.map(serialOf).sort());
      await expect(store.identities(now, {}, { cursor: 'not-a-cursor' })).rejects.toThrow(
        TypeError,
      );
    });

    it('lists what expires within a window, soonest first', async () => {
      const { store } = await fresh();
      const chain = new TestChain();
      const soon = chain.issuance({ ttlMs: 2 * HOUR });
      const sooner = chain.issuance({ ttlMs: 90 * 60_000 });
      const later = chain.issuance({ ttlMs: 2 * DAY });
      const expired = chain.issuance({ ttlMs: 30 * 60_000 });
      await store.append([soon, sooner, later, expired]);
      const page = await store.expiring(now, 2 * HOUR);
      expect(page.items.map((item) => item.serial)).toEqual([serialOf(sooner), serialOf(soon)]);
    });

    it('counts per intermediate: issued, denied, active, first and last use', async () => {
      const { store } = await fresh();
      const chain = new TestChain();
      await store.append([
        chain.issuance({ timeMs: T0 - HOUR }),
        chain.issuance({ timeMs: T0, ttlMs: 30 * 60_000 }),
        chain.issuance({ timeMs: T0 + 60_000, issuer: ISSUER_B }),
        chain.issuance(
          { timeMs: T0 + 120_000, outcome: 'denied', denyRule: 'namespaces' },
          ISSUER_B,
        ),
      ]);
      expect((await store.issuers(now)).items).toEqual([
        {
          issuerFingerprint: ISSUER_A,
          issued: 2,
          denied: 0,
          active: 1,
          firstUse: new Date(T0 - HOUR).toISOString(),
          lastUse: new Date(T0).toISOString(),
        },
        {
          issuerFingerprint: ISSUER_B,
          issued: 1,
          denied: 1,
          active: 1,
          firstUse: new Date(T0 + 60_000).toISOString(),
          lastUse: new Date(T0 + 120_000).toISOString(),
        },
      ]);
    });

    it('retires by serial and by pod (also for records that arrive late), and revocation wins', async () => {
      const { store } = await fresh();
      const a = new TestChain('replica-a');
      const b = new TestChain('replica-b');
      const pod = { name: 'cart-1', uid: 'uid-cart-1' };
      const first = a.issuance({ pod, timeMs: T0 - HOUR });
      const other = a.issuance({ pod: { name: 'web-1', uid: 'uid-web-1' }, serviceAccount: 'web' });
      const late = b.issuance({ pod, timeMs: T0 - 30 * 60_000 });
      const revoked = a.issuance({
        serviceAccount: 'pay',
        pod: { name: 'pay-1', uid: 'uid-pay-1' },
      });
      const retireTime = new Date(T0).toISOString();
      await store.append([first, other, revoked]);
      await store.append([
        a.next({
          type: 'retire',
          time: retireTime,
          reason: 'pod-deleted',
          serials: [],
          pod: { namespace: 'shop', ...pod },
        }),
        a.next({
          type: 'retire',
          time: retireTime,
          reason: 'pod-deleted',
          serials: [serialOf(revoked)],
          pod: null,
        }),
        a.next({
          type: 'revoke',
          time: retireTime,
          serials: [serialOf(revoked)],
          reason: 'keyCompromise',
          by: 'alice',
        }),
        // Retiring after a revocation leaves it revoked.
        a.next({
          type: 'retire',
          time: retireTime,
          reason: 'pod-deleted',
          serials: [serialOf(revoked)],
          pod: null,
        }),
      ]);
      // Another replica's record of an older issuance to the same pod reaches the database now.
      await store.append([late]);
      const workloads = await store.workloads({ namespace: 'shop' });
      const cart = workloads.items.find((w) => w.podUid === 'uid-cart-1');
      expect(cart?.certificates.map((c) => [c.serial, c.status, c.statusReason])).toEqual([
        [serialOf(first), 'retired', 'pod-deleted'],
        [serialOf(late), 'retired', 'pod-deleted'],
      ]);
      expect(workloads.items.map((w) => w.podName)).toEqual(['cart-1', 'pay-1', 'web-1']);
      const active = await store.identities(now);
      expect(active.items.map((c) => c.serial)).toEqual([serialOf(other)]);
      const crl = await store.revocations(now, ISSUER_A);
      expect(crl.items.map((r) => [r.serial, r.status, r.reason]).sort()).toEqual(
        [
          [serialOf(first), 'retired', 'cessationOfOperation'],
          [serialOf(late), 'retired', 'cessationOfOperation'],
          [serialOf(revoked), 'revoked', 'keyCompromise'],
        ].sort(),
      );
      // A certificate issued after the pod was retired (a new pod with the same UID cannot exist,
      // but a clock-skewed record can) stays active.
      const after = a.issuance({ pod, timeMs: T0 + 60_000 });
      await store.append([after]);
      expect(
        (
          await store.identities(now, { identity: 'spiffe://cluster.local/ns/shop/sa/cart' })
        ).items.map((c) => c.serial),
      ).toEqual([serialOf(after)]);
      // An entry leaves the CRL once its certificate has expired.
      expect((await store.revocations(new Date(T0 + 2 * DAY), ISSUER_A)).items).toEqual([]);
      expect((await verifyLedger(store)).ok).toBe(true);
    });

    it('applies a revocation recorded before the issuance reached the database', async () => {
      const { store } = await fresh();
      const a = new TestChain('replica-a');
      const b = new TestChain('replica-b');
      const issued = a.issuance();
      await store.append([
        b.next({
          type: 'revoke',
          time: new Date(T0).toISOString(),
          serials: [serialOf(issued)],
          reason: 'superseded',
          by: 'bob',
        }),
      ]);
      await store.append([issued]);
      const crl = await store.revocations(now, ISSUER_A);
      expect(crl.items.map((r) => [r.serial, r.reason])).toEqual([
        [serialOf(issued), 'superseded'],
      ]);
    });

    it('records findings', async () => {
      const { store } = await fresh();
      const chain = new TestChain();
      const detail = { issuer: 'CN=rogue', chain: ['x', 'y'], selfSigned: true };
      await store.append([
        chain.next({
          type: 'finding',
          time: new Date(T0).toISOString(),
          cluster: 'east',
          kind: 'self-signed-ca',
          severity: 'critical',
          object: 'Secret dev/my-ca',
          fingerprint: 'f'.repeat(64),
          detail,
        }),
        chain.next({
          type: 'finding',
          time: new Date(T0 + 1).toISOString(),
          cluster: 'west',
          kind: 'weak-key',
          severity: 'warning',
          object: 'Secret dev/tls',
          fingerprint: null,
          detail: null,
        }),
      ]);
      const page = await store.findings(new Date(T0 - HOUR), { cluster: 'east' });
      expect(page.items).toEqual([
        {
          time: new Date(T0).toISOString(),
          cluster: 'east',
          kind: 'self-signed-ca',
          severity: 'critical',
          object: 'Secret dev/my-ca',
          fingerprint: 'f'.repeat(64),
          detail,
        },
      ]);
      expect((await store.findings(new Date(T0 - HOUR))).items).toHaveLength(2);
    });

    describe('tamper evidence', () => {
      async function ledgerOfTen(): Promise<{
        db: TestDatabase;
        store: LedgerStore;
        chain: TestChain;
        records: ChainedRecord[];
      }> {
        const { db, store } = await fresh();
        const chain = new TestChain();
        const records = Array.from({ length: 10 }, (_, i) => chain.issuance({ timeMs: T0 + i }));
        await store.append(records);
        await store.append([new TestChain('other').issuance()]);
        return { db, store, chain, records };
      }

      it('finds nothing wrong with an untouched ledger', async () => {
        const { store, chain } = await ledgerOfTen();
        const result = await verifyLedger(store, [chain.writer.head()]);
        expect(result.ok).toBe(true);
        expect(result.chains).toHaveLength(2);
        expect(result.firstBreak).toBeNull();
      });

      it.each<[string, (db: TestDatabase, chainId: string) => Promise<unknown>, number, string]>([
        [
          'a deleted record',
          (db, id) =>
            db.sql('DELETE FROM ledger_records WHERE chain_id = ? AND sequence = 4', [id]),
          4,
          'deleted',
        ],
        [
          'an edited record',
          (db, id) =>
            db.sql(
              "UPDATE ledger_records SET body = REPLACE(body, 'shop', 'shoq') WHERE chain_id = ? AND sequence = 6",
              [id],
            ),
          6,
          'edited',
        ],
        [
          'an edited time',
          (db, id) =>
            db.sql(
              'UPDATE ledger_records SET time_ms = time_ms + 1 WHERE chain_id = ? AND sequence = 2',
              [id],
            ),
          2,
          'edited',
        ],
        [
          'two records swapped',
          async (db, id) => {
            await db.sql(
              'UPDATE ledger_records SET sequence = 1000 WHERE chain_id = ? AND sequence = 5',
              [id],
            );
            await db.sql(
              'UPDATE ledger_records SET sequence = 5 WHERE chain_id = ? AND sequence = 6',
              [id],
            );
            await db.sql(
              'UPDATE ledger_records SET sequence = 6 WHERE chain_id = ? AND sequence = 1000',
              [id],
            );
          },
          5,
          'reordered',
        ],
        [
          'a body that is no longer JSON',
          (db, id) =>
            db.sql("UPDATE ledger_records SET body = 'x' WHERE chain_id = ? AND sequence = 9", [
              id,
            ]),
          9,
          'edited',
        ],
      ])('finds %s', async (_name, tamper, sequence, problem) => {
        const { db, store, chain } = await ledgerOfTen();
        await tamper(db, chain.writer.chainId);
        const result = await verifyLedger(store);
        expect(result.ok).toBe(false);
        expect(result.firstBreak).toMatchObject({
          chainId: chain.writer.chainId,
          sequence,
          problem,
        });
        // The other chain is still sound.
        expect(result.chains.filter((c) => c.break === null)).toHaveLength(1);
      });

      it('finds a forged record that does not follow its predecessor', async () => {
        const { db, store, chain, records } = await ledgerOfTen();
        const victim = records[6]!;
        const forged = {
          ...victim,
          body: { ...victim.body, namespace: 'forged' } as typeof victim.body,
          prevHash: 'f'.repeat(64),
        };
        const hash = recordHash(forged);
        await db.sql(
          'UPDATE ledger_records SET body = ?, prev_hash = ?, hash = ? WHERE chain_id = ? AND sequence = 7',
          [canonicalJson(forged.body), forged.prevHash, hash, chain.writer.chainId],
        );
        const result = await verifyLedger(store);
        expect(result.firstBreak).toMatchObject({ sequence: 7, problem: 'inserted' });
      });

      it('finds the newest records removed only against an anchored head', async () => {
        const { db, store, chain } = await ledgerOfTen();
        const head = chain.writer.head();
        await db.sql('DELETE FROM ledger_records WHERE chain_id = ? AND sequence >= 9', [
          chain.writer.chainId,
        ]);
        expect((await verifyLedger(store)).ok).toBe(true);
        const anchored = await verifyLedger(store, [head]);
        expect(anchored.firstBreak).toMatchObject({ sequence: 10, problem: 'deleted' });
        await db.sql('DELETE FROM ledger_records WHERE chain_id = ?', [chain.writer.chainId]);
        expect((await verifyLedger(store, [head])).firstBreak).toMatchObject({
          chainId: head.chainId,
          problem: 'deleted',
        });
      });

      it('accepts a range a gap record explains, and only that range', async () => {
        const { store } = await fresh();
        const chain = new TestChain();
        const records = Array.from({ length: 8 }, () => chain.issuance());
        const dropped = records.slice(2, 5);
        const gap = {
          chainId: chain.writer.chainId,
          fromSequence: 3,
          toSequence: 5,
          prevHash: dropped[0]!.prevHash,
          lastHash: dropped[2]!.hash,
          reason: 'spool-full',
        };
        const kept = records.filter((r) => !dropped.includes(r));
        await store.append([
          ...kept,
          chain.next({ type: 'gap', time: new Date(T0).toISOString(), gaps: [gap] }),
        ]);
        const result = await verifyLedger(store);
        expect(result.ok).toBe(true);
        expect(result.chains[0]).toMatchObject({ gaps: 1, records: 6, lastSequence: 9 });
        const narrower = new TestChain();
        const others = Array.from({ length: 6 }, () => narrower.issuance());
        await store.append([
          others[0]!,
          ...others.slice(3),
          narrower.next({
            type: 'gap',
            time: new Date(T0).toISOString(),
            gaps: [
              {
                ...gap,
                chainId: narrower.writer.chainId,
                fromSequence: 2,
                toSequence: 2,
                prevHash: others[1]!.prevHash,
                lastHash: others[1]!.hash,
              },
            ],
          }),
        ]);
        expect((await verifyLedger(store)).firstBreak).toMatchObject({
          chainId: narrower.writer.chainId,
          sequence: 3,
          problem: 'deleted',
        });
      });
    });

    describe('retention', () => {
      it('prunes expired certificates, old refusals and findings in small steps; the chains stay verifiable', async () => {
        const { db, store } = await fresh();
        const chain = new TestChain('replica');
        const old = Array.from({ length: 7 }, (_, i) =>
          chain.issuance({ timeMs: T0 - 40 * DAY + i, ttlMs: HOUR }),
        );
        const oldDenial = chain.issuance({
          outcome: 'denied',
          denyRule: 'namespaces',
          timeMs: T0 - 35 * DAY,
        });
        const oldFinding = chain.next(
          {
            type: 'finding',
            time: new Date(T0 - 35 * DAY).toISOString(),
            cluster: null,
            kind: 'weak-key',
            severity: 'warning',
            object: 'Secret a/b',
            fingerprint: null,
            detail: null,
          },
          T0 - 35 * DAY,
        );
        // A long-lived certificate issued long ago holds the prefix after it.
        const longLived = chain.issuance({ timeMs: T0 - 33 * DAY, ttlMs: 40 * DAY });
        const oldAfter = chain.issuance({ timeMs: T0 - 32 * DAY, ttlMs: HOUR });
        const recent = chain.issuance({ timeMs: T0 - DAY, ttlMs: 2 * DAY });
        await store.append([...old, oldDenial, oldFinding, longLived, oldAfter, recent]);
        const clock = new FixedClock(new Date(T0));
        const pruner = new LedgerPruner(
          { writer: 'pruner@test', batchSize: 3, pauseMs: 0 },
          { store, clock, logger: silentLogger() },
        );
        const summary = await pruner.pruneNow();
        expect(summary.records).toBe(9);
        expect(summary.steps).toBeGreaterThanOrEqual(3);
        const left = await db.sql(
          'SELECT sequence FROM ledger_records WHERE chain_id = ? ORDER BY sequence',
          [chain.writer.chainId],
        );
        expect(left.map((row) => Number(row['sequence']))).toEqual([10, 11, 12]);
        expect((await store.denials(new Date(0))).items).toEqual([]);
        expect((await store.findings(new Date(0))).items).toEqual([]);
        expect((await store.identities(new Date(T0))).items.map((c) => c.serial).sort()).toEqual(
          [serialOf(longLived), serialOf(recent)].sort(),
        );
        const verdict = await verifyLedger(store);
        expect(verdict.ok).toBe(true);
        expect(verdict.chains.find((c) => c.chainId === chain.writer.chainId)).toMatchObject({
          prunedThrough: 9,
          firstSequence: 10,
        });
        // The pruner's own chain holds its prune records, kept forever.
        expect(verdict.chains.find((c) => c.writer === 'pruner@test')?.records).toBe(
          summary.steps - 1,
        );
        // Nothing left to prune: a second run changes nothing.
        expect((await pruner.pruneNow()).records).toBe(0);
        // Deleting what retention kept is still found.
        await db.sql('DELETE FROM ledger_records WHERE chain_id = ? AND sequence = 10', [
          chain.writer.chainId,
        ]);
        expect((await verifyLedger(store)).firstBreak).toMatchObject({
          sequence: 10,
          problem: 'deleted',
        });
      });

      it('carries gap facts about other chains when it prunes the gap record', async () => {
        const { store } = await fresh();
        const oldChain = new TestChain('old-process');
        const records = Array.from({ length: 4 }, () =>
          oldChain.issuance({ timeMs: T0 - DAY, ttlMs: 40 * DAY }),
        );
        const current = new TestChain('new-process');
        const gap = {
          chainId: oldChain.writer.chainId,
          fromSequence: 2,
          toSequence: 2,
          prevHash: records[1]!.prevHash,
          lastHash: records[1]!.hash,
          reason: 'spool-full',
        };
        await store.append([records[0]!, records[2]!, records[3]!]);
        await store.append([
          current.next(
            { type: 'gap', time: new Date(T0 - 40 * DAY).toISOString(), gaps: [gap] },
            T0 - 40 * DAY,
          ),
          current.issuance({ timeMs: T0 }),
        ]);
        const pruner = new LedgerPruner(
          { writer: 'pruner@test', pauseMs: 0 },
          { store, clock: new FixedClock(new Date(T0)), logger: silentLogger() },
        );
        expect((await pruner.pruneNow()).records).toBe(1);
        expect((await verifyLedger(store)).ok).toBe(true);
      });
    });

    it('upgrades a database made by the first schema, keeping its records verifiable', async () => {
      const db = await factory().fresh();
      const v1 = await db.open({ migrateTo: 1 });
      expect(await v1.schemaVersion()).toBe(1);
      await v1.close();
      // What a meshca of schema 1 wrote: chained records and their derived rows.
      const chain = new TestChain('old-meshca');
      const records = [
        chain.issuance({ timeMs: T0 - HOUR }),
        chain.issuance({ outcome: 'denied', denyRule: 'namespaces' }),
      ];
      for (const record of records) {
        await db.sql(
          'INSERT INTO ledger_records (chain_id, sequence, writer, kind, time_ms, keep_until_ms, body, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
          [
            record.chainId,
            record.sequence,
            record.writer,
            record.body.type,
            record.time,
            record.keepUntil,
            canonicalJson(record.body),
            record.prevHash,
            record.hash,
          ],
        );
      }
      const issued = records[0]!;
      await db.sql(
        `INSERT INTO ledger_certificates (issuer_fingerprint, serial, cluster, trust_domain, identity, namespace, service_account, pod_name, pod_uid, node_name, caller, key_algorithm, key_bits, issued_at_ms, not_before_ms, not_after_ms, status, status_time_ms, status_reason, status_by, chain_id, sequence)
         VALUES (?, ?, 'east', 'cluster.local', 'spiffe://cluster.local/ns/shop/sa/cart', 'shop', 'cart', 'cart-1', 'uid-cart-1', 'node-1', NULL, 'EC', 256, ?, ?, ?, 'active', NULL, NULL, NULL, ?, 1)`,
        [
          ISSUER_A,
          serialOf(issued),
          T0 - HOUR,
          T0 - HOUR - 60_000,
          T0 - HOUR + DAY,
          issued.chainId,
        ],
      );
      const store = await db.open();
      opened.push(store);
      expect(await store.schemaVersion()).toBe(LATEST_SCHEMA_VERSION);
      expect((await verifyLedger(store)).ok).toBe(true);
      expect((await store.identities(now)).items.map((c) => c.serial)).toEqual([serialOf(issued)]);
      // The new schema's features work on the old data.
      await store.append([
        chain.next({
          type: 'retire',
          time: new Date(T0).toISOString(),
          reason: 'pod-deleted',
          serials: [],
          pod: { namespace: 'shop', name: 'cart-1', uid: 'uid-cart-1' },
        }),
      ]);
      expect((await store.revocations(now, ISSUER_A)).items.map((r) => r.serial)).toEqual([
        serialOf(issued),
      ]);
      expect((await verifyLedger(store)).ok).toBe(true);
    });

    it('refuses a database newer than this meshca', async () => {
      const { db } = await fresh();
      await db.sql('INSERT INTO ledger_schema (version, applied_at_ms) VALUES (?, ?)', [
        LATEST_SCHEMA_VERSION + 1,
        T0,
      ]);
      await expect(db.open()).rejects.toMatchObject({ code: 'ERR_LEDGER_SCHEMA' });
    });

    it('takes concurrent appends from several writers without losing or duplicating any', async () => {
      const { db, store } = await fresh();
      const second = await db.open();
      opened.push(second);
      const writers = [store, second, store, second].map((target, w) => ({
        target,
        chain: new TestChain(`writer-${w}`),
      }));
      await Promise.all(
        writers.map(async ({ target, chain }) => {
          for (let batch = 0; batch < 5; batch++) {
            const records = Array.from({ length: 20 }, () =>
              chain.issuance({ pod: { name: 'p', uid: 'uid-shared' } }),
            );
            await target.append(records);
            // A retirement of the shared pod from every writer contends on the same rows.
            await target.append([
              chain.next({
                type: 'retire',
                time: new Date(T0 + batch).toISOString(),
                reason: 'pod-deleted',
                serials: [],
                pod: { namespace: 'shop', name: 'p', uid: 'uid-shared' },
              }),
            ]);
          }
        }),
      );
      const rows = await db.sql('SELECT COUNT(*) AS n FROM ledger_records');
      expect(Number(rows[0]?.['n'])).toBe(4 * 5 * 21);
      const certificates = await db.sql('SELECT COUNT(*) AS n FROM ledger_certificates');
      expect(Number(certificates[0]?.['n'])).toBe(4 * 5 * 20);
      expect((await verifyLedger(store)).ok).toBe(true);
    });

    it('does not record events the ledger leaves out', () => {
      // A sanity check of the fixture against the mapping the stores rely on.
      expect(() => new TestChain().issuance({ caller: false, outcome: 'unauthenticated' })).toThrow(
        'not recorded',
      );
      expect(event({ outcome: 'unavailable' }).caller).toBeDefined();
      expect(() => new TestChain().issuance({ outcome: 'unavailable' })).toThrow('not recorded');
    });
  });
}

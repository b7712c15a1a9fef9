/**
 * The integrity half of the store contract: tamper evidence, retention that keeps chains
 * verifiable, and schema upgrades. Registered by `store-contract.ts` for every store.
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
import { ISSUER_A, serialOf, T0, TestChain } from './fixtures.js';
import type { StoreFactory, TestDatabase } from './store-contract.js';

const HOUR = 3600_000;
const DAY = 24 * HOUR;

/** What the cases share with the rest of the contract. */
export interface ContractContext {
  readonly fresh: () => Promise<{ db: TestDatabase; store: LedgerStore }>;
  readonly factory: () => StoreFactory;
  /** Stores to close after each test. */
  readonly opened: LedgerStore[];
  readonly now: Date;
}

/** Registers the integrity cases (inside the store's describe block). */
export function integrityCases({ fresh, factory, opened, now }: ContractContext): void {
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
        (db, id) => db.sql('DELETE FROM ledger_records WHERE chain_id = ? AND sequence = 4', [id]),
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
          db.sql("UPDATE ledger_records SET body = 'x' WHERE chain_id = ? AND sequence = 9", [id]),
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
      [ISSUER_A, serialOf(issued), T0 - HOUR, T0 - HOUR - 60_000, T0 - HOUR + DAY, issued.chainId],
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
}

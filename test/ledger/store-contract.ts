/**
 * The contract every ledger store keeps, run against each one (SQLite, PostgreSQL): idempotent
 * appends, derived state, inventory views and their pages, lifecycle, tamper detection,
 * retention, and schema upgrades.
 */
import { LATEST_SCHEMA_VERSION, verifyLedger } from '../../src/ledger/index.js';
import type { LedgerStore } from '../../src/ledger/index.js';
import { event, ISSUER_A, ISSUER_B, serialOf, T0, TestChain } from './fixtures.js';
import { aggregateCases } from './store-contract-aggregates.js';
import { integrityCases } from './store-contract-integrity.js';

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

    integrityCases({ fresh, factory, opened, now });
    aggregateCases({ fresh, factory, opened, now });

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

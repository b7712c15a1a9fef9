/**
 * The aggregate views of the store contract (the console's overview, denials by rule, every
 * certificate with its state and a search), the schema-3 upgrade, and the plans the overview's
 * statements get on a ledger of a fortnight: index ranges, never a scan of a whole table.
 * Registered by `store-contract.ts` for every store.
 */
import type { ChainedRecord, FindingRecordBody, LedgerStore } from '../../src/ledger/index.js';
import { overviewStatements, overviewWindow } from '../../src/ledger/sql-overview.js';
import { ISSUER_A, ISSUER_B, serialOf, T0, TestChain } from './fixtures.js';
import type { ContractContext } from './store-contract-integrity.js';
import type { TestDatabase } from './store-contract.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** A ledger with each kind of figure the overview counts; `now` is T0 + 1 h. */
async function knownLedger(
  store: LedgerStore,
): Promise<{ cart: string; web: string; api: string; old: string }> {
  const chain = new TestChain('aggregates');
  const records: ChainedRecord[] = [];
  const add = (record: ChainedRecord): ChainedRecord => {
    records.push(record);
    return record;
  };
  const cart = add(
    chain.issuance({
      serviceAccount: 'cart',
      pod: { name: 'cart-1', uid: 'uid-cart-1' },
      timeMs: T0 - 2 * HOUR,
    }),
  );
  const web = add(
    chain.issuance({
      serviceAccount: 'web',
      pod: { name: 'WEB-1', uid: 'uid-web-1' },
      timeMs: T0 - 30 * MINUTE,
    }),
  );
  const api = add(
    chain.issuance({
      namespace: 'bank',
      serviceAccount: 'api',
      cluster: 'west',
      issuer: ISSUER_B,
      timeMs: T0,
      audits: [{ layer: 'local', rule: 'audit-rule', effect: 'audit', reason: 'would deny api' }],
    }),
  );
  const old = add(chain.issuance({ serviceAccount: 'old', timeMs: T0 - 30 * HOUR, ttlMs: HOUR }));
  for (const minutes of [10, 5]) {
    add(
      chain.issuance({
        namespace: 'bank',
        serviceAccount: `x${minutes}`,
        outcome: 'denied',
        denyRule: 'namespaces',
        timeMs: T0 - minutes * MINUTE,
      }),
    );
  }
  add(chain.issuance({ serviceAccount: 'cart', outcome: 'invalid', timeMs: T0 - 20 * MINUTE }));
  add(
    chain.next(
      {
        type: 'retire',
        time: new Date(T0 - HOUR).toISOString(),
        reason: 'pod-deleted',
        serials: [],
        pod: { namespace: 'shop', name: 'cart-1', uid: 'uid-cart-1' },
      },
      T0 - HOUR,
    ),
  );
  add(
    chain.next(
      {
        type: 'revoke',
        time: new Date(T0).toISOString(),
        serials: [serialOf(web)],
        reason: 'keyCompromise',
        by: 'alice',
      },
      T0,
    ),
  );
  const finding = (
    hoursAgo: number,
    severity: string,
    object: string,
    allowlisted?: { rule: string; value: string; reason: string },
  ): void => {
    const body: FindingRecordBody = {
      type: 'finding',
      time: new Date(T0 - hoursAgo * HOUR).toISOString(),
      cluster: 'east',
      kind: severity === 'high' ? 'unapproved-ca' : 'expired',
      severity,
      object,
      fingerprint: object.endsWith('ca') ? 'f'.repeat(64) : null,
      detail: allowlisted === undefined ? { why: 'test' } : { allowlisted, why: 'test' },
    };
    add(chain.next(body, T0 - hoursAgo * HOUR));
  };
  finding(20, 'high', 'Secret a/ca');
  finding(1, 'high', 'Secret a/ca');
  finding(2, 'medium', 'Secret b/tls');
  finding(30, 'low', 'Secret c/tls');
  // Waived by an allowlist rule: shown by the findings view, not counted as open.
  finding(1, 'critical', 'Secret lab/ca', { rule: 'namespace', value: 'lab', reason: 'a lab' });
  await store.append(records);
  return { cart: serialOf(cart), web: serialOf(web), api: serialOf(api), old: serialOf(old) };
}

/** Fills the tables with a fortnight of rows (a minute apart), then has the database analyze them. */
async function fortnight(db: TestDatabase, kind: string): Promise<void> {
  const rows = 20_000;
  await db.sql(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${rows})
     INSERT INTO ledger_certificates (issuer_fingerprint, serial, cluster, trust_domain, identity,
       namespace, service_account, issued_at_ms, not_before_ms, not_after_ms, status, chain_id, sequence)
     SELECT CASE WHEN i % 2 = 0 THEN ? ELSE ? END, 's' || i, 'c' || (i % 3), 'cluster.local',
       'spiffe://cluster.local/ns/n/sa/a' || (i % 50), 'n', 'a' || (i % 50),
       CAST(? AS BIGINT) - CAST(i AS BIGINT) * 60000, CAST(? AS BIGINT) - CAST(i AS BIGINT) * 60000,
       CAST(? AS BIGINT) - CAST(i AS BIGINT) * 60000 + 86400000, 'active', 'bulk', i FROM n`,
    [ISSUER_A, ISSUER_B, T0, T0, T0],
  );
  await db.sql(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${rows})
     INSERT INTO ledger_decisions (chain_id, sequence, idx, time_ms, audit, outcome, cluster,
       trust_domain, identity, namespace, service_account, issuer_fingerprint)
     SELECT 'bulk', i, 0, CAST(? AS BIGINT) - CAST(i AS BIGINT) * 60000, i % 2, 'denied', 'c' || (i % 3),
       'cluster.local', 'spiffe://cluster.local/ns/n/sa/x', 'n', 'x', ? FROM n`,
    [T0, ISSUER_A],
  );
  await db.sql(kind === 'sqlite' ? 'ANALYZE' : 'ANALYZE ledger_certificates');
  if (kind !== 'sqlite') await db.sql('ANALYZE ledger_decisions');
}

/** The plan of a statement, one line per step. */
async function plan(
  db: TestDatabase,
  kind: string,
  sql: string,
  params: readonly (string | number | null)[],
): Promise<string> {
  const rows = await db.sql(
    `${kind === 'sqlite' ? 'EXPLAIN QUERY PLAN' : 'EXPLAIN'} ${sql}`,
    params,
  );
  return rows.map((row) => String(row[kind === 'sqlite' ? 'detail' : 'QUERY PLAN'])).join('\n');
}

/** Registers the aggregate cases (inside the store's describe block). */
export function aggregateCases({ fresh, factory, opened, now }: ContractContext): void {
  describe('aggregate views', () => {
    const day = new Date(now.getTime() - DAY);

    it('sums the overview: timeline, totals, clusters, intermediates, open findings', async () => {
      const { store } = await fresh();
      await knownLedger(store);
      const overview = await store.overview(now, day, day);
      expect(overview.totals).toEqual({
        issued: 3,
        denied: 3,
        audit: 1,
        active: 1,
        retired: 1,
        revoked: 1,
      });
      expect(overview.clusters).toEqual([
        { cluster: 'east', issued: 2, denied: 3, audit: 0, active: 0, retired: 1, revoked: 1 },
        { cluster: 'west', issued: 1, denied: 0, audit: 1, active: 1, retired: 0, revoked: 0 },
      ]);
      expect(overview.issuers).toEqual([
        {
          issuerFingerprint: ISSUER_A,
          issued: 2,
          denied: 3,
          audit: 0,
          active: 0,
          retired: 1,
          revoked: 1,
        },
        {
          issuerFingerprint: ISSUER_B,
          issued: 1,
          denied: 0,
          audit: 1,
          active: 1,
          retired: 0,
          revoked: 0,
        },
      ]);
      // One finding seen twice counts once; the low one is older than the findings' window; the
      // critical one is allowlisted.
      expect(overview.findings).toEqual([
        { severity: 'high', open: 1 },
        { severity: 'medium', open: 1 },
      ]);
      expect(overview.bucketSeconds).toBe(1800);
      expect(overview.since).toBe(new Date(now.getTime() - DAY).toISOString());
      expect(overview.timeline).toHaveLength(49);
      const at = (ms: number): { issued: number; denied: number; audit: number } | undefined =>
        overview.timeline.find((bucket) => bucket.start === new Date(ms).toISOString());
      expect(at(T0 - 2 * HOUR)).toEqual({
        start: new Date(T0 - 2 * HOUR).toISOString(),
        issued: 1,
        denied: 0,
        audit: 0,
      });
      expect(at(T0 - 30 * MINUTE)).toEqual({
        start: new Date(T0 - 30 * MINUTE).toISOString(),
        issued: 1,
        denied: 3,
        audit: 0,
      });
      expect(at(T0)).toEqual({ start: new Date(T0).toISOString(), issued: 1, denied: 0, audit: 1 });
      expect(overview.timeline.reduce((sum, bucket) => sum + bucket.issued, 0)).toBe(3);
    });

    it('narrows the overview by filter and window', async () => {
      const { store } = await fresh();
      await knownLedger(store);
      expect((await store.overview(now, day, day, { namespace: 'shop' })).totals).toEqual({
        issued: 2,
        denied: 1,
        audit: 0,
        active: 0,
        retired: 1,
        revoked: 1,
      });
      expect((await store.overview(now, day, day, { cluster: 'west' })).findings).toEqual([]);
      const recent = await store.overview(now, new Date(now.getTime() - 90 * MINUTE), day);
      expect(recent.bucketSeconds).toBe(120);
      expect(recent.totals.issued).toBe(2);
      expect(recent.timeline.reduce((sum, bucket) => sum + bucket.issued, 0)).toBe(2);
      const empty = await (await fresh()).store.overview(now, day, day);
      expect(empty.totals).toEqual({
        issued: 0,
        denied: 0,
        audit: 0,
        active: 0,
        retired: 0,
        revoked: 0,
      });
      expect([empty.clusters, empty.issuers, empty.findings]).toEqual([[], [], []]);
    });

    it('groups refusals by rule, the latest first, and audit verdicts apart', async () => {
      const { store } = await fresh();
      await knownLedger(store);
      const groups = await store.denialRules(day, undefined, 1);
      expect(groups.map((g) => [g.audit, g.layer, g.rule, g.errorCode, g.count])).toEqual([
        [false, 'central', 'namespaces', 'ERR_POLICY_DENIED', 2],
        [false, null, null, 'ERR_CSR_SAN_MISSING', 1],
        [true, 'local', 'audit-rule', null, 1],
      ]);
      expect(groups[0]?.latest).toEqual([
        {
          time: new Date(T0 - 5 * MINUTE).toISOString(),
          identity: 'spiffe://cluster.local/ns/bank/sa/x5',
          namespace: 'bank',
          serviceAccount: 'x5',
          cluster: 'east',
          podName: 'x5-1',
          outcome: 'denied',
          reason: 'namespace bank is not allowed',
        },
      ]);
      expect([groups[0]?.firstTime, groups[0]?.lastTime]).toEqual([
        new Date(T0 - 10 * MINUTE).toISOString(),
        new Date(T0 - 5 * MINUTE).toISOString(),
      ]);
      expect(groups[2]?.latest.map((e) => e.reason)).toEqual(['would deny api']);
      expect((await store.denialRules(day, { namespace: 'shop' })).map((g) => g.errorCode)).toEqual(
        ['ERR_CSR_SAN_MISSING'],
      );
      expect(
        (await store.denialRules(day)).find((g) => g.rule === 'namespaces')?.latest,
      ).toHaveLength(2);
    });

    it('lists every certificate with its state, searched, a page at a time', async () => {
      const { store } = await fresh();
      const serials = await knownLedger(store);
      const list = async (query: Parameters<LedgerStore['certificates']>[2]): Promise<string[]> =>
        (await store.certificates(now, undefined, query)).items.map((c) => c.serial);
      expect(await list({})).toEqual([serials.api, serials.cart, serials.old, serials.web]);
      expect(await list({ state: 'active' })).toEqual([serials.api]);
      expect(await list({ state: 'expired' })).toEqual([serials.old]);
      expect(await list({ state: 'retired' })).toEqual([serials.cart]);
      expect(await list({ state: 'revoked' })).toEqual([serials.web]);
      expect(await list({ search: 'web-1' })).toEqual([serials.web]);
      expect(await list({ search: ' SA/CART ' })).toEqual([serials.cart]);
      expect(await list({ search: serials.api.slice(4, 14) })).toEqual([serials.api]);
      expect(await list({ search: 'node-1', state: 'revoked' })).toEqual([serials.web]);
      // LIKE's wildcards are searched for as text.
      expect(await list({ search: '%' })).toEqual([]);
      expect(await list({ search: '_' })).toEqual([]);
      const paged: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.certificates(
          now,
          { namespace: 'shop' },
          {},
          { limit: 1, ...(cursor === undefined ? {} : { cursor }) },
        );
        paged.push(...page.items.map((c) => c.serial));
        cursor = page.nextCursor;
      } while (cursor !== undefined);
      expect(paged).toEqual([serials.cart, serials.old, serials.web]);
    });

    it('upgrades a schema-2 database: the overview indexes, old findings open', async () => {
      const db = await factory().fresh();
      const v2 = await db.open({ migrateTo: 2 });
      await v2.close();
      // A finding as a schema-2 meshca wrote it (no allowlisted column then).
      await db.sql(
        `INSERT INTO ledger_findings (chain_id, sequence, time_ms, cluster, kind, severity, object,
           fingerprint, detail) VALUES ('old', 1, ?, 'east', 'expiring-soon', 'low', 'Secret d/tls',
           NULL, '{}')`,
        [T0],
      );
      const store = await db.open();
      opened.push(store);
      expect(await store.schemaVersion()).toBe(3);
      const indexes = (
        await db.sql(
          store.kind === 'sqlite'
            ? "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'ledger_%'"
            : "SELECT indexname AS name FROM pg_indexes WHERE indexname LIKE 'ledger_%'",
        )
      ).map((row) => String(row['name']));
      expect(indexes).toEqual(
        expect.arrayContaining([
          'ledger_certificates_issued',
          'ledger_certificates_live',
          'ledger_decisions_window',
        ]),
      );
      expect(indexes).not.toContain('ledger_certificates_not_after');
      expect(indexes).not.toContain('ledger_decisions_time');
      await knownLedger(store);
      const overview = await store.overview(now, day, day);
      expect(overview.totals.issued).toBe(3);
      expect(overview.findings).toEqual([
        { severity: 'high', open: 1 },
        { severity: 'medium', open: 1 },
        { severity: 'low', open: 1 },
      ]);
    });

    it("plans the overview's statements as index ranges, not scans of whole tables", async () => {
      const { db, store } = await fresh();
      await fortnight(db, store.kind);
      const statements = overviewStatements(overviewWindow(now, day), now, day);
      const plans = {
        issued: await plan(db, store.kind, statements.issued.sql, statements.issued.params),
        decided: await plan(db, store.kind, statements.decided.sql, statements.decided.params),
        live: await plan(db, store.kind, statements.live.sql, statements.live.params),
      };
      if (store.kind === 'sqlite') {
        expect(plans.issued).toContain(
          'USING COVERING INDEX ledger_certificates_issued (issued_at_ms>? AND issued_at_ms<?)',
        );
        expect(plans.decided).toContain(
          'USING COVERING INDEX ledger_decisions_window (time_ms>? AND time_ms<?)',
        );
        expect(plans.live).toContain(
          'USING COVERING INDEX ledger_certificates_live (not_after_ms>?)',
        );
      } else {
        expect(plans.issued).toContain('ledger_certificates_issued');
        expect(plans.decided).toContain('ledger_decisions_window');
        expect(plans.live).toContain('ledger_certificates_live');
      }
      for (const text of Object.values(plans)) expect(text).not.toMatch(/Seq Scan|SCAN ledger_/);
      const overview = await store.overview(now, day, day);
      // A day of minutes: the rows issued from T0 - 23 h on, half of them refusals, half audits.
      expect(overview.totals.issued).toBe(1440 - 60);
      expect(overview.totals.denied + overview.totals.audit).toBe(1440 - 60);
    });
  });
}

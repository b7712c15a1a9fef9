/**
 * Known ledger contents for the console tests, written through the store API into a state
 * directory's SQLite file before meshca starts, and the figures the console must show for them.
 * Times count back from `nowMs` (meshca reads them with its real clock).
 */
import type { ChainedRecord, RecordBody } from '../../src/ledger/index.js';
import { SqliteLedgerStore, sqliteLedgerPath } from '../../src/ledger/index.js';
import { systemClock } from '../../src/clock.js';
import { ISSUER_A, ISSUER_B, serialOf, TestChain, type EventSpec } from '../ledger/fixtures.js';

const HOUR = 3_600_000;

/** What the overview must show for {@link seedKnownLedger} (window 24 h). */
export const EXPECTED = {
  totals: { issued: 68, denied: 3, audit: 1, active: 66, retired: 1, revoked: 1 },
  clusters: {
    east: { issued: 6, denied: 3, audit: 1, active: 4, retired: 1, revoked: 1 },
    west: { issued: 62, denied: 0, audit: 0, active: 62, retired: 0, revoked: 0 },
  },
  issuers: {
    [ISSUER_A]: { issued: 5, denied: 3, audit: 0, active: 3, retired: 1, revoked: 1 },
    [ISSUER_B]: { issued: 63, denied: 0, audit: 1, active: 63, retired: 0, revoked: 0 },
  },
  /** Distinct open findings by severity (the allowlisted one is not open). */
  findings: { high: 1, medium: 1 },
  /** Every certificate kept: the 68 of the window and one expired the day before. */
  certificates: 69,
  /** In namespace `bulk`: more than one page of the Identities list (50 a page). */
  bulk: 60,
} as const;

/** The serial of shop/web's revoked certificate and shop/cart's retired one. */
export interface SeededSerials {
  readonly retired: string;
  readonly revoked: string;
  readonly cart2: string;
}

/** Writes the known contents into `<stateDir>/ledger.db`. */
export async function seedKnownLedger(stateDir: string, nowMs: number): Promise<SeededSerials> {
  const store = new SqliteLedgerStore({ path: sqliteLedgerPath(stateDir) }, systemClock);
  await store.open();
  const chain = new TestChain('console-seed');
  const records: ChainedRecord[] = [];
  const issue = (spec: EventSpec): ChainedRecord => {
    const record = chain.issuance({ cluster: 'east', issuer: ISSUER_A, ...spec });
    records.push(record);
    return record;
  };
  const at = (hoursAgo: number): number => nowMs - hoursAgo * HOUR;
  const cart = (n: number, hoursAgo: number): ChainedRecord =>
    issue({
      namespace: 'shop',
      serviceAccount: 'cart',
      pod: { name: `cart-${n}`, uid: `uid-cart-${n}` },
      timeMs: at(hoursAgo),
    });
  const cart1 = cart(1, 3);
  const cart2 = cart(2, 2);
  cart(3, 1);
  const web1 = issue({
    namespace: 'shop',
    serviceAccount: 'web',
    pod: { name: 'web-1', uid: 'uid-web-1' },
    timeMs: at(4),
  });
  issue({
    namespace: 'shop',
    serviceAccount: 'web',
    pod: { name: 'web-2', uid: 'uid-web-2' },
    timeMs: at(3.5),
  });
  issue({
    namespace: 'bank',
    serviceAccount: 'api',
    issuer: ISSUER_B,
    pod: { name: 'api-0', uid: 'uid-api-0' },
    timeMs: at(2.5),
    audits: [
      {
        layer: 'local',
        rule: 'bank-pods-only',
        effect: 'audit',
        reason: 'pod api-0 is not labelled tier=bank',
      },
    ],
  });
  // Expired yesterday, outside the window.
  issue({ namespace: 'shop', serviceAccount: 'old', timeMs: at(30), ttlMs: HOUR });
  for (const minutes of [20, 10]) {
    issue({
      namespace: 'bank',
      serviceAccount: 'intruder',
      outcome: 'denied',
      denyRule: 'namespaces',
      timeMs: nowMs - minutes * 60_000,
    });
  }
  issue({ namespace: 'shop', serviceAccount: 'cart', outcome: 'invalid', timeMs: at(5) });
  for (const [workers, hoursAgo] of [
    [2, 6],
    [60, 5],
  ] as const) {
    for (let i = 0; i < workers; i++) {
      const namespace = workers === 2 ? 'payments' : 'bulk';
      issue({
        cluster: 'west',
        issuer: ISSUER_B,
        namespace,
        serviceAccount: workers === 2 ? 'worker' : `svc-${String(i).padStart(2, '0')}`,
        pod: { name: `${namespace}-${i}`, uid: `uid-${namespace}-${i}` },
        timeMs: at(hoursAgo) + i * 1000,
      });
    }
  }
  const lifecycle = (body: RecordBody, timeMs: number): void => {
    records.push(chain.next(body, timeMs));
  };
  lifecycle(
    {
      type: 'retire',
      time: new Date(at(2.9)).toISOString(),
      reason: 'pod-deleted',
      serials: [],
      pod: { namespace: 'shop', name: 'cart-1', uid: 'uid-cart-1' },
    },
    at(2.9),
  );
  lifecycle(
    {
      type: 'revoke',
      time: new Date(at(3.9)).toISOString(),
      serials: [serialOf(web1)],
      reason: 'keyCompromise',
      by: 'alice',
    },
    at(3.9),
  );
  const finding = (
    hoursAgo: number,
    kind: string,
    severity: string,
    object: string,
    why: string,
  ): void => {
    lifecycle(
      {
        type: 'finding',
        time: new Date(at(hoursAgo)).toISOString(),
        cluster: 'east',
        kind,
        severity,
        object,
        fingerprint: kind === 'unapproved-ca' ? 'f'.repeat(64) : 'e'.repeat(64),
        detail:
          kind === 'self-signed-ca'
            ? {
                allowlisted: { rule: 'namespace', value: 'lab', reason: 'the lab runs its own CA' },
                id: `${kind}-1`,
                location: 'data[ca.crt]',
                why,
              }
            : { id: `${kind}-1`, location: 'data[ca.crt]', why },
      },
      at(hoursAgo),
    );
  };
  // The same finding twice (seen at two scans a day apart would be recorded twice): counted once.
  finding(20, 'unapproved-ca', 'high', 'Secret team-a/ca', 'a CA that no approved anchor signed');
  finding(2, 'unapproved-ca', 'high', 'Secret team-a/ca', 'a CA that no approved anchor signed');
  finding(1, 'expired', 'medium', 'Secret team-b/tls', 'the certificate expired');
  // Allowlisted: listed with its rule, not counted as open.
  finding(0.5, 'self-signed-ca', 'high', 'Secret lab/ca', 'a self-signed CA');
  await store.append(records);
  await store.close();
  return { retired: serialOf(cart1), revoked: serialOf(web1), cart2: serialOf(cart2) };
}

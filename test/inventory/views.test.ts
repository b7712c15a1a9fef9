/**
 * The inventory document (`meshca.io/inventory/v1`) over a real SQLite ledger holding known data:
 * every view and filter, paging by cursor, parameter errors, and the schema — the exact keys of the
 * document and of each kind of item, which the console and outside tools rely on.
 */
import { join } from 'node:path';
import { FixedClock } from '../../src/clock.js';
import {
  INVENTORY_SCHEMA,
  InventoryRequestError,
  inventoryRequest,
  readInventory,
  readWholeInventory,
  type InventoryDocument,
  type InventoryView,
  type OverviewItem,
  type ServingFacts,
} from '../../src/inventory/index.js';
import { SqliteLedgerStore } from '../../src/ledger/index.js';
import { ISSUER_A, ISSUER_B, T0, TestChain, serialOf } from '../ledger/fixtures.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';

afterAll(removeTempDirs);

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** The exact keys of each kind of item: adding one is a schema change to document. */
const CERTIFICATE_KEYS = [
  'caller',
  'cluster',
  'identity',
  'issuedAt',
  'issuerFingerprint',
  'keyAlgorithm',
  'keyBits',
  'namespace',
  'nodeName',
  'notAfter',
  'notBefore',
  'podName',
  'podUid',
  'serial',
  'serviceAccount',
  'status',
  'statusBy',
  'statusReason',
  'statusTime',
  'trustDomain',
];
const DENIAL_KEYS = [
  'audit',
  'caller',
  'cluster',
  'errorCode',
  'identity',
  'issuerFingerprint',
  'layer',
  'namespace',
  'outcome',
  'podName',
  'reason',
  'rule',
  'serviceAccount',
  'time',
];
const ISSUER_KEYS = ['active', 'denied', 'firstUse', 'issued', 'issuerFingerprint', 'lastUse'];
const WORKLOAD_KEYS = ['certificates', 'cluster', 'namespace', 'nodeName', 'podName', 'podUid'];
const FINDING_KEYS = ['cluster', 'detail', 'fingerprint', 'kind', 'object', 'severity', 'time'];
const DENIAL_RULE_KEYS = [
  'audit',
  'count',
  'errorCode',
  'firstTime',
  'lastTime',
  'latest',
  'layer',
  'rule',
];
const OVERVIEW_KEYS = [
  'authority',
  'bucketSeconds',
  'clusters',
  'findings',
  'findingsSince',
  'issuers',
  'policies',
  'since',
  'timeline',
  'totals',
  'until',
];

/** A replica's facts, as `meshca serve` supplies them to the HTTP API. */
const FACTS: ServingFacts = {
  authority: () => ({
    intermediate: {
      fingerprint: ISSUER_A,
      subject: 'O=meshca, CN=intermediate',
      notBefore: '2026-01-01T00:00:00.000Z',
      notAfter: '2027-01-01T00:00:00.000Z',
    },
    roots: [],
  }),
  policies: () => [
    {
      layer: 'central',
      name: 'baseline',
      sha256: 'c'.repeat(64),
      origin: '/etc/meshca/central.yaml',
      signature: 'verified',
      signedBy: 'key-1',
    },
  ],
};

describe('inventory views', () => {
  const now = new Date(T0 + HOUR);
  let store: SqliteLedgerStore;
  const serials: Record<string, string> = {};

  beforeAll(async () => {
    store = new SqliteLedgerStore({ path: join(tempDir(), 'ledger.db') }, new FixedClock(now));
    await store.open();
    const chain = new TestChain('meshca-0');
    const records = [
      chain.issuance({
        namespace: 'shop',
        serviceAccount: 'cart',
        pod: { name: 'cart-1', uid: 'u1' },
      }),
      chain.issuance({
        namespace: 'shop',
        serviceAccount: 'web',
        pod: { name: 'web-1', uid: 'u2' },
        ttlMs: 90 * MINUTE,
      }),
      chain.issuance({
        namespace: 'bank',
        serviceAccount: 'api',
        cluster: 'west',
        pod: { name: 'api-1', uid: 'u3' },
        issuer: ISSUER_B,
      }),
      chain.issuance({
        namespace: 'shop',
        serviceAccount: 'old',
        pod: { name: 'old-1', uid: 'u4' },
        ttlMs: 30 * MINUTE,
      }),
      chain.issuance({
        outcome: 'denied',
        namespace: 'bank',
        serviceAccount: 'intruder',
        denyRule: 'bank-only',
        timeMs: T0 + 30 * MINUTE,
      }),
      chain.issuance({
        namespace: 'shop',
        serviceAccount: 'audited',
        pod: { name: 'audited-1', uid: 'u5' },
        audits: [
          {
            effect: 'audit',
            layer: 'local',
            rule: 'ingress-required',
            reason: 'no Ingress in shop',
          },
        ],
      }),
    ];
    for (const [name, index] of [
      ['cart', 0],
      ['web', 1],
      ['api', 2],
      ['old', 3],
      ['audited', 5],
    ] as const) {
      serials[name] = serialOf(records[index]!);
    }
    records.push(
      chain.next(
        {
          type: 'retire',
          time: new Date(T0 + 40 * MINUTE).toISOString(),
          reason: 'pod-deleted',
          serials: [],
          pod: { namespace: 'shop', name: 'cart-1', uid: 'u1' },
        },
        T0 + 40 * MINUTE,
      ),
      chain.next(
        {
          type: 'finding',
          time: new Date(T0 + 50 * MINUTE).toISOString(),
          cluster: 'east',
          kind: 'self-signed-ca',
          severity: 'high',
          object: 'Secret team-a/homemade-ca',
          fingerprint: 'f'.repeat(64),
          detail: { subject: 'CN=homemade' },
        },
        T0 + 50 * MINUTE,
      ),
    );
    await store.append(records);
  });
  afterAll(() => store.close());

  async function read(view: InventoryView, query = ''): Promise<InventoryDocument> {
    return readWholeInventory(store, inventoryRequest(view, new URLSearchParams(query)), now);
  }
  const field = (document: InventoryDocument, key: string): unknown[] =>
    document.items.map((item) => (item as Record<string, unknown>)[key]);

  it('is one document shape for every view', async () => {
    const document = await readInventory(
      store,
      inventoryRequest('identities', new URLSearchParams()),
      now,
    );
    expect(Object.keys(document).sort()).toEqual([
      'generatedAt',
      'items',
      'nextCursor',
      'schema',
      'view',
    ]);
    expect(document).toMatchObject({
      schema: INVENTORY_SCHEMA,
      view: 'identities',
      generatedAt: now.toISOString(),
      nextCursor: null,
    });
  });

  it.each([
    ['identities', '', CERTIFICATE_KEYS],
    ['expiring', 'within=24h', CERTIFICATE_KEYS],
    ['denials', '', DENIAL_KEYS],
    ['issuers', '', ISSUER_KEYS],
    ['workloads', '', WORKLOAD_KEYS],
    ['findings', '', FINDING_KEYS],
    ['certificates', '', CERTIFICATE_KEYS],
    ['denial-rules', '', DENIAL_RULE_KEYS],
    ['overview', '', OVERVIEW_KEYS],
  ] as const)('%s items have exactly the documented keys', async (view, query, keys) => {
    const document = await read(view, query);
    expect(document.items.length).toBeGreaterThan(0);
    for (const item of document.items) expect(Object.keys(item as object).sort()).toEqual(keys);
  });

  it('identities: active certificates, by namespace and identity; filters', async () => {
    // cart is retired, old has expired.
    expect(field(await read('identities'), 'serviceAccount')).toEqual(['api', 'audited', 'web']);
    expect(field(await read('identities', 'namespace=shop'), 'serial')).toEqual([
      serials['audited'],
      serials['web'],
    ]);
    expect(field(await read('identities', 'cluster=west'), 'serviceAccount')).toEqual(['api']);
    expect(
      field(await read('identities', 'identity=spiffe://cluster.local/ns/shop/sa/web'), 'serial'),
    ).toEqual([serials['web']]);
    expect(field(await read('identities', `issuer=${ISSUER_B}`), 'serviceAccount')).toEqual([
      'api',
    ]);
  });

  it('expiring: soonest first, within the window', async () => {
    expect(field(await read('expiring', 'within=1h'), 'serviceAccount')).toEqual(['web']);
    expect(field(await read('expiring'), 'serviceAccount')).toEqual(['web']);
    // web first; api and audited expire at the same time (then by serial).
    const day = field(await read('expiring', 'within=24h'), 'serviceAccount');
    expect(day[0]).toBe('web');
    expect(day.slice(1).sort()).toEqual(['api', 'audited']);
    expect(field(await read('expiring', 'within=10m'), 'serviceAccount')).toEqual([]);
  });

  it('denials: refusals and audit verdicts since the window, with the rule', async () => {
    const denials = await read('denials');
    expect(denials.items).toEqual([
      expect.objectContaining({
        serviceAccount: 'audited',
        audit: true,
        rule: 'ingress-required',
        layer: 'local',
        outcome: 'issued',
      }),
      expect.objectContaining({
        serviceAccount: 'intruder',
        audit: false,
        rule: 'bank-only',
        layer: 'central',
        outcome: 'denied',
        errorCode: 'ERR_POLICY_DENIED',
      }),
    ]);
    expect(field(await read('denials', 'since=45m'), 'serviceAccount')).toEqual(['intruder']);
    expect(field(await read('denials', 'namespace=shop'), 'serviceAccount')).toEqual(['audited']);
  });

  it('issuers: per intermediate statistics', async () => {
    expect((await read('issuers')).items).toEqual([
      expect.objectContaining({ issuerFingerprint: ISSUER_A, issued: 4, denied: 1, active: 2 }),
      expect.objectContaining({ issuerFingerprint: ISSUER_B, issued: 1, denied: 0, active: 1 }),
    ]);
  });

  it('workloads: pods with every certificate, retired ones included', async () => {
    const workloads = await read('workloads', 'namespace=shop');
    expect(field(workloads, 'podName')).toEqual(['audited-1', 'cart-1', 'old-1', 'web-1']);
    const cart = workloads.items[1] as { certificates: { status: string; statusReason: string }[] };
    expect(cart.certificates).toEqual([
      expect.objectContaining({ status: 'retired', statusReason: 'pod-deleted' }),
    ]);
  });

  it('findings: since the window, by cluster', async () => {
    expect(field(await read('findings'), 'object')).toEqual(['Secret team-a/homemade-ca']);
    expect(field(await read('findings', 'cluster=west'), 'object')).toEqual([]);
  });

  it('certificates: every state, narrowed by state and search', async () => {
    expect(field(await read('certificates'), 'serviceAccount')).toEqual([
      'api',
      'audited',
      'cart',
      'old',
      'web',
    ]);
    expect(field(await read('certificates', 'state=retired'), 'serviceAccount')).toEqual(['cart']);
    expect(field(await read('certificates', 'state=expired'), 'serviceAccount')).toEqual(['old']);
    expect(field(await read('certificates', 'search=WEB-1&state=active'), 'serial')).toEqual([
      serials['web'],
    ]);
  });

  it('denial-rules: refusals by rule with the latest examples, audit verdicts apart', async () => {
    const groups = await read('denial-rules');
    expect(groups.items).toEqual([
      expect.objectContaining({ audit: false, layer: 'central', rule: 'bank-only', count: 1 }),
      expect.objectContaining({ audit: true, layer: 'local', rule: 'ingress-required', count: 1 }),
    ]);
    expect(groups.nextCursor).toBeNull();
  });

  it("overview: the ledger's figures, and the replica's CA and policies when it answers", async () => {
    const request = inventoryRequest('overview', new URLSearchParams());
    const served = await readInventory(store, request, now, FACTS);
    expect(served.items).toHaveLength(1);
    const overview = served.items[0] as OverviewItem;
    expect(overview.totals).toEqual({
      issued: 5,
      denied: 1,
      audit: 1,
      active: 3,
      retired: 1,
      revoked: 0,
    });
    expect(overview.findings).toEqual([{ severity: 'high', open: 1 }]);
    expect(overview.authority).toEqual(FACTS.authority());
    expect(overview.policies).toEqual(FACTS.policies());
    // The CLI reads the database alone: the same figures, the serving facts unknown.
    const offline = (await readInventory(store, request, now)).items[0] as OverviewItem;
    expect({ ...offline, authority: FACTS.authority(), policies: FACTS.policies() }).toEqual(
      overview,
    );
    expect([offline.authority, offline.policies]).toEqual([null, null]);
  });

  it('pages with a cursor until nextCursor is null', async () => {
    const seen: unknown[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const params = new URLSearchParams({ limit: '1', ...(cursor === null ? {} : { cursor }) });
      const page = await readInventory(store, inventoryRequest('identities', params), now);
      seen.push(...field(page, 'serial'));
      cursor = page.nextCursor;
      pages++;
    } while (cursor !== null);
    expect(pages).toBe(3);
    expect(seen).toEqual(field(await read('identities'), 'serial'));
  });

  it.each([
    ['color=blue', 'unknown parameter "color"'],
    ['within=soon', 'within: "soon" is not a duration'],
    ['limit=0', 'limit must be a whole number from 1 to 1000'],
    ['limit=1001', 'limit must be a whole number from 1 to 1000'],
    ['limit=abc', 'limit must be a whole number from 1 to 1000'],
    ['state=gone', 'state must be one of active, expired, retired, revoked'],
    [`search=${'x'.repeat(201)}`, 'search is at most 200 characters'],
  ])('refuses ?%s', (query, message) => {
    expect(() => inventoryRequest('identities', new URLSearchParams(query))).toThrow(
      new InventoryRequestError(message).message,
    );
  });

  it.each(['overview', 'denial-rules'] as const)('refuses a cursor for %s: one page', (view) => {
    expect(() => inventoryRequest(view, new URLSearchParams('cursor=abc'))).toThrow(
      `cursor: the ${view} view is one page`,
    );
  });

  it('refuses a cursor it did not make', async () => {
    await expect(
      readInventory(
        store,
        inventoryRequest('identities', new URLSearchParams('cursor=bogus')),
        now,
      ),
    ).rejects.toBeInstanceOf(InventoryRequestError);
  });
});

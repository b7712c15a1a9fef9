/**
 * `meshca inventory`, `meshca ledger verify` and `meshca revoke` as a user runs them, against the
 * database `meshca serve` writes: SQLite found by --state-dir or --ledger, and PostgreSQL found by
 * its URL with the password from MESHCA_LEDGER_PASSWORD. Tampering with the rows directly (a
 * deleted, an edited, a reordered record) makes `ledger verify` exit 1 naming the position.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { parse } from 'yaml';
import { runCommand } from '../../src/cli/main.js';
import { FixedClock } from '../../src/clock.js';
import { SqliteLedgerStore, type ChainedRecord } from '../../src/ledger/index.js';
import { PostgresLedgerStore } from '../../src/ledger/index.js';
import { silentLogger } from '../../src/logger.js';
import { ISSUER_A, TestChain, serialOf } from '../ledger/fixtures.js';
import { postgresAvailable, startPostgres, type TestPostgres } from '../support/postgres.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';

afterAll(removeTempDirs);

const never = new AbortController().signal;
const MINUTE = 60_000;

async function meshca(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCommand(
    args,
    {
      stdout: { write: (text: string) => (out += text) },
      stderr: { write: (text: string) => (err += text) },
      env,
      cwd: process.cwd(),
    },
    never,
  );
  return { code, out, err };
}

/** Known records: three certificates (one of them for a pod), a denial, recent. */
function knownRecords(
  chain: TestChain,
  nowMs: number,
): { records: ChainedRecord[]; serials: Record<string, string> } {
  const records = [
    chain.issuance({
      namespace: 'shop',
      serviceAccount: 'web',
      pod: { name: 'web-1', uid: 'u1' },
      timeMs: nowMs - MINUTE,
    }),
    chain.issuance({
      namespace: 'shop',
      serviceAccount: 'web',
      pod: { name: 'web-2', uid: 'u2' },
      timeMs: nowMs - MINUTE,
    }),
    chain.issuance({
      namespace: 'bank',
      serviceAccount: 'api',
      pod: { name: 'api-1', uid: 'u3' },
      timeMs: nowMs - MINUTE,
    }),
    chain.issuance({
      outcome: 'denied',
      namespace: 'bank',
      serviceAccount: 'intruder',
      denyRule: 'bank-only',
      timeMs: nowMs - MINUTE,
    }),
  ];
  return {
    records,
    serials: {
      web1: serialOf(records[0]!),
      web2: serialOf(records[1]!),
      api: serialOf(records[2]!),
    },
  };
}

describe('ledger commands on SQLite', () => {
  let stateDir: string;
  let serials: Record<string, string>;

  beforeEach(async () => {
    stateDir = tempDir('meshca-cli-ledger-');
    const store = new SqliteLedgerStore(
      { path: join(stateDir, 'ledger.db') },
      new FixedClock(new Date()),
    );
    await store.open();
    const known = knownRecords(new TestChain('meshca-0'), Date.now());
    serials = known.serials;
    await store.append(known.records);
    await store.close();
  });

  it('prints the identities as a table, wide, JSON and YAML', async () => {
    const table = await meshca(['inventory', 'identities', '--state-dir', stateDir]);
    expect(table.code).toBe(0);
    const lines = table.out.trimEnd().split('\n');
    expect(lines[0]).toMatch(
      /^NAMESPACE\s{3,}SERVICE-ACCOUNT\s{3}POD\s{3,}SERIAL\s{3,}NOT-AFTER\s{3,}ISSUER$/,
    );
    expect(lines).toHaveLength(4);
    expect(lines[1]).toMatch(
      new RegExp(
        `^bank\\s+api\\s+api-1\\s+${serials['api']}\\s+\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ\\s+a{12}$`,
      ),
    );

    const wide = await meshca(['inventory', 'identities', '--state-dir', stateDir, '-o', 'wide']);
    expect(wide.out.split('\n')[0]).toMatch(/ISSUER\s+CLUSTER\s+NODE\s+KEY\s+CALLER\s+ISSUED$/);
    expect(wide.out).toContain('EC-256');

    const json = JSON.parse(
      (await meshca(['inventory', 'identities', '--state-dir', stateDir, '-o', 'json'])).out,
    ) as {
      schema: string;
      items: { serial: string }[];
      nextCursor: null;
    };
    expect(json.schema).toBe('meshca.io/inventory/v1');
    expect(json.items.map((item) => item.serial).sort()).toEqual(Object.values(serials).sort());
    expect(json.nextCursor).toBeNull();

    const yaml = parse(
      (await meshca(['inventory', 'identities', '--state-dir', stateDir, '-o', 'yaml'])).out,
    ) as typeof json;
    expect(yaml.schema).toBe('meshca.io/inventory/v1');
    expect(yaml.items).toEqual(json.items);
  });

  it.each([
    [['identities', '-n', 'bank'], ['api']],
    [
      ['identities', '--identity', 'spiffe://cluster.local/ns/shop/sa/web'],
      ['web', 'web'],
    ],
    [['identities', '--cluster', 'west'], []],
    [
      ['expiring', '--within', '25h'],
      ['web', 'web', 'api'],
    ],
    [['denials'], ['intruder']],
    [['denials', '--since', '10s'], []],
  ])('inventory %j lists %j', async (args, accounts) => {
    const { code, out, err } = await meshca([
      'inventory',
      ...args,
      '--state-dir',
      stateDir,
      '-o',
      'json',
    ]);
    expect(code).toBe(0);
    expect(err).toBe('');
    const items = (JSON.parse(out) as { items: { serviceAccount: string }[] }).items;
    expect(items.map((item) => item.serviceAccount).sort()).toEqual([...accounts].sort());
  });

  it('prints the aggregate views: overview, denial-rules, and certificates with their state', async () => {
    const overview = await meshca(['inventory', 'overview', '--state-dir', stateDir]);
    expect(overview.code).toBe(0);
    const parts = overview.out.trimEnd().split('\n\n');
    expect(parts[0]).toMatch(/^WINDOW \S+Z \.\. \S+Z \(issued, denied, audit in it; active/);
    expect(parts[1]?.split('\n')).toEqual([
      expect.stringMatching(/^ISSUED\s+DENIED\s+AUDIT\s+ACTIVE\s+RETIRED\s+REVOKED$/),
      expect.stringMatching(/^3\s+1\s+0\s+3\s+0\s+0$/),
    ]);
    expect(parts[2]?.split('\n')[1]).toMatch(/^east\s+3\s+1\s+0\s+3\s+0\s+0$/);
    expect(parts[3]?.split('\n')[1]).toMatch(new RegExp(`^${ISSUER_A.slice(0, 12)}\\s+3\\s+1`));
    expect(parts).toContain(
      'CA and policy in force: known to a running meshca only (GET /v1/inventory/overview)',
    );
    const wide = await meshca(['inventory', 'overview', '--state-dir', stateDir, '-o', 'wide']);
    expect(wide.out).toMatch(/\nBUCKET\s+ISSUED\s+DENIED\s+AUDIT\n/);

    const rules = await meshca(['inventory', 'denial-rules', '--state-dir', stateDir]);
    expect(rules.out.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^KIND\s+RULE\s+COUNT\s+LAST\s+LATEST-IDENTITY\s+LATEST-REASON$/),
      expect.stringMatching(
        /^denied\s+central\/bank-only\s+1\s+\S+Z\s+spiffe:\/\/cluster.local\/ns\/bank\/sa\/intruder\s+namespace bank is not allowed$/,
      ),
    ]);

    const revoked = await meshca(['revoke', serials['api']!, '--state-dir', stateDir]);
    expect(revoked.code).toBe(0);
    const certificates = await meshca(['inventory', 'certificates', '--state-dir', stateDir]);
    expect(certificates.out.split('\n')[0]).toMatch(
      /^NAMESPACE\s+SERVICE-ACCOUNT\s+POD\s+SERIAL\s+STATE\s+NOT-AFTER\s+ISSUER$/,
    );
    const states = certificates.out
      .trimEnd()
      .split('\n')
      .slice(1)
      .map((line) => line.split(/\s+/).slice(0, 5))
      // web-1 and web-2 were issued at the same time: their order is their serials'.
      .sort((a, b) => (a[2] ?? '').localeCompare(b[2] ?? ''));
    expect(states).toEqual([
      ['bank', 'api', 'api-1', serials['api'], 'revoked'],
      ['shop', 'web', 'web-1', serials['web1'], 'active'],
      ['shop', 'web', 'web-2', serials['web2'], 'active'],
    ]);
    const searched = await meshca([
      'inventory',
      'certificates',
      '--state-dir',
      stateDir,
      '--search',
      'WEB-2',
      '--state',
      'active',
      '-o',
      'json',
    ]);
    expect(
      (JSON.parse(searched.out) as { items: { serial: string }[] }).items.map((c) => c.serial),
    ).toEqual([serials['web2']]);
  });

  it('says when a view is empty, on stderr, like kubectl', async () => {
    const result = await meshca(['inventory', 'findings', '--state-dir', stateDir]);
    expect(result).toEqual({ code: 0, out: '', err: 'No findings found.\n' });
  });

  it.each([
    [['inventory'], 2, 'a view is required'],
    [['inventory', 'everything'], 2, 'unknown view "everything"'],
    [
      ['inventory', 'identities', '-o', 'xml'],
      2,
      '--output must be one of table, wide, json, yaml',
    ],
    [['inventory', 'identities', '--within', '1h'], 2, '--within applies to the expiring view'],
    [['inventory', 'expiring', '--within', 'soon'], 2, '--within: "soon" is not a duration'],
    [
      ['inventory', 'identities', '--state', 'active'],
      2,
      '--state and --search apply to the certificates view',
    ],
    [['inventory', 'certificates', '--state', 'gone'], 2, '--state must be one of active, expired'],
    [['inventory', 'issuers', '--since', '1h'], 2, '--since applies to the denials, findings'],
    [
      ['inventory', 'identities', '--state-dir', '/nonexistent'],
      1,
      'no ledger at /nonexistent/ledger.db',
    ],
    [['inventory', 'identities', '--ledger', 'off'], 1, 'the ledger is off'],
    [
      ['inventory', 'identities', '--ledger', 'postgres://u:pw@db/x'],
      2,
      '--ledger: must not hold a password',
    ],
    [['ledger'], 2, ''],
    [['ledger', 'check'], 2, 'unknown command "check"'],
    [['revoke', '--state-dir', '/x'], 2, 'give serials, --pod or --service-account'],
    [['revoke', 'abc', '--pod', 'a/b'], 2, 'exactly one of them'],
    [['revoke', 'xyz'], 2, '"xyz" is not a serial'],
    [['revoke', 'ab', '--reason', 'certificateHold'], 2, '--reason must be one of'],
    [['revoke', '--pod', 'nopod'], 2, '--pod must be NAMESPACE/NAME'],
  ])('%j exits %i', async (args, code, message) => {
    const result = await meshca([...args]);
    expect(result.code).toBe(code);
    expect(result.err + result.out).toContain(message);
  });

  it('revokes by service account, by pod and by serial, recorded in a chain of its own', async () => {
    const bySa = await meshca([
      'revoke',
      '--service-account',
      'shop/web',
      '--reason',
      'keyCompromise',
      '--by',
      'alice',
      '--state-dir',
      stateDir,
    ]);
    expect(bySa.code).toBe(0);
    expect(bySa.out).toMatch(
      /^revoked 2 certificate\(s\), reason keyCompromise, by alice \(ledger chain [0-9a-f]{32}, record 1\)\n/,
    );
    expect(bySa.out).toContain(
      `  ${serials['web1']}  spiffe://cluster.local/ns/shop/sa/web  pod web-1`,
    );

    // Nothing active is left for that account or pod.
    const again = await meshca(['revoke', '--pod', 'shop/web-1', '--state-dir', stateDir]);
    expect(again.code).toBe(1);
    expect(again.err).toContain('no active certificate of pod shop/web-1');

    const bySerial = await meshca([
      'revoke',
      serials['api']!.toUpperCase().match(/../g)!.join(':'),
      '--state-dir',
      stateDir,
      '--by',
      'bob',
    ]);
    expect(bySerial.code).toBe(0);

    const workloads = JSON.parse(
      (await meshca(['inventory', 'workloads', '--state-dir', stateDir, '-o', 'json'])).out,
    ) as {
      items: {
        podName: string;
        certificates: { status: string; statusReason: string; statusBy: string }[];
      }[];
    };
    expect(
      workloads.items.map((pod) => [
        pod.podName,
        pod.certificates[0]?.status,
        pod.certificates[0]?.statusReason,
        pod.certificates[0]?.statusBy,
      ]),
    ).toEqual([
      ['api-1', 'revoked', 'unspecified', 'bob'],
      ['web-1', 'revoked', 'keyCompromise', 'alice'],
      ['web-2', 'revoked', 'keyCompromise', 'alice'],
    ]);
    const verify = await meshca(['ledger', 'verify', '--state-dir', stateDir]);
    expect(verify.code).toBe(0);
    expect(verify.out).toMatch(/writer revoke:alice\s+records 1 \(1\.\.1\)\s+ok/);
    expect(verify.out).toMatch(/ledger verified: 3 chain\(s\), 6 record\(s\), no break\n$/);
  });

  describe('ledger verify finds tampering', () => {
    const db = (): Database.Database => new Database(join(stateDir, 'ledger.db'));

    it.each([
      ['a deleted record', 'DELETE FROM ledger_records WHERE sequence = 2', 2, 'deleted'],
      [
        'an edited record',
        "UPDATE ledger_records SET body = REPLACE(body, 'bank', 'b4nk') WHERE sequence = 3",
        3,
        'edited',
      ],
      [
        'two records swapped',
        'UPDATE ledger_records SET sequence = 100 WHERE sequence = 2; UPDATE ledger_records SET sequence = 2 WHERE sequence = 3; UPDATE ledger_records SET sequence = 3 WHERE sequence = 100',
        2,
        'reordered',
      ],
    ])('%s', async (_what, statement, sequence, problem) => {
      const handle = db();
      handle.exec(statement);
      handle.close();
      const result = await meshca(['ledger', 'verify', '--state-dir', stateDir]);
      expect(result.code).toBe(1);
      expect(result.out).toMatch(new RegExp(`BROKEN at record ${sequence}: ${problem}: `));
      expect(result.out).toMatch(
        new RegExp(
          `ledger BROKEN: 1 of 1 chain\\(s\\); first break: chain [0-9a-f]{32} record ${sequence} \\(${problem}\\)\\n$`,
        ),
      );
      const json = JSON.parse(
        (await meshca(['ledger', 'verify', '--state-dir', stateDir, '-o', 'json'])).out,
      ) as {
        ok: boolean;
        firstBreak: { sequence: number; problem: string };
      };
      expect(json).toMatchObject({ ok: false, firstBreak: { sequence, problem } });
    });

    it('finds the newest records gone when given the anchored chain heads', async () => {
      const [row] = db()
        .prepare('SELECT chain_id, hash FROM ledger_records WHERE sequence = 4')
        .all() as { chain_id: string; hash: string }[];
      const anchors = join(stateDir, 'heads.log');
      writeFileSync(
        anchors,
        `${JSON.stringify({ level: 30, msg: 'ledger chain head', chainId: row!.chain_id, writer: 'meshca-0', sequence: 4, hash: row!.hash })}\nnot json\n`,
      );
      expect(
        (await meshca(['ledger', 'verify', '--state-dir', stateDir, '--anchors', anchors])).code,
      ).toBe(0);
      const handle = db();
      handle.exec('DELETE FROM ledger_records WHERE sequence = 4');
      handle.close();
      expect((await meshca(['ledger', 'verify', '--state-dir', stateDir])).code).toBe(0);
      const anchored = await meshca([
        'ledger',
        'verify',
        '--state-dir',
        stateDir,
        '--anchors',
        anchors,
      ]);
      expect(anchored.code).toBe(1);
      expect(anchored.out).toContain(
        'BROKEN at record 4: deleted: anchored record 4 is missing (the chain ends at 3)',
      );
    });
  });
});

const pgAvailable = postgresAvailable();

(pgAvailable ? describe : describe.skip)('ledger commands on PostgreSQL', () => {
  let pg: TestPostgres;
  let url: string;
  let serials: Record<string, string>;

  beforeAll(async () => {
    pg = await startPostgres();
  }, 120_000);
  afterAll(() => pg.destroy());

  beforeEach(async () => {
    url = await pg.createDatabase();
    const store = new PostgresLedgerStore(
      { url, password: pg.password },
      new FixedClock(new Date()),
      silentLogger(),
    );
    await store.open();
    const known = knownRecords(new TestChain('meshca-0'), Date.now());
    serials = known.serials;
    await store.append(known.records);
    await store.close();
  });

  const env = (): Record<string, string> => ({
    MESHCA_LEDGER_PASSWORD: pg.password,
    MESHCA_LEDGER_TLS_MODE: 'disable',
  });

  it('reads the inventory and revokes with the password from the environment', async () => {
    const revoke = await meshca(
      ['revoke', '--service-account', 'bank/api', '--ledger', url],
      env(),
    );
    expect(revoke.code).toBe(0);
    const json = JSON.parse(
      (await meshca(['inventory', 'identities', '--ledger', url, '-o', 'json'], env())).out,
    ) as {
      items: { serial: string }[];
    };
    expect(json.items.map((item) => item.serial).sort()).toEqual(
      [serials['web1'], serials['web2']].sort(),
    );
    expect((await meshca(['ledger', 'verify', '--ledger', url], env())).code).toBe(0);
  });

  it('refuses without the password, saying why', async () => {
    const result = await meshca([
      'inventory',
      'identities',
      '--ledger',
      url,
      '--ledger-tls-mode',
      'disable',
    ]);
    expect(result.code).toBe(1);
    expect(result.err).toContain(`cannot open the ledger ${url}`);
  });

  it('finds a record edited in the database', async () => {
    const database = new URL(url).pathname.slice(1);
    await pg.sql(
      database,
      "UPDATE ledger_records SET body = replace(body, 'shop', 'sh0p') WHERE sequence = 2",
    );
    const result = await meshca(['ledger', 'verify', '--ledger', url], env());
    expect(result.code).toBe(1);
    expect(result.out).toMatch(/first break: chain [0-9a-f]{32} record 2 \(edited\)/);
  });
});

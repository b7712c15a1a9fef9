/**
 * The CRL publisher against a real SQLite ledger and a real intermediate: what goes on the list
 * (unexpired retired and revoked serials of the current intermediate), when it is re-signed (a
 * change, half the validity, a new intermediate, an expired entry), CRL numbers, a ledger that
 * cannot be read, and openssl's verdict on the result.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { CertificateAuthority } from '../../src/ca/index.js';
import { FixedClock } from '../../src/clock.js';
import { SqliteLedgerStore, type InventoryQuery } from '../../src/ledger/index.js';
import { CrlPublisher, type PublishedCrl } from '../../src/lifecycle/index.js';
import { silentLogger } from '../../src/logger.js';
import { LedgerMetrics } from '../../src/metrics/index.js';
import { TestChain, serialOf } from '../ledger/fixtures.js';
import { metric } from '../ledger/recorder-support.js';
import { opensslUnavailableReason } from '../support/environment.js';
import { createTestPki, type TestPki } from '../support/pki.js';
import { run } from '../support/process.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';

afterAll(removeTempDirs);

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const opensslMissing = opensslUnavailableReason();

/** `openssl crl -verify -text` against the intermediate. */
async function openssl(
  crl: PublishedCrl,
  issuerPem: string,
): Promise<{ ok: boolean; text: string }> {
  const dir = tempDir('meshca-crl-');
  writeFileSync(join(dir, 'crl.pem'), crl.pem);
  writeFileSync(join(dir, 'ca.pem'), issuerPem);
  const result = await run('openssl', [
    'crl',
    '-in',
    join(dir, 'crl.pem'),
    '-CAfile',
    join(dir, 'ca.pem'),
    '-verify',
    '-noout',
    '-text',
  ]);
  const text = `${result.stdout}\n${result.stderr}`;
  return { ok: result.code === 0 && text.includes('verify OK'), text };
}

interface Setup {
  readonly pki: TestPki;
  readonly clock: FixedClock;
  readonly store: SqliteLedgerStore;
  readonly authority: CertificateAuthority;
  readonly chain: TestChain;
  readonly registry: Registry;
  readonly ledger: { down: boolean } & Pick<InventoryQuery, 'revocations'>;
  readonly publisher: CrlPublisher;
  readonly issuer: string;
}

async function setup(): Promise<Setup> {
  const pki = await createTestPki({ name: 'crl' });
  const clock = new FixedClock(new Date());
  const store = new SqliteLedgerStore({ path: join(tempDir(), 'ledger.db') }, clock);
  await store.open();
  const authority = new CertificateAuthority({ verifyIssued: false });
  authority.install(pki.material());
  const registry = new Registry();
  const ledger = {
    down: false,
    revocations(...args: Parameters<InventoryQuery['revocations']>) {
      return this.down ? Promise.reject(new Error('database down')) : store.revocations(...args);
    },
  };
  const publisher = new CrlPublisher(
    { validityMs: 2 * HOUR, checkIntervalMs: 1000, backdateMs: MINUTE },
    { authority, ledger, clock, logger: silentLogger(), metrics: new LedgerMetrics(registry) },
  );
  return {
    pki,
    clock,
    store,
    authority,
    chain: new TestChain(),
    registry,
    ledger,
    publisher,
    issuer: pki.signing.cert.sha256,
  };
}

describe('CrlPublisher', () => {
  let s: Setup;
  beforeEach(async () => {
    s = await setup();
  });
  afterEach(async () => {
    await s.store.close();
  });

  /** Issues a certificate (recorded), returning its serial. */
  async function issue(
    options: { pod?: string; ttlMs?: number; issuer?: string } = {},
  ): Promise<string> {
    const record = s.chain.issuance({
      timeMs: s.clock.now().getTime(),
      ttlMs: options.ttlMs ?? HOUR,
      issuer: options.issuer ?? s.issuer,
      pod: { name: options.pod ?? 'web-1', uid: `uid-${options.pod ?? 'web-1'}` },
    });
    await s.store.append([record]);
    return serialOf(record);
  }

  async function retirePod(pod: string): Promise<void> {
    const now = s.clock.now();
    await s.store.append([
      s.chain.next(
        {
          type: 'retire',
          time: now.toISOString(),
          reason: 'pod-deleted',
          serials: [],
          pod: { namespace: 'shop', name: pod, uid: `uid-${pod}` },
        },
        now.getTime(),
      ),
    ]);
  }

  async function revoke(serial: string, reason = 'keyCompromise'): Promise<void> {
    const now = s.clock.now();
    await s.store.append([
      s.chain.next(
        { type: 'revoke', time: now.toISOString(), serials: [serial], reason, by: 'alice' },
        now.getTime(),
      ),
    ]);
  }

  it('signs an empty CRL before anything is revoked, with the validity asked for', async () => {
    await s.publisher.checkNow();
    const crl = s.publisher.current();
    expect(crl).toBeDefined();
    expect(crl?.entries).toEqual([]);
    expect(crl?.issuerFingerprint).toBe(s.issuer);
    expect(crl?.thisUpdate.getTime()).toBe(s.clock.now().getTime() - MINUTE);
    expect(crl?.nextUpdate.getTime()).toBe(s.clock.now().getTime() + 2 * HOUR);
    expect(await metric(s.registry, 'meshca_revoked_certificates')).toBe(0);
  });

  (opensslMissing === undefined ? it : it.skip)(
    'lists retired and revoked serials of the intermediate, with their reasons, verified by openssl',
    async () => {
      const retired = await issue({ pod: 'web-1' });
      const revoked = await issue({ pod: 'web-2' });
      const active = await issue({ pod: 'web-3' });
      const otherIssuer = await issue({ pod: 'web-4', issuer: 'f'.repeat(64) });
      await retirePod('web-1');
      await retirePod('web-4');
      await revoke(revoked);
      await s.publisher.checkNow();
      const crl = s.publisher.current();
      if (crl === undefined) throw new Error('no CRL');
      expect(crl.entries.map((entry) => [entry.serialHex, entry.reason]).sort()).toEqual(
        [
          [retired, 'cessationOfOperation'],
          [revoked, 'keyCompromise'],
        ].sort(),
      );
      const { ok, text } = await openssl(crl, s.pki.signing.cert.pem);
      expect(ok).toBe(true);
      expect(text).toContain(`Serial Number: ${retired.toUpperCase()}`);
      expect(text).toContain(`Serial Number: ${revoked.toUpperCase()}`);
      expect(text).not.toContain(active.toUpperCase());
      expect(text).not.toContain(otherIssuer.toUpperCase());
      expect(text).toMatch(/Cessation Of Operation/);
      expect(text).toMatch(/Key Compromise/);
      expect(text).toMatch(/X509v3 Authority Key Identifier/);
      expect(text).toContain(`X509v3 CRL Number: \n                ${crl.crlNumber.toString()}`);
      expect(await metric(s.registry, 'meshca_revoked_certificates')).toBe(2);
    },
  );

  it('backdates thisUpdate, never before the newest revocation it lists', async () => {
    await s.publisher.checkNow();
    expect(s.publisher.current()?.thisUpdate.getTime()).toBe(s.clock.now().getTime() - MINUTE);
    const serial = await issue({ ttlMs: 3 * HOUR });
    s.clock.advance(30_000);
    await revoke(serial);
    s.clock.advance(10_000);
    await s.publisher.checkNow();
    const crl = s.publisher.current();
    expect(crl?.entries[0]?.revokedAt.getTime()).toBe(s.clock.now().getTime() - 10_000);
    expect(crl?.thisUpdate.getTime()).toBe(s.clock.now().getTime() - 10_000);
  });

  it('re-signs on change only, then once half the validity has passed, with ever larger numbers', async () => {
    const signed: PublishedCrl[] = [];
    s.publisher.onChange((crl) => signed.push(crl));
    await s.publisher.checkNow();
    await s.publisher.checkNow();
    expect(signed).toHaveLength(1);

    await revoke(await issue({ ttlMs: 3 * HOUR }));
    s.clock.advance(1000);
    await s.publisher.checkNow();
    expect(signed).toHaveLength(2);
    expect(signed[1]?.entries).toHaveLength(1);

    // Re-signed once half of the 2h validity has passed since it was signed.
    s.clock.advance(HOUR - 1);
    await s.publisher.checkNow();
    expect(signed).toHaveLength(2);
    s.clock.advance(1);
    await s.publisher.checkNow();
    expect(signed).toHaveLength(3);
    expect(signed[2]?.entries).toEqual(signed[1]?.entries);
    expect(signed[2]!.nextUpdate.getTime()).toBe(s.clock.now().getTime() + 2 * HOUR);

    const numbers = signed.map((crl) => crl.crlNumber);
    expect([...numbers].sort((a, b) => (a < b ? -1 : 1))).toEqual(numbers);
    expect(new Set(numbers).size).toBe(numbers.length);
    // The signing time in nanoseconds: comparable across replicas and restarts.
    const ms = Number(numbers[2]! / 1_000_000n);
    expect(ms).toBe(s.clock.now().getTime());
  });

  it('numbers CRLs above the last one even when the clock does not move', async () => {
    s.publisher.onChange(() => undefined);
    const numbers: bigint[] = [];
    for (let i = 0; i < 5; i++) {
      await revoke(await issue({ pod: `p-${i}` }));
      await s.publisher.checkNow();
      numbers.push(s.publisher.current()!.crlNumber);
    }
    for (let i = 1; i < numbers.length; i++) expect(numbers[i]! > numbers[i - 1]!).toBe(true);
  });

  it('numbers the CRLs of another process (a restart, a second replica) above those signed before', async () => {
    await s.publisher.checkNow();
    const first = s.publisher.current()!.crlNumber;
    s.clock.advance(1);
    const restarted = new CrlPublisher(
      { validityMs: 2 * HOUR, checkIntervalMs: 1000, backdateMs: MINUTE },
      {
        authority: s.authority,
        ledger: s.ledger,
        clock: s.clock,
        logger: silentLogger(),
        metrics: new LedgerMetrics(new Registry()),
      },
    );
    await restarted.checkNow();
    expect(restarted.current()!.crlNumber > first).toBe(true);
  });

  it('drops an entry once its certificate has expired', async () => {
    const short = await issue({ pod: 'short', ttlMs: 10 * MINUTE });
    const long = await issue({ pod: 'long', ttlMs: HOUR });
    await retirePod('short');
    await retirePod('long');
    await s.publisher.checkNow();
    expect(
      s.publisher
        .current()
        ?.entries.map((entry) => entry.serialHex)
        .sort(),
    ).toEqual([short, long].sort());
    s.clock.advance(11 * MINUTE);
    await s.publisher.checkNow();
    expect(s.publisher.current()?.entries.map((entry) => entry.serialHex)).toEqual([long]);
  });

  it('re-signs with a new intermediate at once, listing only what it issued', async () => {
    await revoke(await issue());
    await s.publisher.checkNow();
    const before = s.publisher.current();
    const next = await createTestPki({ name: 'next' });
    s.authority.install(next.material());
    await s.publisher.checkNow();
    const after = s.publisher.current();
    expect(after?.issuerFingerprint).toBe(next.signing.cert.sha256);
    expect(after?.entries).toEqual([]);
    expect(after?.crlNumber).not.toBe(before?.crlNumber);
  });

  it('keeps and re-signs the last list while the ledger cannot be read, dropping expired entries', async () => {
    const short = await issue({ pod: 'short', ttlMs: 30 * MINUTE });
    const long = await issue({ pod: 'long', ttlMs: 3 * HOUR });
    await revoke(short);
    await revoke(long);
    await s.publisher.checkNow();
    const [check] = s.publisher.readiness();
    expect(check?.severity).toBe('informational');
    expect(check?.check()).toBeUndefined();

    s.ledger.down = true;
    s.clock.advance(HOUR);
    await s.publisher.checkNow();
    const crl = s.publisher.current();
    expect(crl?.entries.map((entry) => entry.serialHex)).toEqual([long]);
    expect(crl?.nextUpdate.getTime()).toBe(s.clock.now().getTime() + 2 * HOUR);
    expect(check?.check()).toMatch(/ledger unreadable \(database down\); the CRL of .* is kept/);

    s.ledger.down = false;
    await s.publisher.checkNow();
    expect(check?.check()).toBeUndefined();
  });

  it('signs nothing until the ledger has been read once', async () => {
    s.ledger.down = true;
    await s.publisher.checkNow();
    expect(s.publisher.current()).toBeUndefined();
    expect(s.publisher.readiness()[0]?.check()).toBe(
      'no CRL signed yet (ledger unreadable: database down)',
    );
  });

  it('follows the authority and its own loop once started, and stops on close', async () => {
    const controller = new AbortController();
    await s.publisher.start(controller.signal);
    const first = s.publisher.current();
    expect(first).toBeDefined();
    await revoke(await issue());
    s.publisher.refresh();
    const deadline = Date.now() + 5000;
    while (s.publisher.current() === first && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(s.publisher.current()?.entries).toHaveLength(1);
    await s.publisher.close();
    controller.abort();
  });

  it('refuses a check interval that leaves no room before nextUpdate', () => {
    expect(
      () =>
        new CrlPublisher(
          { validityMs: 1000, checkIntervalMs: 1000, backdateMs: 0 },
          {
            authority: s.authority,
            ledger: s.ledger,
            clock: s.clock,
            logger: silentLogger(),
            metrics: new LedgerMetrics(new Registry()),
          },
        ),
    ).toThrow(TypeError);
  });
});

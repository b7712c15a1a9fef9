/**
 * CaReloader: good material is installed, broken material refused while the current one keeps
 * serving (metric + log), material not valid yet is retried, and a staged root rotation goes
 * through the guard rails stage by stage on a pinned clock.
 */
import {
  CaMaterialError,
  CaReloader,
  CertificateAuthority,
  type CaMaterialSource,
  type SigningAuthority,
} from '../../src/ca/index.js';
import { FixedClock } from '../../src/clock.js';
import { CaMetrics } from '../../src/metrics/index.js';
import { metricValue } from '../support/metrics.js';
import { memoryLogger } from '../support/server.js';
import { DAY, HOUR, makeCa } from './fixtures.js';
import { rotationStages, type RotationStages } from './rotation-fixtures.js';
import { generateCaKey } from '../../src/ca/index.js';

const MAX_LEAF_MS = HOUR;
const T0 = new Date(Math.floor(Date.now() / 1000) * 1000);

function setup(options: { readonly rotationChecks?: boolean } = {}) {
  const clock = new FixedClock(T0);
  const authority = new CertificateAuthority({ verifyIssued: true });
  const metrics = new CaMetrics({ collectProcessMetrics: false });
  const { logger, lines } = memoryLogger();
  const reloader = new CaReloader(
    authority,
    { rotationChecks: options.rotationChecks ?? true, maxLeafTtlMs: MAX_LEAF_MS },
    { logger, metrics, clock },
  );
  const installed: SigningAuthority[] = [];
  authority.onChange((next) => installed.push(next));
  return {
    clock,
    authority,
    metrics,
    reloader,
    installed,
    logs: () => lines().map((line) => JSON.parse(line) as Record<string, unknown>),
    reloads: async () => ({
      loaded: await metricValue(metrics, 'meshca_ca_reloads_total', { result: 'loaded' }),
      rejected: await metricValue(metrics, 'meshca_ca_reloads_total', { result: 'rejected' }),
    }),
    signing: () => authority.current().material.signingCert.sha256,
    roots: () => authority.current().material.trustBundle.fingerprints,
  };
}

describe('CaReloader', () => {
  let stages: RotationStages;

  beforeAll(async () => {
    stages = await rotationStages(T0);
  });

  it('installs the first material, counts it, publishes its expiry and becomes ready', async () => {
    const ca = setup();
    expect(ca.reloader.readiness().map((check) => [check.name, check.check()])).toEqual([
      ['ca', 'no CA material loaded'],
      ['roots', 'no trust bundle loaded'],
    ]);
    expect(ca.reloader.offer(stages.aOnly, 'test')).toBe(true);
    expect(ca.signing()).toBe(stages.a.signing.cert.sha256);
    expect(ca.installed).toHaveLength(1);
    expect(await ca.reloads()).toEqual({ loaded: 1, rejected: 0 });
    const expiry = (certificate: string): Promise<number> =>
      metricValue(ca.metrics, 'meshca_certificate_expiry_timestamp_seconds', { certificate });
    expect(await expiry('signing')).toBe(stages.a.signing.cert.notAfter.getTime() / 1000);
    expect(await expiry('root')).toBe(stages.a.root.cert.notAfter.getTime() / 1000);
    expect(ca.reloader.readiness().map((check) => check.check())).toEqual([undefined, undefined]);
    expect(ca.logs()).toContainEqual(
      expect.objectContaining({ msg: 'CA material loaded', origin: 'test' }),
    );
  });

  it('throws when the first material is unusable: meshca cannot serve without a CA', async () => {
    const ca = setup();
    const broken = { ...stages.aOnly, caKeyPem: stages.b.files.caKeyPem };
    expect(() => ca.reloader.offer(broken, 'test')).toThrow(CaMaterialError);
    expect(ca.authority.ready).toBe(false);
    expect(await ca.reloads()).toEqual({ loaded: 0, rejected: 1 });
  });

  it.each<[string, (s: RotationStages) => CaMaterialSource, RegExp]>([
    [
      'a key that does not match',
      (s) => ({ ...s.aOnly, caKeyPem: s.b.files.caKeyPem }),
      /does not match the public key/,
    ],
    ['an unreadable key', (s) => ({ ...s.aOnly, caKeyPem: 'not a key' }), /ca-key.pem/],
    [
      'a signing certificate that chains to no root given',
      (s) => ({ ...s.aOnly, certChainPem: undefined, rootCertPem: s.b.files.rootCertPem }),
      /does not chain to a root/,
    ],
    ['an empty certificate', (s) => ({ ...s.aOnly, caCertPem: '' }), /ca-cert.pem/],
  ])(
    'refuses %s later on, keeps the current material, counts and logs it',
    async (_n, make, reason) => {
      const ca = setup();
      ca.reloader.offer(stages.aOnly, 'first');
      const before = ca.authority.current();
      expect(ca.reloader.offer(make(stages), 'second')).toBe(false);
      expect(ca.authority.current()).toBe(before);
      expect(ca.installed).toHaveLength(1);
      expect(await ca.reloads()).toEqual({ loaded: 1, rejected: 1 });
      const refusal = ca
        .logs()
        .find((line) => line['msg'] === 'new CA material refused; keeping the current material');
      expect(refusal).toMatchObject({ origin: 'second', level: 50 });
      expect(String(refusal?.['err'])).toMatch(reason);
      // The private key never reaches the log.
      expect(JSON.stringify(ca.logs())).not.toContain('PRIVATE KEY');
    },
  );

  it('does not verify or count the same bytes twice', async () => {
    const ca = setup();
    ca.reloader.offer(stages.aOnly, 'test');
    const broken = { ...stages.aOnly, caKeyPem: stages.b.files.caKeyPem };
    expect(ca.reloader.offer(stages.aOnly, 'test')).toBe(false);
    ca.reloader.offer(broken, 'test');
    ca.reloader.offer(broken, 'test');
    expect(await ca.reloads()).toEqual({ loaded: 1, rejected: 1 });
    expect(ca.installed).toHaveLength(1);
  });

  it('retries material that is not valid yet, and installs it once its time has come', async () => {
    const ca = setup();
    ca.reloader.offer(stages.aOnly, 'test');
    // A new intermediate under root A, valid from tomorrow (issued on a clock ahead of ours).
    const key = generateCaKey('ec-p256');
    const early = await makeCa('A early intermediate', {
      issuer: { cert: stages.a.root.cert, key: stages.a.root.key },
      key,
      notBefore: new Date(T0.getTime() + DAY),
      notAfter: new Date(T0.getTime() + 30 * DAY),
    });
    const source: CaMaterialSource = {
      caCertPem: early.cert.pem,
      caKeyPem: key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      certChainPem: stages.a.root.cert.pem,
      rootCertPem: stages.a.root.cert.pem,
    };
    expect(ca.reloader.offer(source, 'test')).toBe(false);
    expect(String(ca.logs().at(-1)?.['err'])).toMatch(/not valid before/);
    ca.reloader.retryPending();
    expect(ca.signing()).toBe(stages.a.signing.cert.sha256);
    ca.clock.advance(DAY);
    ca.reloader.retryPending();
    expect(ca.signing()).toBe(early.cert.sha256);
    // Counted once: the retries that were still too early are not new refusals.
    expect(await ca.reloads()).toEqual({ loaded: 2, rejected: 1 });
    // Nothing is pending any more.
    ca.reloader.retryPending();
    expect(ca.installed).toHaveLength(2);
  });

  it('drops what was pending when other material is offered', () => {
    const ca = setup();
    ca.reloader.offer(stages.aOnly, 'test');
    expect(ca.reloader.offer(stages.bBoth, 'test')).toBe(false); // refused for now
    ca.reloader.offer(stages.aBoth, 'test'); // something else comes
    ca.clock.advance(2 * MAX_LEAF_MS);
    ca.reloader.retryPending();
    expect(ca.signing()).toBe(stages.a.signing.cert.sha256);
  });

  it('walks a staged root rotation, refusing every skipped stage until its time', async () => {
    const ca = setup();
    const A = stages.a.root.cert.sha256;
    const B = stages.b.root.cert.sha256;
    const refusedFor = (): string => {
      const line = ca
        .logs()
        .filter(
          (entry) =>
            entry['msg'] ===
            'new CA material refused by the rotation checks; keeping the current material',
        )
        .at(-1);
      return String(line?.['reason']);
    };

    // Stage 0.
    expect(ca.reloader.offer(stages.aOnly, 'cacerts')).toBe(true);
    // Switching straight to B is refused: no workload trusts B yet.
    expect(ca.reloader.offer(stages.bOnly, 'cacerts')).toBe(false);
    expect(refusedFor()).toMatch(/not in the trust bundle workloads have now/);
    expect(ca.reloader.offer(stages.bBoth, 'cacerts')).toBe(false);
    expect(refusedFor()).toMatch(/not in the trust bundle workloads have now/);
    expect(ca.signing()).toBe(stages.a.signing.cert.sha256);

    // Stage 1: publish B too.
    expect(ca.reloader.offer(stages.aBoth, 'cacerts')).toBe(true);
    expect(new Set(ca.roots())).toEqual(new Set([A, B]));

    // Stage 3 too early; the same offer keeps being refused until one leaf lifetime has passed.
    ca.clock.advance(MAX_LEAF_MS / 2);
    expect(ca.reloader.offer(stages.bBoth, 'cacerts')).toBe(false);
    expect(refusedFor()).toMatch(/published only since/);
    ca.reloader.retryPending();
    expect(ca.signing()).toBe(stages.a.signing.cert.sha256);
    ca.clock.advance(MAX_LEAF_MS / 2);
    ca.reloader.retryPending();
    expect(ca.signing()).toBe(stages.b.signing.cert.sha256);

    // Stage 4 too early: leaves signed under A moments ago are valid for one more lifetime.
    expect(ca.reloader.offer(stages.bOnly, 'cacerts')).toBe(false);
    expect(refusedFor()).toMatch(/certificates issued under it are valid until/);
    ca.clock.advance(MAX_LEAF_MS - 1000);
    ca.reloader.retryPending();
    expect(ca.roots()).toContain(A);
    ca.clock.advance(2000);
    ca.reloader.retryPending();
    expect(ca.roots()).toEqual([B]);

    // Four fresh offers refused; the retries of a refused offer are not counted again.
    expect(await ca.reloads()).toEqual({ loaded: 4, rejected: 4 });
    expect(ca.installed).toHaveLength(4);
  });

  it('refuses dropping the root the current intermediate chains to, even when B is trusted', () => {
    const ca = setup();
    ca.reloader.offer(stages.aBoth, 'cacerts');
    ca.clock.advance(2 * MAX_LEAF_MS);
    expect(ca.reloader.offer(stages.bOnly, 'cacerts')).toBe(false);
    expect(ca.signing()).toBe(stages.a.signing.cert.sha256);
  });

  it('lets every change through when the rotation checks are off (an emergency)', () => {
    const ca = setup({ rotationChecks: false });
    ca.reloader.offer(stages.aOnly, 'cacerts');
    expect(ca.reloader.offer(stages.bOnly, 'cacerts')).toBe(true);
    expect(ca.signing()).toBe(stages.b.signing.cert.sha256);
  });

  it('is not ready once the CA has expired', () => {
    const ca = setup();
    ca.reloader.offer(stages.aOnly, 'cacerts');
    ca.clock.advance(366 * DAY);
    const [caCheck] = ca.reloader.readiness();
    expect(caCheck?.check()).toMatch(/^the CA expired at /);
  });
});

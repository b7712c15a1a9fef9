/**
 * IstiodCertificateController against the fake API server: it creates `istiod-tls` with the right
 * names, key and bundle, leaves a current Secret alone, renews at two thirds of the lifetime,
 * re-issues on a CA change or an edit, refuses a Secret another controller owns, and writes only
 * while leading.
 */
import { X509Certificate, createPublicKey } from 'node:crypto';
import { CertificateAuthority, createTrustBundle } from '../../src/ca/index.js';
import { FixedClock, systemClock, type Clock } from '../../src/clock.js';
import {
  IstiodCertificateController,
  istiodDnsNames,
  type IstiodCertificateOptions,
} from '../../src/istiod/index.js';
import { CaMetrics } from '../../src/metrics/index.js';
import { FakeKubeApiServer, type FakeObject } from '../fakes/index.js';
import { eventually } from '../support/kube.js';
import { metricValue } from '../support/metrics.js';
import { createTestPki, type TestPki } from '../support/pki.js';
import { memoryLogger } from '../support/server.js';

const NAMESPACE = 'istio-system';
const SECRET = 'istiod-tls';
const TTL_SECONDS = 3600;
const BACKDATE_SECONDS = 60;
const NAMES = ['istiod.istio-system.svc', 'istiod-canary.istio-system.svc', 'istiod.example.com'];

interface Secret extends FakeObject {
  type?: string;
  data?: Record<string, string>;
}

/** What a Secret holds, decoded. */
interface Contents {
  readonly leaf: X509Certificate;
  readonly chain: X509Certificate[];
  readonly keyPem: string;
  readonly caPem: string;
  readonly keys: string[];
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('istiodDnsNames', () => {
  it.each([
    [['default'], [], ['istiod.istio-system.svc']],
    [['canary'], [], ['istiod-canary.istio-system.svc']],
    [
      ['default', '1-24'],
      ['istiod.istio-system.svc', 'extra.example'],
      ['istiod.istio-system.svc', 'istiod-1-24.istio-system.svc', 'extra.example'],
    ],
  ])('revisions %j with extras %j', (revisions, extraDnsNames, expected) => {
    expect(istiodDnsNames({ namespace: NAMESPACE, revisions, extraDnsNames })).toEqual(expected);
  });
});

describe('IstiodCertificateController', () => {
  let pkiA: TestPki;
  let pkiB: TestPki;
  let server: FakeKubeApiServer;
  let controller: IstiodCertificateController | undefined;

  beforeAll(async () => {
    pkiA = await createTestPki({ name: 'A' });
    pkiB = await createTestPki({ name: 'B' });
  });
  beforeEach(async () => {
    server = await FakeKubeApiServer.start();
    server.store.create('namespaces', { metadata: { name: NAMESPACE } });
  });
  afterEach(async () => {
    await controller?.close();
    controller = undefined;
    await server.close();
  });

  async function start(
    options: Partial<IstiodCertificateOptions> = {},
    {
      leading = true,
      clock = new FixedClock(new Date()),
    }: { leading?: boolean; clock?: Clock } = {},
  ) {
    const authority = new CertificateAuthority({ verifyIssued: true });
    authority.install(pkiA.material());
    const metrics = new CaMetrics({ collectProcessMetrics: false });
    const { logger, lines } = memoryLogger();
    controller = new IstiodCertificateController(
      server.client(),
      authority,
      {
        namespace: NAMESPACE,
        secretName: SECRET,
        revisions: ['default', 'canary'],
        extraDnsNames: ['istiod.example.com'],
        ttlSeconds: TTL_SECONDS,
        backdateSeconds: BACKDATE_SECONDS,
        keyType: 'ec',
        requestTimeoutMs: 2000,
        ...options,
      },
      { logger, metrics, clock },
    );
    await controller.start(new AbortController().signal);
    await eventually('watching', () => (server.openWatches >= 1 ? true : undefined));
    if (leading) controller.setLeading(true);
    return {
      controller,
      authority,
      metrics,
      logs: () => lines().map((line) => JSON.parse(line) as Record<string, unknown>),
      errors: () =>
        metricValue(metrics, 'meshca_reconcile_errors_total', { controller: 'istiod-tls' }),
    };
  }

  const secret = (): Secret | undefined => server.store.get('secrets', NAMESPACE, SECRET);
  const writes = () =>
    server.requests.filter(
      (request) => request.method !== 'GET' && request.path.includes('/secrets'),
    );
  const contents = (): Contents => {
    const data = secret()?.data ?? {};
    const text = (key: string): string => Buffer.from(data[key] ?? '', 'base64').toString('utf8');
    const chainPem = text('tls.crt');
    const chain = chainPem
      .split(/(?<=-----END CERTIFICATE-----\n)/)
      .filter((block) => block.trim() !== '')
      .map((block) => new X509Certificate(block));
    return {
      leaf: chain[0]!,
      chain,
      keyPem: text('tls.key'),
      caPem: text('ca.crt'),
      keys: Object.keys(data).sort(),
    };
  };
  const serial = (): string | undefined =>
    secret() === undefined ? undefined : contents().leaf.serialNumber;
  const dnsNames = (cert: X509Certificate): string[] =>
    (cert.subjectAltName ?? '').split(', ').map((name) => name.replace(/^DNS:/, ''));

  it.each(['ec', 'rsa'] as const)(
    'creates istiod-tls (%s key) as istiod reads it',
    async (keyType) => {
      const { metrics, logs } = await start({ keyType });
      await eventually('created', () => secret());
      const s = secret()!;
      expect(s.type).toBe('kubernetes.io/tls');
      expect(s.metadata?.labels).toEqual({ 'app.kubernetes.io/managed-by': 'meshca' });
      const { leaf, chain, keyPem, caPem, keys } = contents();
      expect(keys).toEqual(['ca.crt', 'tls.crt', 'tls.key']);
      expect(dnsNames(leaf).sort()).toEqual([...NAMES].sort());
      // Leaf then the signing intermediate, which issued it; the bundle is the CA's.
      const material = pkiA.material();
      expect(chain.map((cert) => cert.fingerprint256)).toEqual([
        leaf.fingerprint256,
        material.signingCert.x509.fingerprint256,
      ]);
      expect(leaf.checkIssued(material.signingCert.x509)).toBe(true);
      expect(leaf.verify(material.signingCert.x509.publicKey)).toBe(true);
      expect(caPem).toBe(material.trustBundle.pem);
      expect(
        createPublicKey(keyPem)
          .export({ type: 'spki', format: 'der' })
          .equals(leaf.publicKey.export({ type: 'spki', format: 'der' })),
      ).toBe(true);
      expect(leaf.publicKey.asymmetricKeyType).toBe(keyType);
      const lifetime = (Date.parse(leaf.validTo) - Date.parse(leaf.validFrom)) / 1000;
      expect(lifetime).toBe(TTL_SECONDS + BACKDATE_SECONDS);
      expect(
        await metricValue(metrics, 'meshca_certificate_expiry_timestamp_seconds', {
          certificate: 'istiod',
        }),
      ).toBe(Date.parse(leaf.validTo) / 1000);
      expect(logs()).toContainEqual(expect.objectContaining({ msg: 'istiod certificate issued' }));
      // The private key never reaches the log.
      expect(JSON.stringify(logs())).not.toContain('PRIVATE KEY');
    },
  );

  it('writes only while leading', async () => {
    const { controller: c } = await start({}, { leading: false });
    await sleep(500);
    expect(writes()).toEqual([]);
    c.setLeading(true);
    await eventually('created', () => secret());
    c.setLeading(false);
    server.store.delete('secrets', NAMESPACE, SECRET);
    await sleep(500);
    expect(secret()).toBeUndefined();
  });

  it('leaves a current, exact Secret alone, and renews it at two thirds of its lifetime', async () => {
    const clock = new FixedClock(new Date());
    const { controller: c } = await start({}, { clock });
    await eventually('created', () => secret());
    const first = serial();
    // A reconcile before the renewal point changes nothing.
    clock.advance(((TTL_SECONDS * 2) / 3 - 10) * 1000);
    c.setLeading(true);
    await sleep(400);
    expect(writes()).toHaveLength(1);
    expect(serial()).toBe(first);
    // Past it, the next reconcile renews.
    clock.advance(20_000);
    c.setLeading(true);
    await eventually('renewed', () => (serial() !== first ? true : undefined));
    expect(writes().map((request) => request.method)).toEqual(['POST', 'PUT']);
  });

  it('renews on its own timer when the lifetime is short', async () => {
    await start({ ttlSeconds: 3, backdateSeconds: 0 }, { clock: systemClock });
    await eventually('created', () => secret());
    const first = serial();
    // Due two seconds after issuance.
    await eventually('renewed', () => (serial() !== first ? true : undefined), 6000);
  });

  it('re-issues under the new intermediate when the CA material changes', async () => {
    const { authority } = await start();
    await eventually('created', () => secret());
    authority.install(pkiB.material());
    const b = pkiB.material();
    await eventually('re-issued', () =>
      contents().leaf.checkIssued(b.signingCert.x509) ? true : undefined,
    );
    expect(contents().caPem).toBe(b.trustBundle.pem);
  });

  it('re-issues when only the trust bundle changes', async () => {
    const { authority } = await start();
    await eventually('created', () => secret());
    const first = serial();
    const both = pkiA.material();
    const widened = { ...both, trustBundle: createTrustBundle([pkiA.root.cert, pkiB.root.cert]) };
    authority.install(widened);
    await eventually('re-issued', () =>
      contents().caPem === widened.trustBundle.pem ? true : undefined,
    );
    expect(serial()).not.toBe(first);
  });

  it.each<[string, (s: Secret) => Secret | undefined]>([
    [
      'an edited ca.crt',
      (s) => ({ ...s, data: { ...s.data, 'ca.crt': Buffer.from('x').toString('base64') } }),
    ],
    ['an extra key', (s) => ({ ...s, data: { ...s.data, extra: 'eA==' } })],
    [
      'a key that does not match',
      (s) => ({
        ...s,
        data: {
          ...s.data,
          'tls.key': Buffer.from(pkiB.files.caKeyPem).toString('base64'),
        },
      }),
    ],
    ['unreadable content', (s) => ({ ...s, data: { ...s.data, 'tls.crt': 'bm90IGEgY2VydA==' } })],
    ['a deletion', () => undefined],
  ])('re-issues after %s', async (_name, edit) => {
    await start();
    await eventually('created', () => secret());
    const first = serial();
    const edited = edit(secret()!);
    if (edited === undefined) server.store.delete('secrets', NAMESPACE, SECRET);
    else server.store.update('secrets', edited);
    await eventually('re-issued', () =>
      secret() && serial() !== first && contents().keys.length === 3 ? true : undefined,
    );
    expect(contents().caPem).toBe(pkiA.material().trustBundle.pem);
  });

  it.each([
    [
      'managed by cert-manager',
      {
        metadata: { annotations: { 'cert-manager.io/certificate-name': 'istiod' } },
        type: 'kubernetes.io/tls',
      },
      /managed by the cert-manager Certificate istiod/,
    ],
    ['of another type', { metadata: {}, type: 'Opaque' }, /of type Opaque, not kubernetes.io\/tls/],
  ])('refuses to overwrite a Secret %s, and says why', async (_name, shape, reason) => {
    server.store.create('secrets', {
      ...shape,
      metadata: { ...shape.metadata, namespace: NAMESPACE, name: SECRET },
      data: { 'tls.crt': 'b3RoZXI=' },
    });
    const { errors, logs } = await start();
    await eventually('refused', () =>
      logs().some((line) => line['msg'] === 'istiod certificate not written') ? true : undefined,
    );
    expect(
      String(logs().find((line) => line['msg'] === 'istiod certificate not written')?.['reason']),
    ).toMatch(reason);
    expect(await errors()).toBeGreaterThanOrEqual(1);
    await sleep(300);
    expect(writes()).toEqual([]);
    expect(secret()?.data).toEqual({ 'tls.crt': 'b3RoZXI=' });
  });

  it('counts a failed write and retries it', async () => {
    server.fail({ method: 'POST', path: '/secrets', status: 500, times: 1 });
    const { errors } = await start();
    await eventually('created', () => secret());
    expect(await errors()).toBe(1);
    expect(writes().map((request) => request.status)).toEqual([500, 201]);
  });

  it('stops writing on close', async () => {
    const { controller: c } = await start();
    await eventually('created', () => secret());
    await c.close();
    controller = undefined;
    server.store.delete('secrets', NAMESPACE, SECRET);
    await sleep(400);
    expect(secret()).toBeUndefined();
    expect(server.openWatches).toBe(0);
  });
});

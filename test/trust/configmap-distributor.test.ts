/**
 * TrustBundleDistributor against the fake API server: creation in every selected namespace,
 * repairs that keep foreign labels, deletion of our own ConfigMap when a namespace leaves the
 * selector, terminating namespaces, new bundles, only the leader writing, errors and the rate limit.
 */
import { CertificateAuthority } from '../../src/ca/index.js';
import { CaMetrics } from '../../src/metrics/index.js';
import {
  ISTIO_CONFIG_LABEL,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  ROOT_CERT_KEY,
  TrustBundleDistributor,
  type TrustBundleDistributorOptions,
} from '../../src/trust/index.js';
import { FakeKubeApiServer, type FakeObject } from '../fakes/index.js';
import { eventually } from '../support/kube.js';
import { metricValue } from '../support/metrics.js';
import { createTestPki, type TestPki } from '../support/pki.js';
import { memoryLogger } from '../support/server.js';

const NAME = 'istio-ca-root-cert';
const OURS = { [ISTIO_CONFIG_LABEL]: 'true', [MANAGED_BY_LABEL]: MANAGED_BY_VALUE };

interface ConfigMap extends FakeObject {
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('TrustBundleDistributor', () => {
  let pkiA: TestPki;
  let pkiB: TestPki;
  let server: FakeKubeApiServer;
  let distributor: TrustBundleDistributor | undefined;

  beforeAll(async () => {
    pkiA = await createTestPki({ name: 'A' });
    pkiB = await createTestPki({ name: 'B' });
  });
  beforeEach(async () => {
    server = await FakeKubeApiServer.start();
  });
  afterEach(async () => {
    await distributor?.close();
    distributor = undefined;
    await server.close();
  });

  function namespace(name: string, labels: Record<string, string> = {}): void {
    server.store.create('namespaces', { metadata: { name, labels } });
  }

  async function start(
    options: Partial<TrustBundleDistributorOptions> = {},
    { leading = true }: { readonly leading?: boolean } = {},
  ) {
    const authority = new CertificateAuthority({ verifyIssued: false });
    authority.install(pkiA.material());
    const metrics = new CaMetrics({ collectProcessMetrics: false });
    const { logger, lines } = memoryLogger();
    distributor = new TrustBundleDistributor(
      server.client(),
      authority,
      {
        configMapName: NAME,
        namespaceSelector: '',
        excludedNamespaces: ['kube-public'],
        resyncMs: 0,
        requestTimeoutMs: 2000,
        writesPerSecond: 100,
        ...options,
      },
      { logger, metrics },
    );
    await distributor.start(new AbortController().signal);
    // Both informers listed and are watching.
    await eventually('informers watching', () =>
      server.requestsMatching({ watch: true }).length >= 2 && server.openWatches >= 2
        ? true
        : undefined,
    );
    if (leading) distributor.setLeading(true);
    return {
      distributor,
      authority,
      metrics,
      logs: () => lines().map((line) => JSON.parse(line) as Record<string, unknown>),
      writes: async (action: 'created' | 'updated' | 'deleted') =>
        metricValue(metrics, 'meshca_trust_bundle_configmap_writes_total', { action }),
      errors: () =>
        metricValue(metrics, 'meshca_reconcile_errors_total', { controller: 'trust-bundle' }),
    };
  }

  const configMap = (ns: string): ConfigMap | undefined => server.store.get('configmaps', ns, NAME);
  const exact = (ns: string, pem = pkiA.files.rootCertPem): true | undefined => {
    const cm = configMap(ns);
    return cm !== undefined &&
      JSON.stringify(cm.data) === JSON.stringify({ [ROOT_CERT_KEY]: pem }) &&
      cm.binaryData === undefined &&
      cm.metadata?.labels?.[ISTIO_CONFIG_LABEL] === 'true'
      ? true
      : undefined;
  };
  const writeRequests = () =>
    server.requests.filter(
      (request) => request.method !== 'GET' && request.path.includes('/configmaps'),
    );

  it('creates the ConfigMap in every namespace but the excluded ones', async () => {
    for (const name of ['a', 'b', 'kube-public']) namespace(name);
    const { writes } = await start();
    await eventually('a and b', () => (exact('a') && exact('b') ? true : undefined));
    expect(configMap('a')?.metadata?.labels).toEqual(OURS);
    // The bundle is the CA's canonical PEM, byte for byte.
    expect(configMap('a')?.data?.[ROOT_CERT_KEY]).toBe(pkiA.material().trustBundle.pem);
    await sleep(200);
    expect(configMap('kube-public')).toBeUndefined();
    expect(await writes('created')).toBe(2);
  });

  it('serves a namespace created later', async () => {
    namespace('a');
    await start();
    await eventually('a', () => exact('a'));
    namespace('late');
    await eventually('late', () => exact('late'));
  });

  it('writes only while leading, and catches up when it starts leading', async () => {
    namespace('a');
    const { distributor: d } = await start({}, { leading: false });
    await sleep(500);
    expect(writeRequests()).toEqual([]);
    d.setLeading(true);
    await eventually('a', () => exact('a'));
    d.setLeading(false);
    server.store.delete('configmaps', 'a', NAME);
    namespace('b');
    await sleep(500);
    expect(configMap('a')).toBeUndefined();
    expect(configMap('b')).toBeUndefined();
  });

  it.each<[string, (cm: ConfigMap) => ConfigMap]>([
    ['an edited bundle', (cm) => ({ ...cm, data: { [ROOT_CERT_KEY]: 'tampered' } })],
    ['an extra key', (cm) => ({ ...cm, data: { ...cm.data, extra: 'x' } })],
    ['binaryData', (cm) => ({ ...cm, binaryData: { blob: 'AAAA' } })],
    [
      'a removed istio.io/config label',
      (cm) => {
        const labels = Object.fromEntries(
          Object.entries(cm.metadata?.labels ?? {}).filter(([key]) => key !== ISTIO_CONFIG_LABEL),
        );
        return { ...cm, metadata: { ...cm.metadata, labels } };
      },
    ],
  ])('repairs %s, keeping foreign labels and annotations', async (_name, edit) => {
    namespace('a');
    const { writes } = await start();
    await eventually('created', () => exact('a'));
    const current = configMap('a')!;
    const decorated: ConfigMap = {
      ...current,
      metadata: {
        ...current.metadata,
        labels: { ...current.metadata?.labels, team: 'payments' },
        annotations: { note: 'keep me' },
      },
    };
    server.store.update('configmaps', edit(decorated));
    await eventually('repaired', () => exact('a'));
    expect(configMap('a')?.metadata).toMatchObject({
      labels: { ...OURS, team: 'payments' },
      annotations: { note: 'keep me' },
    });
    expect(await writes('updated')).toBe(1);
  });

  it('creates the ConfigMap again when someone deletes it', async () => {
    namespace('a');
    await start();
    await eventually('created', () => exact('a'));
    server.store.delete('configmaps', 'a', NAME);
    await eventually('recreated', () => exact('a'));
  });

  it('publishes a new trust bundle everywhere', async () => {
    for (const name of ['a', 'b']) namespace(name);
    const { authority, writes } = await start();
    await eventually('created', () => (exact('a') && exact('b') ? true : undefined));
    authority.install(pkiB.material());
    const pem = pkiB.material().trustBundle.pem;
    await eventually('updated', () => (exact('a', pem) && exact('b', pem) ? true : undefined));
    expect(await writes('updated')).toBe(2);
  });

  it('deletes its own ConfigMap when a namespace leaves the selector, and never a foreign one', async () => {
    namespace('a', { mesh: 'on' });
    namespace('b');
    server.store.create('configmaps', {
      metadata: { namespace: 'b', name: NAME, labels: { [ISTIO_CONFIG_LABEL]: 'true' } },
      data: { [ROOT_CERT_KEY]: 'written by istiod' },
    });
    const { writes, logs } = await start({ namespaceSelector: 'mesh=on' });
    await eventually('a', () => exact('a'));
    const ns = server.store.get('namespaces', undefined, 'a')!;
    server.store.update('namespaces', { ...ns, metadata: { ...ns.metadata, labels: {} } });
    await eventually('removed', () => (configMap('a') === undefined ? true : undefined));
    expect(await writes('deleted')).toBe(1);
    expect(logs()).toContainEqual(
      expect.objectContaining({
        namespace: 'a',
        msg: 'trust bundle ConfigMap removed (namespace no longer selected)',
      }),
    );
    await sleep(300);
    expect(configMap('b')?.data).toEqual({ [ROOT_CERT_KEY]: 'written by istiod' });
  });

  it('leaves terminating namespaces alone', async () => {
    namespace('a');
    namespace('going');
    server.store.delete('namespaces', undefined, 'going');
    await start();
    await eventually('a', () => exact('a'));
    await sleep(300);
    expect(writeRequests().filter((request) => request.path.includes('/going/'))).toEqual([]);
  });

  it.each([
    [
      'terminating (403)',
      403,
      'configmaps "istio-ca-root-cert" is forbidden: unable to create new content in namespace a because it is being terminated',
    ],
    ['gone (404)', 404, 'namespaces "a" not found'],
  ])(
    'does not count a namespace found %s at write time as an error',
    async (_name, status, message) => {
      namespace('a');
      server.fail({ method: 'POST', path: '/namespaces/a/configmaps', status, message, times: 1 });
      const { errors } = await start();
      await eventually('the refused write', () =>
        writeRequests().some((request) => request.status === status) ? true : undefined,
      );
      await sleep(300);
      expect(await errors()).toBe(0);
      expect(writeRequests()).toHaveLength(1);
    },
  );

  it.each([
    ['a server error', 500],
    ['a conflict with a concurrent edit', 409],
  ])('counts %s and retries', async (_name, status) => {
    namespace('a');
    const { errors } = await start();
    await eventually('created', () => exact('a'));
    const current = configMap('a')!;
    server.fail({ method: 'PUT', path: '/configmaps', status, times: 1 });
    server.store.update('configmaps', { ...current, data: { [ROOT_CERT_KEY]: 'tampered' } });
    await eventually('repaired', () => exact('a'));
    expect(await errors()).toBe(1);
  });

  it('paces its writes with its own rate limiter', async () => {
    const count = 20;
    for (let i = 0; i < count; i++) namespace(`ns-${String(i).padStart(2, '0')}`);
    await start({ writesPerSecond: 5 });
    await eventually('all', () => (writeRequests().length === count ? true : undefined), 10_000);
    const times = writeRequests().map((request) => request.atMs);
    const first = times[0]!;
    // A burst of twice the rate, then 5 per second.
    expect(times[9]! - first).toBeLessThan(600);
    expect(times[count - 1]! - first).toBeGreaterThanOrEqual(((count - 10) / 5) * 1000 - 300);
  });

  it('stops writing and watching on close', async () => {
    namespace('a');
    const { distributor: d } = await start();
    await eventually('created', () => exact('a'));
    await d.close();
    distributor = undefined;
    await eventually('watches closed', () => (server.openWatches === 0 ? true : undefined));
    server.store.delete('configmaps', 'a', NAME);
    await sleep(300);
    expect(configMap('a')).toBeUndefined();
  });
});

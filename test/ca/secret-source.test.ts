/**
 * SecretCaSource against the fake API server: the first load from the watched Secret (both
 * layouts istiod accepts), reloads on change, refusals that keep the current material, and the
 * timer that offers again what the rotation checks refused only for now.
 */
import {
  CaMaterialError,
  CaReloader,
  CertificateAuthority,
  SecretCaSource,
  caSourceFromSecret,
  type CaMaterialSource,
} from '../../src/ca/index.js';
import { FixedClock } from '../../src/clock.js';
import { CaMetrics } from '../../src/metrics/index.js';
import { FakeKubeApiServer } from '../fakes/index.js';
import { eventually } from '../support/kube.js';
import { memoryLogger } from '../support/server.js';
import { HOUR } from './fixtures.js';
import { rotationStages, type RotationStages } from './rotation-fixtures.js';

const NAMESPACE = 'istio-system';
const NAME = 'cacerts';
const MAX_LEAF_MS = HOUR;

const b64 = (text: string): string => Buffer.from(text).toString('base64');

function istioLayout(source: CaMaterialSource): Record<string, string> {
  return {
    'ca-cert.pem': b64(source.caCertPem),
    'ca-key.pem': b64(source.caKeyPem),
    ...(source.certChainPem === undefined ? {} : { 'cert-chain.pem': b64(source.certChainPem) }),
    'root-cert.pem': b64(source.rootCertPem),
  };
}

function tlsLayout(source: CaMaterialSource): Record<string, string> {
  return {
    'tls.crt': b64(source.caCertPem),
    'tls.key': b64(source.caKeyPem),
    'ca.crt': b64(source.rootCertPem),
  };
}

describe('caSourceFromSecret', () => {
  it.each([
    [
      'the cacerts layout',
      {
        'ca-cert.pem': b64('C'),
        'ca-key.pem': b64('K'),
        'cert-chain.pem': b64('CH'),
        'root-cert.pem': b64('R'),
      },
      { caCertPem: 'C', caKeyPem: 'K', certChainPem: 'CH', rootCertPem: 'R' },
    ],
    [
      'the cacerts layout without a chain',
      { 'ca-cert.pem': b64('C'), 'ca-key.pem': b64('K'), 'root-cert.pem': b64('R') },
      { caCertPem: 'C', caKeyPem: 'K', certChainPem: undefined, rootCertPem: 'R' },
    ],
    [
      'the kubernetes.io/tls layout',
      { 'tls.crt': b64('C'), 'tls.key': b64('K'), 'ca.crt': b64('R') },
      { caCertPem: 'C', caKeyPem: 'K', certChainPem: undefined, rootCertPem: 'R' },
    ],
  ])('reads %s', (_name, data, expected) => {
    expect(caSourceFromSecret({ data }, 'secret x')).toEqual(expected);
  });

  it('refuses a Secret with neither layout', () => {
    expect(() => caSourceFromSecret({ data: { 'key.pem': b64('x') } }, 'secret x')).toThrow(
      /neither ca-cert.pem\/ca-key.pem nor tls.crt\/tls.key/,
    );
  });
});

describe('SecretCaSource', () => {
  let stages: RotationStages;
  let server: FakeKubeApiServer;
  let source: SecretCaSource | undefined;
  const T0 = new Date(Math.floor(Date.now() / 1000) * 1000);

  beforeAll(async () => {
    stages = await rotationStages(T0);
  });
  beforeEach(async () => {
    server = await FakeKubeApiServer.start();
    server.store.create('namespaces', { metadata: { name: NAMESPACE } });
  });
  afterEach(async () => {
    await source?.close();
    source = undefined;
    await server.close();
  });

  function secret(data: Record<string, string>): void {
    const current = server.store.get('secrets', NAMESPACE, NAME);
    if (current === undefined) {
      server.store.create('secrets', { metadata: { namespace: NAMESPACE, name: NAME }, data });
    } else {
      server.store.update('secrets', { ...current, data });
    }
  }

  function setup() {
    const clock = new FixedClock(T0);
    const authority = new CertificateAuthority({ verifyIssued: false });
    const metrics = new CaMetrics({ collectProcessMetrics: false });
    const { logger, lines } = memoryLogger();
    const reloader = new CaReloader(
      authority,
      { rotationChecks: true, maxLeafTtlMs: MAX_LEAF_MS },
      { logger, metrics, clock },
    );
    source = new SecretCaSource(
      server.client(),
      reloader,
      { namespace: NAMESPACE, name: NAME, requestTimeoutMs: 2000, retryIntervalMs: 100 },
      logger,
    );
    return {
      source,
      clock,
      authority,
      signing: () => authority.current().material.signingCert.sha256,
      logs: () => lines().map((line) => JSON.parse(line) as Record<string, unknown>),
    };
  }

  it.each([
    ['the cacerts layout', istioLayout],
    ['the kubernetes.io/tls layout', tlsLayout],
  ])('loads %s before start resolves, watching only that Secret', async (_name, layout) => {
    secret(layout(stages.aOnly));
    const { source: s, authority, signing } = setup();
    await s.start(new AbortController().signal);
    expect(authority.ready).toBe(true);
    expect(signing()).toBe(stages.a.signing.cert.sha256);
    expect(s.readiness().map((check) => [check.name, check.check()])).toEqual([
      ['ca', undefined],
      ['roots', undefined],
    ]);
    for (const request of server.requests) {
      expect(request.path).toBe(`/api/v1/namespaces/${NAMESPACE}/secrets`);
      expect(request.query['fieldSelector']).toBe(`metadata.name=${NAME}`);
    }
  });

  it.each<[string, () => void, RegExp]>([
    ['the Secret is missing', () => undefined, /secret istio-system\/cacerts not found/],
    [
      'the Secret has neither layout',
      () => {
        secret({ other: b64('x') });
      },
      /neither/,
    ],
  ])('fails to start when %s', async (_name, arrange, message) => {
    arrange();
    const { source: s } = setup();
    const error = await s.start(new AbortController().signal).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CaMaterialError);
    expect((error as Error).message).toMatch(message);
  });

  it('fails to start on invalid material', async () => {
    secret(istioLayout({ ...stages.aOnly, caKeyPem: stages.b.files.caKeyPem }));
    const { source: s } = setup();
    await expect(s.start(new AbortController().signal)).rejects.toThrow(/does not match/);
  });

  it('reloads when the Secret changes, and keeps the material when it breaks or disappears', async () => {
    secret(istioLayout(stages.aOnly));
    const { source: s, authority, logs } = setup();
    await s.start(new AbortController().signal);
    secret(istioLayout(stages.aBoth));
    await eventually('both roots', () =>
      authority.current().material.trustBundle.roots.length === 2 ? true : undefined,
    );
    const before = authority.current();
    secret(istioLayout({ ...stages.aBoth, caKeyPem: 'broken' }));
    await eventually('refused', () =>
      logs().some((line) => line['msg'] === 'new CA material refused; keeping the current material')
        ? true
        : undefined,
    );
    secret({ unrelated: b64('x') });
    await eventually('unusable', () =>
      logs().some(
        (line) =>
          line['msg'] ===
          'new CA material refused: it cannot be read; keeping the current material',
      )
        ? true
        : undefined,
    );
    server.store.delete('secrets', NAMESPACE, NAME);
    await eventually('deleted', () =>
      logs().some((line) => line['msg'] === 'CA Secret deleted; keeping the current material')
        ? true
        : undefined,
    );
    expect(authority.current()).toBe(before);
  });

  it('offers again, on its timer, material the rotation checks refused only for now', async () => {
    secret(istioLayout(stages.aOnly));
    const { source: s, clock, authority, signing } = setup();
    await s.start(new AbortController().signal);
    secret(istioLayout(stages.aBoth));
    await eventually('stage 1', () =>
      authority.current().material.trustBundle.roots.length === 2 ? true : undefined,
    );
    secret(istioLayout(stages.bBoth));
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(signing()).toBe(stages.a.signing.cert.sha256);
    // One leaf lifetime later the same Secret (unchanged: no watch event) is accepted.
    clock.advance(MAX_LEAF_MS);
    await eventually('stage 3', () =>
      signing() === stages.b.signing.cert.sha256 ? true : undefined,
    );
  });

  it('stops watching on close', async () => {
    secret(istioLayout(stages.aOnly));
    const { source: s } = setup();
    await s.start(new AbortController().signal);
    await eventually('watching', () => (server.openWatches === 1 ? true : undefined));
    await s.close();
    source = undefined;
    await eventually('closed', () => (server.openWatches === 0 ? true : undefined));
  });
});

/**
 * The scanner over an in-memory reader: which findings a small cluster yields (each problem
 * once, duplicates merged exactly as documented), coverage when sources are absent, forbidden or
 * failing, what the sinks see, and that a failing sink or an abort behave.
 */
import { FixedClock } from '../../src/clock.js';
import {
  Allowlist,
  Scanner,
  VerdictCache,
  type Finding,
  type FindingSink,
  type ScanProgress,
  type ScanSummary,
} from '../../src/discovery/index.js';
import { createLogger } from '../../src/logger.js';
import {
  FakeClusterCertificateReader,
  secretRecord,
  type FakeCluster,
} from '../fakes/cluster-certificate-reader.js';
import { DAY, makeCert, pem, type Issued } from './fixtures.js';

const NOW = new Date(Math.floor(Date.now() / 1000) * 1000);

/** Records everything a sink is told. */
class RecordingSink implements FindingSink {
  readonly name = 'recording';
  readonly calls: string[] = [];
  readonly findings: Finding[] = [];
  summary: ScanSummary | undefined;
  begin(): void {
    this.calls.push('begin');
  }
  record(finding: Finding): void {
    this.calls.push('record');
    this.findings.push(finding);
  }
  complete(summary: ScanSummary): void {
    this.calls.push('complete');
    this.summary = summary;
  }
}

let root: Issued;
let intermediate: Issued;
let goodLeaf: Issued;
let rogueRoot: Issued;
let rogueLeaf: Issued;
let webhookCa: Issued;

beforeAll(async () => {
  root = await makeCert({ cn: 'approved root', now: NOW });
  intermediate = await makeCert({ cn: 'approved int', issuer: root, now: NOW });
  goodLeaf = await makeCert({ cn: 'good', ca: false, issuer: intermediate, now: NOW });
  rogueRoot = await makeCert({ cn: 'rogue root', now: NOW });
  rogueLeaf = await makeCert({ cn: 'rogue leaf', ca: false, issuer: rogueRoot, now: NOW });
  webhookCa = await makeCert({ cn: 'webhook ca', now: NOW });
});

const ingress = (name: string, namespace: string, secrets: [string, string][]) => ({
  object: { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', namespace, name },
  references: secrets.map(([secretNamespace, secretName], index) => ({
    location: `spec.tls[${index}]`,
    secret: { namespace: secretNamespace, name: secretName },
  })),
});

function scanner(
  cluster: FakeCluster,
  options: { allowlist?: Allowlist; sinks?: FindingSink[]; namespaces?: string[] } = {},
): { scanner: Scanner; reader: FakeClusterCertificateReader; sink: RecordingSink } {
  const reader = new FakeClusterCertificateReader(cluster);
  const sink = new RecordingSink();
  return {
    reader,
    sink,
    scanner: new Scanner(
      {
        reader,
        anchors: () => [root.cert],
        allowlist: options.allowlist ?? new Allowlist(),
        sinks: [...(options.sinks ?? []), sink],
        cache: new VerdictCache(1000),
        clock: new FixedClock(NOW),
        logger: createLogger({ level: 'silent' }),
      },
      {
        scope: { namespaces: options.namespaces ?? [] },
        expiringSoonMs: 30 * DAY,
        certManagerNamespace: 'cert-manager',
      },
    ),
  };
}

const label = (finding: Finding): string =>
  `${finding.kind} ${finding.object.kind} ${finding.object.namespace ?? ''}/${finding.object.name}${finding.allowlisted ? ' (allowlisted)' : ''}`;

describe('Scanner', () => {
  it('reports each problem once, and a certificate served by two objects twice', async () => {
    const {
      scanner: scan,
      sink,
      reader,
    } = scanner(
      {
        secrets: [
          secretRecord('a', 'rogue-tls', { 'tls.crt': pem(rogueLeaf) }, ['tls.key']),
          secretRecord('a', 'good-tls', { 'tls.crt': pem(goodLeaf, intermediate) }, ['tls.key']),
          secretRecord('a', 'homemade-ca', { 'ca.crt': pem(rogueRoot) }, [], 'Opaque'),
          secretRecord('b', 'elsewhere', { 'tls.crt': pem(rogueLeaf) }, ['tls.key']),
          secretRecord('a', 'no-certs', {}, [], 'Opaque'),
        ],
        serving: {
          ingresses: [
            // Two tls entries naming the same Secret: one finding.
            ingress('shop', 'a', [
              ['a', 'rogue-tls'],
              ['a', 'rogue-tls'],
            ]),
            // A second Ingress serving it: a second finding (another object).
            ingress('shop-2', 'a', [['a', 'rogue-tls']]),
            ingress('good', 'a', [['a', 'good-tls']]),
            // A Secret in a namespace out of scope, fetched alone.
            ingress('cross', 'a', [['b', 'elsewhere']]),
            // A Secret that does not exist: nothing is served, nothing reported.
            ingress('dangling', 'a', [['a', 'missing']]),
          ],
        },
        issuers: {
          'cert-manager-issuers': [
            {
              object: {
                apiVersion: 'cert-manager.io/v1',
                kind: 'Issuer',
                namespace: 'a',
                name: 'selfsigned',
              },
              type: 'selfSigned',
            },
            {
              object: {
                apiVersion: 'cert-manager.io/v1',
                kind: 'Issuer',
                namespace: 'a',
                name: 'acme',
              },
              type: 'other',
            },
          ],
          'cert-manager-cluster-issuers': [
            {
              object: { apiVersion: 'cert-manager.io/v1', kind: 'ClusterIssuer', name: 'lost-ca' },
              type: 'ca',
              caSecret: { name: 'gone' },
            },
          ],
        },
        caBundles: {
          'validating-webhook-configurations': [
            {
              object: {
                apiVersion: 'admissionregistration.k8s.io/v1',
                kind: 'ValidatingWebhookConfiguration',
                name: 'policy',
              },
              // The same CA in two webhooks of one configuration: one finding.
              bundles: [
                { location: 'webhooks[a].clientConfig.caBundle', pem: pem(webhookCa) },
                { location: 'webhooks[b].clientConfig.caBundle', pem: pem(webhookCa) },
              ],
            },
          ],
        },
      },
      {
        namespaces: ['a'],
        allowlist: new Allowlist([
          {
            object: { kind: 'ValidatingWebhookConfiguration', name: 'policy' },
            reason: 'the policy engine rotates its own webhook CA',
          },
        ]),
      },
    );
    const summary = await scan.scan(new AbortController().signal);

    expect(sink.findings.map(label).sort()).toEqual(
      [
        'self-signed-ca Secret a/homemade-ca',
        'unapproved-ingress-certificate Ingress a/shop',
        'unapproved-ingress-certificate Ingress a/shop-2',
        'unapproved-ingress-certificate Ingress a/cross',
        'rogue-issuer Issuer a/selfsigned',
        'rogue-issuer ClusterIssuer /lost-ca',
        'self-signed-ca ValidatingWebhookConfiguration /policy (allowlisted)',
      ].sort(),
    );
    const cross = sink.findings.find((finding) => finding.object.name === 'cross');
    expect(cross?.via).toMatchObject({ kind: 'Secret', namespace: 'b', name: 'elsewhere' });
    expect(reader.secretLookups.sort()).toEqual(['a/missing', 'b/elsewhere', 'cert-manager/gone']);
    const lost = sink.findings.find((finding) => finding.object.name === 'lost-ca');
    expect(lost?.via).toMatchObject({ namespace: 'cert-manager', name: 'gone' });
    expect(lost?.why).toContain('missing');

    expect(sink.calls[0]).toBe('begin');
    expect(sink.calls.at(-1)).toBe('complete');
    expect(sink.calls.filter((call) => call === 'record')).toHaveLength(7);
    expect(summary).toMatchObject({
      complete: true,
      findings: 7,
      allowlisted: 1,
      anchors: 1,
      bySeverity: { critical: 0, high: 6, medium: 0, low: 0, info: 0 },
      byKind: { 'self-signed-ca': 1, 'unapproved-ingress-certificate': 3, 'rogue-issuer': 2 },
    });
    // rogue leaf, good leaf + intermediate, rogue root, webhook CA.
    expect(summary.certificates).toBe(5);
    expect(summary.sources.find((source) => source.source === 'secrets')).toMatchObject({
      state: 'scanned',
      objects: 4,
    });
    expect(summary.sources.map((source) => source.source)[0]).toBe('secrets');
  });

  it('gives findings stable ids: the same cluster scanned twice yields the same ids', async () => {
    const cluster: FakeCluster = {
      secrets: [secretRecord('a', 'ca', { 'ca.crt': pem(rogueRoot) }, [], 'Opaque')],
    };
    const first = scanner(cluster);
    const second = scanner(cluster);
    await first.scanner.scan(new AbortController().signal);
    await second.scanner.scan(new AbortController().signal);
    expect(first.sink.findings.map((f) => f.id)).toEqual(second.sink.findings.map((f) => f.id));
    expect(first.sink.findings[0]?.id).toMatch(/^[0-9a-f]{16}$/);
  });

  it('records absent, forbidden and failing sources, and marks the scan incomplete', async () => {
    const forbidden = Object.assign(new Error('secrets is forbidden'), { status: 403 });
    const { scanner: scan } = scanner({
      absent: ['istio-gateways', 'gateway-api-gateways'],
      failing: { secrets: forbidden, 'api-services': new Error('connection reset') },
    });
    const summary = await scan.scan(new AbortController().signal);
    const state = Object.fromEntries(summary.sources.map((s) => [s.source, s.state]));
    expect(state).toMatchObject({
      secrets: 'forbidden',
      'api-services': 'failed',
      'istio-gateways': 'absent',
      ingresses: 'scanned',
    });
    expect(summary.complete).toBe(false);
    expect(summary.sources.find((s) => s.source === 'api-services')?.detail).toBe(
      'connection reset',
    );
  });

  it('is complete when the only missing sources are APIs the cluster does not serve', async () => {
    const { scanner: scan } = scanner({ absent: ['cert-manager-issuers', 'api-services'] });
    expect((await scan.scan(new AbortController().signal)).complete).toBe(true);
  });

  it('reports every source as failed when API discovery fails', async () => {
    const { scanner: scan, sink } = scanner({ discoveryFails: true });
    const summary = await scan.scan(new AbortController().signal);
    expect(summary.complete).toBe(false);
    expect(new Set(summary.sources.map((s) => s.state))).toEqual(new Set(['failed']));
    expect(summary.sources[0]?.detail).toContain('API discovery failed: connection refused');
    expect(sink.calls).toEqual(['begin', 'complete']);
  });

  it('carries on when a sink throws', async () => {
    const broken: FindingSink = {
      name: 'broken',
      record: () => {
        throw new Error('boom');
      },
      complete: () => Promise.reject(new Error('boom')),
    };
    const { scanner: scan, sink } = scanner(
      { secrets: [secretRecord('a', 'ca', { 'ca.crt': pem(rogueRoot) }, [], 'Opaque')] },
      { sinks: [broken] },
    );
    await scan.scan(new AbortController().signal);
    expect(sink.findings).toHaveLength(1);
    expect(sink.summary?.findings).toBe(1);
  });

  it('stops when aborted, and the sinks see no completion', async () => {
    const controller = new AbortController();
    const { scanner: scan, sink, reader } = scanner({});
    const failure = new Error('aborted');
    reader.availability = () => {
      controller.abort();
      return Promise.reject(failure);
    };
    await expect(scan.scan(controller.signal)).rejects.toBe(failure);
    expect(sink.calls).toEqual(['begin']);
  });

  it('reports progress per source, ending each with done', async () => {
    const { scanner: scan } = scanner({
      secrets: Array.from({ length: 250 }, (_, i) => secretRecord('a', `s${i}`, {}, [], 'Opaque')),
    });
    const seen: ScanProgress[] = [];
    await scan.scan(new AbortController().signal, (progress) => seen.push(progress));
    const secrets = seen.filter((p) => p.source === 'secrets');
    expect(secrets.at(-1)).toMatchObject({ done: true, objects: 250 });
    expect(secrets.some((p) => !p.done && p.objects === 200 && p.remaining === 50)).toBe(true);
    expect(seen.filter((p) => p.done)).toHaveLength(9);
  });
});

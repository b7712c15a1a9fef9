/**
 * The sinks: the metrics sink publishes exactly the counts of complete scans (closed labels, no
 * names), the Events sink maps findings to Events, and the report sink keeps the last report.
 */
import { Registry } from 'prom-client';
import {
  EVENT_REASONS,
  EventFindingSink,
  FINDING_KINDS,
  MetricsFindingSink,
  ReportSink,
  type Finding,
  type ObjectEvent,
  type ScanSummary,
} from '../../src/discovery/index.js';
import { DiscoveryMetrics } from '../../src/metrics/index.js';

const finding = (change: Partial<Finding> = {}): Finding => ({
  id: Math.random().toString(16).slice(2, 18).padEnd(16, '0'),
  kind: 'self-signed-ca',
  severity: 'high',
  object: { apiVersion: 'v1', kind: 'Secret', namespace: 'team', name: 'ca', uid: 'u' },
  location: 'ca.crt',
  why: 'a reason',
  ...change,
});

const summary = (complete: boolean, at = new Date('2026-03-04T05:06:07Z')): ScanSummary => ({
  scanId: 's',
  startedAt: at,
  finishedAt: at,
  scope: { namespaces: [] },
  complete,
  sources: [],
  certificates: 0,
  unreadable: 0,
  anchors: 0,
  bySeverity: { critical: 0, high: 0, medium: 0, low: 0, info: 0 },
  byKind: Object.fromEntries(FINDING_KINDS.map((kind) => [kind, 0])) as ScanSummary['byKind'],
  allowlisted: 0,
  findings: 0,
});

async function series(registry: Registry, name: string): Promise<string[]> {
  return (await registry.metrics())
    .split('\n')
    .filter((line) => line.startsWith(name))
    .sort();
}

describe('MetricsFindingSink', () => {
  it('publishes the un-allowlisted counts of complete scans only', async () => {
    const registry = new Registry();
    const sink = new MetricsFindingSink(new DiscoveryMetrics(registry));
    sink.begin();
    sink.record(finding());
    sink.record(finding());
    sink.record(finding({ kind: 'weak-key', severity: 'medium' }));
    sink.record(finding({ allowlisted: { rule: 'namespace', value: 'team', reason: 'known' } }));
    sink.complete(summary(true));
    expect(await series(registry, 'meshca_discovery_findings')).toEqual([
      'meshca_discovery_findings{kind="self-signed-ca",severity="high"} 2',
      'meshca_discovery_findings{kind="weak-key",severity="medium"} 1',
    ]);
    expect(await series(registry, 'meshca_discovery_scans_total')).toEqual([
      'meshca_discovery_scans_total{result="ok"} 1',
    ]);
    expect(await series(registry, 'meshca_discovery_last_scan_timestamp_seconds')).toEqual([
      `meshca_discovery_last_scan_timestamp_seconds ${Date.parse('2026-03-04T05:06:07Z') / 1000}`,
    ]);

    // An incomplete scan counts as failed and leaves the gauge and timestamp as they were.
    sink.begin();
    sink.record(finding({ kind: 'expired', severity: 'medium' }));
    sink.complete(summary(false, new Date('2026-03-05T00:00:00Z')));
    expect(await series(registry, 'meshca_discovery_findings')).toHaveLength(2);
    expect(await series(registry, 'meshca_discovery_scans_total')).toEqual([
      'meshca_discovery_scans_total{result="failed"} 1',
      'meshca_discovery_scans_total{result="ok"} 1',
    ]);
    expect((await series(registry, 'meshca_discovery_last_scan'))[0]).toContain('1772600767');

    // A scan that finds nothing clears the gauge; a scan aborted half-way leaves no trace.
    sink.begin();
    sink.record(finding());
    sink.begin();
    sink.complete(summary(true));
    expect(await series(registry, 'meshca_discovery_findings')).toEqual([]);

    sink.begin();
    sink.record(finding());
    sink.complete(summary(true));
    sink.retract();
    expect(await series(registry, 'meshca_discovery_findings')).toEqual([]);
  });
});

describe('EventFindingSink', () => {
  it('posts one Event per actionable finding, Warning from medium up', () => {
    const events: ObjectEvent[] = [];
    const sink = new EventFindingSink({ record: (event) => events.push(event) });
    const certificate = {
      subject: 'CN=x',
      issuer: 'CN=x',
      serialNumber: '01',
      sha256: 'ef'.repeat(32),
      notBefore: new Date(0),
      notAfter: new Date(0),
      isCa: true,
      selfSigned: true,
      key: 'RSA-2048',
      signatureAlgorithm: 'sha256WithRSAEncryption',
    };
    const high = finding({ certificate });
    sink.record(high);
    sink.record(finding({ kind: 'expiring-soon', severity: 'low' }));
    sink.record(finding({ allowlisted: { rule: 'namespace', value: 'team', reason: 'known' } }));
    sink.record(finding({ why: 'x'.repeat(5000) }));
    sink.complete();
    expect(events).toHaveLength(3);
    expect(events[0]).toEqual({
      involvedObject: high.object,
      type: 'Warning',
      reason: 'SelfSignedCA',
      message: `a reason [meshca discovery: self-signed-ca, high, sha256 ${'ef'.repeat(8)}]`,
      key: high.id,
    });
    expect(events[1]).toMatchObject({ type: 'Normal', reason: 'CertificateExpiringSoon' });
    expect(events[2]?.message.length).toBeLessThanOrEqual(1024);
  });

  it('has an UpperCamelCase reason for every kind', () => {
    for (const kind of FINDING_KINDS) expect(EVENT_REASONS[kind]).toMatch(/^[A-Z][A-Za-z]+$/);
  });
});

describe('ReportSink', () => {
  it('keeps the report of the last completed scan, bounded', () => {
    const sink = new ReportSink({ cluster: 'https://x', maxFindings: 2 });
    expect(sink.report()).toBeUndefined();
    sink.begin();
    for (let i = 0; i < 3; i++) sink.record(finding());
    expect(sink.report()).toBeUndefined();
    sink.complete({ ...summary(true), findings: 3 });
    expect(sink.report()?.findings).toHaveLength(2);
    expect(sink.report()?.summary.findings).toBe(3);
    expect(sink.report()?.cluster).toBe('https://x');
    expect(sink.dropped).toBe(1);
  });
});

/**
 * The report: its JSON schema is stable (every key present, nulls not omissions, fixed order of
 * findings) and its text says what a security engineer needs without help.
 */
import {
  REPORT_SCHEMA,
  buildReport,
  renderReport,
  type Finding,
  type ScanSummary,
} from '../../src/discovery/index.js';

const SUMMARY: ScanSummary = {
  scanId: 'abcd',
  startedAt: new Date('2026-01-02T03:04:05Z'),
  finishedAt: new Date('2026-01-02T03:04:06Z'),
  scope: { namespaces: [] },
  complete: false,
  sources: [
    { source: 'secrets', state: 'scanned', resource: 'v1/secrets', objects: 12 },
    { source: 'istio-gateways', state: 'absent', objects: 0 },
    {
      source: 'api-services',
      state: 'forbidden',
      resource: 'apiregistration.k8s.io/v1/apiservices',
      objects: 0,
      detail: 'apiservices is forbidden',
    },
  ],
  certificates: 9,
  unreadable: 1,
  anchors: 2,
  bySeverity: { critical: 1, high: 1, medium: 0, low: 0, info: 0 },
  byKind: {
    'ca-key-in-cluster': 1,
    'self-signed-ca': 1,
    'unapproved-ca': 0,
    'unapproved-ingress-certificate': 0,
    'rogue-issuer': 0,
    'weak-key': 0,
    expired: 0,
    'expiring-soon': 0,
  },
  allowlisted: 1,
  findings: 3,
};

const CERT = {
  subject: 'O=x, CN=homemade',
  issuer: 'O=x, CN=homemade',
  serialNumber: '0A',
  sha256: 'ab'.repeat(32),
  notBefore: new Date('2025-01-01T00:00:00Z'),
  notAfter: new Date('2035-01-01T00:00:00Z'),
  isCa: true,
  selfSigned: true,
  key: 'EC-prime256v1',
  signatureAlgorithm: 'ecdsa-with-SHA256',
};

const FINDINGS: Finding[] = [
  {
    id: '1111111111111111',
    kind: 'self-signed-ca',
    severity: 'high',
    object: { apiVersion: 'v1', kind: 'Secret', namespace: 'a', name: 'ca', uid: 'u1' },
    location: 'ca.crt',
    certificate: CERT,
    why: 'Self-signed CA "O=x, CN=homemade" is not an approved trust anchor.',
  },
  {
    id: '2222222222222222',
    kind: 'rogue-issuer',
    severity: 'high',
    object: { apiVersion: 'cert-manager.io/v1', kind: 'ClusterIssuer', name: 'selfsigned' },
    location: 'spec.selfSigned',
    why: 'selfSigned issuer',
    allowlisted: { rule: 'object', value: 'ClusterIssuer selfsigned', reason: 'bootstrap only' },
  },
  {
    id: '3333333333333333',
    kind: 'ca-key-in-cluster',
    severity: 'critical',
    object: { apiVersion: 'v1', kind: 'Secret', namespace: 'a', name: 'ca' },
    location: 'tls.key',
    via: { apiVersion: 'v1', kind: 'Secret', namespace: 'b', name: 'src' },
    certificate: CERT,
    why: 'holds the key',
  },
];

describe('buildReport', () => {
  const report = buildReport(SUMMARY, FINDINGS, 'https://k8s.example:6443');

  it('has the documented shape, every key present', () => {
    expect(Object.keys(report)).toEqual([
      'schemaVersion',
      'scanId',
      'startedAt',
      'finishedAt',
      'cluster',
      'scope',
      'complete',
      'anchors',
      'certificates',
      'unreadable',
      'coverage',
      'summary',
      'findings',
    ]);
    expect(report.schemaVersion).toBe(REPORT_SCHEMA);
    expect(report.startedAt).toBe('2026-01-02T03:04:05.000Z');
    expect(report.coverage[1]).toEqual({
      source: 'istio-gateways',
      state: 'absent',
      resource: null,
      objects: 0,
      detail: null,
    });
    expect(report.summary).toEqual({
      findings: 3,
      allowlisted: 1,
      actionable: 2,
      bySeverity: SUMMARY.bySeverity,
      byKind: SUMMARY.byKind,
    });
  });

  it('orders findings by severity, allowlisted last, with nulls for absent values', () => {
    expect(report.findings.map((finding) => finding.id)).toEqual([
      '3333333333333333',
      '1111111111111111',
      '2222222222222222',
    ]);
    const [critical, high, allowlisted] = report.findings;
    expect(Object.keys(critical!)).toEqual([
      'id',
      'kind',
      'severity',
      'why',
      'location',
      'object',
      'via',
      'certificate',
      'allowlisted',
    ]);
    expect(critical?.via).toEqual({
      apiVersion: 'v1',
      kind: 'Secret',
      namespace: 'b',
      name: 'src',
      uid: null,
    });
    expect(high?.via).toBeNull();
    expect(high?.allowlisted).toBeNull();
    expect(high?.certificate).toEqual({
      ...CERT,
      notBefore: '2025-01-01T00:00:00.000Z',
      notAfter: '2035-01-01T00:00:00.000Z',
    });
    expect(allowlisted?.object.namespace).toBeNull();
    expect(allowlisted?.certificate).toBeNull();
    expect(allowlisted?.allowlisted).toEqual({
      rule: 'object',
      value: 'ClusterIssuer selfsigned',
      reason: 'bootstrap only',
    });
  });

  it('round-trips through JSON unchanged', () => {
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });
});

describe('renderReport', () => {
  const text = renderReport(buildReport(SUMMARY, FINDINGS, 'https://k8s.example:6443'));

  it.each([
    ['the cluster', 'cluster      https://k8s.example:6443'],
    ['what was read', /Secrets\s+12 read/],
    ['what is not installed', /Istio Gateways\s+not in this cluster/],
    ['what could not be read', /APIServices\s+NOT SCANNED \(forbidden: apiservices is forbidden\)/],
    ['that the report is incomplete', 'this report is incomplete'],
    ['the summary by severity, with meanings', /critical\s+1\s+anyone who can read the object/],
    ['the counts', 'Findings: 2 to act on, 1 allowlisted (shown last)'],
    [
      'each finding with object and location',
      '[CRITICAL] ca-key-in-cluster  Secret a/ca  (tls.key)',
    ],
    ['the certificate', 'sha256       ' + 'ab'.repeat(32)],
    ['why', 'why          holds the key'],
    ['the source object', 'via          Secret b/src'],
    ['allowlisting', 'allowlisted  by object ClusterIssuer selfsigned: bootstrap only'],
  ])('shows %s', (_what, expected) => {
    if (typeof expected === 'string') expect(text).toContain(expected);
    else expect(text).toMatch(expected);
  });

  it('lists the critical finding before the high one, and the allowlisted one last', () => {
    const order = ['[CRITICAL]', '[HIGH] self-signed-ca', '[HIGH] rogue-issuer'].map((marker) =>
      text.indexOf(marker),
    );
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(order.every((index) => index > 0)).toBe(true);
  });

  it('says so when there is nothing to report', () => {
    const empty = renderReport(
      buildReport({ ...SUMMARY, complete: true, findings: 0, allowlisted: 0, anchors: 0 }, []),
    );
    expect(empty).toContain('No findings.');
    expect(empty).toContain('none given: every CA counts as unapproved');
    expect(empty).not.toContain('incomplete');
  });
});

/**
 * manifests/monitoring: the PrometheusRule's groups pass `promtool check rules`, every alert
 * fires in a `promtool test rules` case (test/manifests/fixtures/alerts.test.yml), the alerts the
 * README promises exist, and the rules and the Grafana dashboard query only the agreed metric
 * names. promtool comes from Debian's `prometheus` package (.ci/run installs it); no Prometheus
 * server is started.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import {
  CaMetrics,
  DiscoveryMetrics,
  LedgerMetrics,
  LimitMetrics,
  PolicyMetrics,
} from '../../src/metrics/index.js';
import { IN_CI, REPO_ROOT } from '../support/environment.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';

afterAll(removeTempDirs);

const MONITORING = join(REPO_ROOT, 'manifests', 'monitoring');

/** The metric names alerts and dashboards are written against (the common brief's list). */
const AGREED_METRICS = new Set([
  'meshca_certificate_requests_total',
  'meshca_certificate_request_duration_seconds',
  'meshca_certificates_issued_total',
  'meshca_certificate_expiry_timestamp_seconds',
  'meshca_ca_reloads_total',
  'meshca_leader',
  'meshca_token_cache_total',
  'meshca_reconcile_errors_total',
  'meshca_policy_decisions_total',
  'meshca_policy_reloads_total',
  'meshca_policy_info',
  'meshca_ledger_backlog_records',
  'meshca_ledger_spool_records',
  'meshca_ledger_records_written_total',
  'meshca_ledger_records_dropped_total',
  'meshca_ledger_write_errors_total',
  'meshca_ledger_chain_head_sequence',
  'meshca_revoked_certificates',
  'meshca_discovery_findings',
  'meshca_discovery_scans_total',
  'meshca_discovery_last_scan_timestamp_seconds',
  'meshca_kube_api_reachable',
]);

/** The meshca metrics an expression reads (histogram series mapped to their family). */
function metricsIn(expr: string): string[] {
  return [...expr.matchAll(/\bmeshca_[a-z0-9_]+/g)].map(([name]) =>
    name.replace(/_(bucket|sum|count)$/, ''),
  );
}

/** Labels Prometheus adds to every series it scrapes (or a histogram's bucket bound). */
const TARGET_LABELS = ['pod', 'instance', 'job', 'namespace', 'le'];

/** The labels an expression groups by (`by (...)`) or selects on (`{label=...}`). */
function labelsIn(expr: string): string[] {
  const grouped = [...expr.matchAll(/\bby\s*\(([^)]*)\)/g)].flatMap(([, list]) =>
    (list ?? '').split(',').map((label) => label.trim()),
  );
  const selected = [...expr.matchAll(/\{([^}]*)\}/g)].flatMap(([, matchers]) =>
    [...(matchers ?? '').matchAll(/([a-z_]+)\s*(?:=~|!~|!=|=)/g)].map(([, label]) => label ?? ''),
  );
  return [...grouped, ...selected].filter((label) => label !== '' && !label.startsWith('$'));
}

/** Each meshca metric's label names, read from the metrics meshca registers. */
function metricLabels(): Map<string, readonly string[]> {
  const ca = new CaMetrics({ collectProcessMetrics: false });
  new PolicyMetrics(ca.registry);
  new LedgerMetrics(ca.registry);
  new DiscoveryMetrics(ca.registry);
  new LimitMetrics(ca.registry);
  // prom-client keeps a metric's label names on the instance, outside its typings.
  return new Map(
    ca.registry
      .getMetricsAsArray()
      .map((metric) => [
        (metric as unknown as { name: string }).name,
        (metric as unknown as { labelNames: readonly string[] }).labelNames,
      ]),
  );
}

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: string };
  annotations: { summary: string; description: string };
}

const ruleDocument = parse(readFileSync(join(MONITORING, 'prometheus-rule.yaml'), 'utf8')) as {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels: Record<string, string> };
  spec: { groups: { name: string; rules: Rule[] }[] };
};
const rules = ruleDocument.spec.groups.flatMap((group) => group.rules);

function promtoolMissing(): string | undefined {
  const result = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
  return result.status === 0
    ? undefined
    : "promtool is not installed (Debian's prometheus package)";
}

/** `it`, or a skip with a warning outside CI when promtool is missing. */
function withPromtool(name: string, body: () => void): void {
  const missing = promtoolMissing();
  if (missing === undefined) {
    it(name, body);
    return;
  }
  if (IN_CI) throw new Error(`${name}: ${missing}`);
  console.warn(`skipping "${name}": ${missing}`);
  it.skip(name, body);
}

/** Writes the groups as a plain rules file, as promtool reads them. */
function rulesFile(dir: string): string {
  const path = join(dir, 'rules.yml');
  writeFileSync(path, stringify({ groups: ruleDocument.spec.groups }));
  return path;
}

describe('manifests/monitoring/prometheus-rule.yaml', () => {
  it('is a PrometheusRule of the Prometheus Operator', () => {
    expect(ruleDocument.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(ruleDocument.kind).toBe('PrometheusRule');
    expect(ruleDocument.metadata.labels['app.kubernetes.io/name']).toBe('meshca');
  });

  it('has the alerts the README promises, each with a severity and words for people', () => {
    expect(rules.map((rule) => rule.alert).sort()).toEqual(
      [
        'MeshcaCaCertificateExpiring',
        'MeshcaCaCertificateExpiringCritical',
        'MeshcaCertificateDenialSpike',
        'MeshcaPolicyDenialSpike',
        'MeshcaRogueCaFound',
        'MeshcaCriticalFinding',
        'MeshcaDiscoveryStale',
        'MeshcaLedgerBacklog',
        'MeshcaLedgerRecordsDropped',
        'MeshcaPolicyRejected',
        'MeshcaPolicySignatureInvalid',
        'MeshcaIssuanceErrors',
        'MeshcaNoLeader',
        'MeshcaKubernetesApiUnreachable',
      ].sort(),
    );
    for (const rule of rules) {
      expect(['warning', 'critical']).toContain(rule.labels.severity);
      expect(rule.annotations.summary.length).toBeGreaterThan(10);
      expect(rule.annotations.description.length).toBeGreaterThan(40);
    }
  });

  it.each([
    ['the CA expiry warning', 'MeshcaCaCertificateExpiring', /< 30 \* 86400/],
    ['the CA expiry critical', 'MeshcaCaCertificateExpiringCritical', /< 7 \* 86400/],
    ['the denials spike', 'MeshcaCertificateDenialSpike', /outcome="denied"/],
    ['the policy denials spike', 'MeshcaPolicyDenialSpike', /effect="deny"/],
    ['no leader', 'MeshcaNoLeader', /^max\(meshca_leader\) == 0$/],
    ['the API server', 'MeshcaKubernetesApiUnreachable', /^meshca_kube_api_reachable == 0$/],
    ['the error ratio', 'MeshcaIssuanceErrors', /outcome=~"internal\|unavailable"/],
  ])('expresses %s as agreed', (_what, alert, pattern) => {
    expect(rules.find((rule) => rule.alert === alert)?.expr.trim()).toMatch(pattern);
  });

  it('reads only the agreed metrics', () => {
    for (const rule of rules) {
      const metrics = metricsIn(rule.expr);
      expect(metrics.length).toBeGreaterThan(0);
      for (const metric of metrics)
        expect([rule.alert, AGREED_METRICS.has(metric)]).toEqual([rule.alert, true]);
    }
  });

  it('groups and filters only by labels the metrics carry (or Prometheus adds)', () => {
    const labels = metricLabels();
    for (const rule of rules) {
      const known = new Set([
        ...TARGET_LABELS,
        ...metricsIn(rule.expr).flatMap((metric) => labels.get(metric) ?? []),
      ]);
      for (const label of labelsIn(rule.expr)) {
        expect([rule.alert, label, known.has(label)]).toEqual([rule.alert, label, true]);
      }
    }
  });

  withPromtool('passes promtool check rules', () => {
    const result = spawnSync('promtool', ['check', 'rules', rulesFile(tempDir('meshca-rules-'))], {
      encoding: 'utf8',
    });
    expect(result.stdout + result.stderr).toContain(`SUCCESS: ${rules.length} rules found`);
    expect(result.status).toBe(0);
  });

  withPromtool('makes every alert fire in promtool test rules', () => {
    const dir = tempDir('meshca-rules-');
    rulesFile(dir);
    const tests = parse(
      readFileSync(join(REPO_ROOT, 'test', 'manifests', 'fixtures', 'alerts.test.yml'), 'utf8'),
    ) as {
      rule_files?: string[];
      tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[];
    };
    const firing = new Set(
      tests.tests.flatMap((test) =>
        test.alert_rule_test
          .filter((check) => check.exp_alerts.length > 0)
          .map((check) => check.alertname),
      ),
    );
    expect([...firing].sort()).toEqual(rules.map((rule) => rule.alert).sort());
    writeFileSync(join(dir, 'tests.yml'), stringify({ ...tests, rule_files: ['rules.yml'] }));
    const result = spawnSync('promtool', ['test', 'rules', 'tests.yml'], {
      cwd: dir,
      encoding: 'utf8',
    });
    expect(result.stdout + result.stderr).toContain('SUCCESS');
    expect(result.status).toBe(0);
  });

  withPromtool('fails promtool test rules when an alert does not fire as expected', () => {
    // The harness is not vacuous: expect MeshcaNoLeader where a replica leads.
    const dir = tempDir('meshca-rules-');
    rulesFile(dir);
    const tests = {
      rule_files: ['rules.yml'],
      evaluation_interval: '1m',
      tests: [
        {
          interval: '1m',
          input_series: [{ series: 'meshca_leader{pod="a"}', values: '1x10' }],
          alert_rule_test: [
            {
              eval_time: '5m',
              alertname: 'MeshcaNoLeader',
              exp_alerts: [{ exp_labels: { severity: 'critical' } }],
            },
          ],
        },
      ],
    };
    writeFileSync(join(dir, 'tests.yml'), stringify(tests));
    const result = spawnSync('promtool', ['test', 'rules', 'tests.yml'], {
      cwd: dir,
      encoding: 'utf8',
    });
    expect(result.status).not.toBe(0);
    expect(result.stdout + result.stderr).toContain('FAILED');
  });
});

describe('manifests/monitoring/grafana-dashboard.json', () => {
  interface Panel {
    type: string;
    title: string;
    description?: string;
    targets?: { expr: string }[];
  }
  const dashboard = JSON.parse(
    readFileSync(join(MONITORING, 'grafana-dashboard.json'), 'utf8'),
  ) as { title: string; uid: string; panels: Panel[]; templating: { list: { name: string }[] } };
  const panels = dashboard.panels.filter((panel) => panel.type !== 'row');

  it('parses, with a datasource variable', () => {
    expect(dashboard.uid).toBe('meshca-overview');
    expect(dashboard.templating.list.map((variable) => variable.name)).toContain('datasource');
    expect(panels.length).toBeGreaterThan(10);
  });

  it('queries only the agreed metric names, in every panel', () => {
    for (const panel of panels) {
      const metrics = (panel.targets ?? []).flatMap((target) => metricsIn(target.expr));
      expect([panel.title, metrics.length > 0]).toEqual([panel.title, true]);
      for (const metric of metrics) {
        expect([panel.title, metric, AGREED_METRICS.has(metric)]).toEqual([
          panel.title,
          metric,
          true,
        ]);
      }
    }
  });

  it.each([
    ['issuance by outcome', 'Certificate requests by outcome', 'meshca_certificate_requests_total'],
    ['denials by rule', 'Denials by rule', 'meshca_policy_decisions_total'],
    [
      'per-intermediate issuance',
      'Issued certificates by intermediate',
      'meshca_certificates_issued_total',
    ],
    ['expiry', 'Days until expiry', 'meshca_certificate_expiry_timestamp_seconds'],
    ['findings', 'Findings by kind and severity', 'meshca_discovery_findings'],
    ['ledger backlog', 'Backlog and spool', 'meshca_ledger_backlog_records'],
  ])('shows %s', (_what, title, metric) => {
    const panel = panels.find((candidate) => candidate.title === title);
    expect(panel?.description?.length).toBeGreaterThan(10);
    expect(panel?.targets?.some((target) => target.expr.includes(metric))).toBe(true);
  });

  it('groups and filters only by labels the metrics carry (or Prometheus adds)', () => {
    const labels = metricLabels();
    for (const panel of panels) {
      for (const { expr } of panel.targets ?? []) {
        const known = new Set([
          ...TARGET_LABELS,
          ...metricsIn(expr).flatMap((metric) => labels.get(metric) ?? []),
        ]);
        for (const label of labelsIn(expr)) {
          expect([panel.title, label, known.has(label)]).toEqual([panel.title, label, true]);
        }
      }
    }
  });

  it('is shipped by the monitoring kustomization', () => {
    const kustomization = parse(readFileSync(join(MONITORING, 'kustomization.yaml'), 'utf8')) as {
      resources: string[];
      configMapGenerator: { files: string[]; options: { labels: Record<string, string> } }[];
    };
    expect(kustomization.resources).toEqual(['prometheus-rule.yaml']);
    expect(kustomization.configMapGenerator[0]?.files).toEqual([
      'meshca.json=grafana-dashboard.json',
    ]);
    expect(kustomization.configMapGenerator[0]?.options.labels['grafana_dashboard']).toBe('1');
  });
});

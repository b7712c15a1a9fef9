/**
 * Rogue-CA discovery against the real kube-apiserver, under the RBAC of manifests/discovery:
 * the CRDs of cert-manager, Istio and the Gateway API are installed, problems are planted, and
 * the scan must report exactly them — each once, nothing for the approved objects, the
 * allowlisted webhook CA marked — with an Event on each object, the metric counts to match, the
 * same report from `meshca scan`, and no private key anywhere in what it produces.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { runCommand } from '../../src/cli/main.js';
import { systemClock } from '../../src/clock.js';
import type { Allowlist } from '../../src/discovery/index.js';
import {
  EventFindingSink,
  MetricsFindingSink,
  ReportSink,
  Scanner,
  VerdictCache,
  loadAllowlist,
  loadApprovedRoots,
  loadCaDirectoryRoots,
  type DiscoveryReport,
  type Finding,
  type FindingSink,
} from '../../src/discovery/index.js';
import {
  KubeClient,
  KubeClusterCertificateReader,
  KubeEventRecorder,
} from '../../src/kube/index.js';
import { createLogger } from '../../src/logger.js';
import { DiscoveryMetrics } from '../../src/metrics/index.js';
import { makeCert, keyPem, pem, DAY, type Issued } from '../discovery/fixtures.js';
import {
  createCustom,
  createInertWebhook,
  createIngress,
  createSecret,
  installDiscoveryCrds,
  remove,
} from '../support/discovery-cluster.js';
import { REPO_ROOT, testKubeconfig } from '../support/environment.js';
import {
  adminKubeConfig,
  applyManifestRbac,
  createNamespace,
  createServiceAccount,
  describeKube,
  serviceAccountKubeconfig,
} from '../support/kube.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';

const logger = createLogger({ level: 'silent' });
const run = Math.random().toString(16).slice(2, 10);
const nsA = `disc-${run}-a`;
const nsB = `disc-${run}-b`;
const nsMeshca = `disc-${run}-meshca`;
const webhookName = `disc-${run}-policy`;

/** kind, object and allowlisting of a finding, for exact comparison. */
const label = (finding: {
  kind: string;
  severity: string;
  object: { kind: string; apiVersion: string; namespace?: string | null; name: string };
  allowlisted?: unknown;
}): string =>
  `${finding.severity} ${finding.kind} ${finding.object.kind}(${finding.object.apiVersion.split('/')[0] ?? ''}) ${finding.object.namespace ?? ''}/${finding.object.name}${finding.allowlisted ? ' [allowlisted]' : ''}`;

/** Findings of this test run only (cluster-scoped objects are shared with other tests). */
const ours = <T extends { object: { namespace?: string | null; name: string } }>(
  findings: readonly T[],
): T[] =>
  findings.filter(
    (finding) =>
      finding.object.namespace === nsA ||
      ((finding.object.namespace ?? null) === null && finding.object.name.includes(run)),
  );

const EXPECTED = [
  `high self-signed-ca Secret(v1) ${nsA}/homemade-ca`,
  `high unapproved-ingress-certificate Ingress(networking.k8s.io) ${nsA}/shop`,
  `high unapproved-ingress-certificate Gateway(networking.istio.io) ${nsA}/istio-gw`,
  `high unapproved-ingress-certificate Gateway(gateway.networking.k8s.io) ${nsA}/api-gw`,
  `critical ca-key-in-cluster Secret(v1) ${nsA}/ca-with-key`,
  `medium expired Secret(v1) ${nsA}/old-tls`,
  `medium weak-key Secret(v1) ${nsA}/tiny-tls`,
  `high rogue-issuer Issuer(cert-manager.io) ${nsA}/selfsigned`,
  `high self-signed-ca ValidatingWebhookConfiguration(admissionregistration.k8s.io) /${webhookName} [allowlisted]`,
].sort();

/** The Event reason expected on each object, for the actionable findings. */
const EXPECTED_EVENTS = [
  `Secret/homemade-ca SelfSignedCA Warning`,
  `Ingress/shop UnapprovedIngressCertificate Warning`,
  `Gateway/istio-gw UnapprovedIngressCertificate Warning`,
  `Gateway/api-gw UnapprovedIngressCertificate Warning`,
  `Secret/ca-with-key CAKeyInCluster Warning`,
  `Secret/old-tls CertificateExpired Warning`,
  `Secret/tiny-tls WeakKey Warning`,
  `Issuer/selfsigned RogueIssuer Warning`,
].sort();

class CollectingSink implements FindingSink {
  readonly name = 'collect';
  findings: Finding[] = [];
  begin(): void {
    this.findings = [];
  }
  record(finding: Finding): void {
    this.findings.push(finding);
  }
  complete(): void {
    // kept for the test
  }
}

describeKube('rogue-CA discovery (real kube-apiserver)', () => {
  let admin: KubeClient;
  let scanning: KubeClient;
  let scannerKubeconfig: string;
  let noRbacKubeconfig: string;
  let caDir: string;
  let webRootsFile: string;
  let allowlistFile: string;
  const privateKeys: string[] = [];
  const stop = new AbortController();

  beforeAll(async () => {
    const kubeconfig = testKubeconfig();
    if (kubeconfig === undefined) throw new Error('no test kube-apiserver');
    admin = new KubeClient({ connection: { mode: 'kubeconfig', path: kubeconfig }, maxSockets: 4 });
    const kc = adminKubeConfig();
    await installDiscoveryCrds(admin);
    for (const namespace of [nsA, nsB, nsMeshca]) await createNamespace(kc, namespace);
    await createServiceAccount(kc, nsMeshca, 'meshca');
    await createServiceAccount(kc, nsMeshca, 'nobody');
    await applyManifestRbac(kc, join(REPO_ROOT, 'manifests', 'discovery', 'rbac.yaml'), {
      objectNamespace: nsMeshca,
      meshcaNamespace: nsMeshca,
      suffix: run,
    });
    scannerKubeconfig = await serviceAccountKubeconfig(kc, nsMeshca, 'meshca');
    noRbacKubeconfig = await serviceAccountKubeconfig(kc, nsMeshca, 'nobody');
    scanning = new KubeClient({
      connection: { mode: 'kubeconfig', path: scannerKubeconfig },
      maxSockets: 4,
    });

    // meshca's own root (--ca-dir), the company's web PKI (--approved-roots), and strangers.
    const meshcaRoot = await makeCert({ cn: 'meshca root' });
    const webRoot = await makeCert({ cn: 'corp web root' });
    const webIntermediate = await makeCert({ cn: 'corp web issuing', issuer: webRoot });
    const stranger = await makeCert({ cn: 'somebody else' });
    const dir = tempDir('meshca-discovery-');
    caDir = join(dir, 'ca');
    mkdirSync(caDir);
    writeFileSync(join(caDir, 'root-cert.pem'), pem(meshcaRoot));
    // The key files of a cacerts directory are never opened by the scan.
    writeFileSync(join(caDir, 'ca-key.pem'), 'not a key: the scan must not read this file');
    webRootsFile = join(dir, 'web-roots.pem');
    writeFileSync(webRootsFile, pem(webRoot));
    allowlistFile = join(dir, 'allowlist.yaml');
    writeFileSync(
      allowlistFile,
      `allow:\n  - object: { kind: ValidatingWebhookConfiguration, name: ${webhookName} }\n    reason: the policy engine generates and rotates its own webhook CA\n`,
    );

    const leaf = (
      cn: string,
      issuer: Issued,
      extra: Partial<Parameters<typeof makeCert>[0]> = {},
    ) => makeCert({ cn, ca: false, issuer, ...extra });
    const secrets: [string, string, string, Record<string, string>][] = [];
    const keep = (issued: Issued): string => {
      const text = keyPem(issued);
      privateKeys.push(text);
      return text;
    };

    // 1. A self-signed CA in a Secret (no key: just the CA someone bootstrapped).
    const homemade = await makeCert({ cn: 'homemade CA' });
    secrets.push([nsA, 'homemade-ca', 'Opaque', { 'ca.crt': pem(homemade) }]);
    // 2. A TLS Secret from an unknown issuer behind an Ingress (and an Istio Gateway).
    const shop = await leaf('shop.example.com', stranger);
    secrets.push([
      nsA,
      'shop-tls',
      'kubernetes.io/tls',
      { 'tls.crt': pem(shop), 'tls.key': keep(shop) },
    ]);
    // 3. An approved TLS Secret behind an Ingress (and a Gateway API Gateway): nothing to report.
    const www = await leaf('www.example.com', webIntermediate);
    secrets.push([
      nsA,
      'www-tls',
      'kubernetes.io/tls',
      { 'tls.crt': pem(www, webIntermediate), 'tls.key': keep(www), 'ca.crt': pem(webRoot) },
    ]);
    // 4. ca.crt + tls.key + a CA certificate: an intermediate of meshca's root, key in the cluster.
    const inClusterCa = await makeCert({ cn: 'team CA', issuer: meshcaRoot });
    secrets.push([
      nsA,
      'ca-with-key',
      'Opaque',
      { 'ca.crt': pem(inClusterCa), 'tls.key': keep(inClusterCa) },
    ]);
    // 5. An expired certificate and an RSA-1024 certificate, both from the approved web PKI.
    const old = await leaf('old.example.com', webIntermediate, {
      notBefore: new Date(Date.now() - 400 * DAY),
      notAfter: new Date(Date.now() - 35 * DAY),
    });
    secrets.push([
      nsA,
      'old-tls',
      'kubernetes.io/tls',
      { 'tls.crt': pem(old, webIntermediate), 'tls.key': keep(old) },
    ]);
    const tiny = await leaf('tiny.example.com', webIntermediate, { key: 'rsa-1024' });
    secrets.push([
      nsA,
      'tiny-tls',
      'kubernetes.io/tls',
      { 'tls.crt': pem(tiny, webIntermediate), 'tls.key': keep(tiny) },
    ]);
    // Out of scope (namespace B): its own CA is not reported; the Gateway that serves it is.
    const cross = await leaf('cross.example.com', stranger);
    secrets.push([
      nsB,
      'cross-tls',
      'kubernetes.io/tls',
      { 'tls.crt': pem(cross), 'tls.key': keep(cross) },
    ]);
    secrets.push([nsB, 'homemade-b', 'Opaque', { 'ca.crt': pem(await makeCert({ cn: 'B CA' })) }]);
    for (const [namespace, name, type, data] of secrets) {
      await createSecret(admin, namespace, name, type, data);
    }

    await createIngress(admin, nsA, 'shop', ['shop-tls']);
    await createIngress(admin, nsA, 'www', ['www-tls']);
    await createCustom(admin, 'networking.istio.io/v1beta1', 'gateways', nsA, {
      kind: 'Gateway',
      metadata: { name: 'istio-gw' },
      spec: {
        selector: { istio: 'ingressgateway' },
        servers: [
          {
            port: { number: 443, name: 'https', protocol: 'HTTPS' },
            hosts: ['shop.example.com'],
            tls: { mode: 'SIMPLE', credentialName: 'shop-tls' },
          },
        ],
      },
    });
    await createCustom(admin, 'gateway.networking.k8s.io/v1', 'gateways', nsA, {
      kind: 'Gateway',
      metadata: { name: 'api-gw' },
      spec: {
        gatewayClassName: 'istio',
        listeners: [
          {
            name: 'www',
            port: 443,
            protocol: 'HTTPS',
            tls: { mode: 'Terminate', certificateRefs: [{ kind: 'Secret', name: 'www-tls' }] },
          },
          {
            name: 'cross',
            port: 8443,
            protocol: 'HTTPS',
            tls: { certificateRefs: [{ name: 'cross-tls', namespace: nsB }] },
          },
        ],
      },
    });
    // 6. A cert-manager-style self-signed Issuer (and an ACME one, which is fine).
    await createCustom(admin, 'cert-manager.io/v1', 'issuers', nsA, {
      kind: 'Issuer',
      metadata: { name: 'selfsigned' },
      spec: { selfSigned: {} },
    });
    await createCustom(admin, 'cert-manager.io/v1', 'issuers', nsA, {
      kind: 'Issuer',
      metadata: { name: 'letsencrypt' },
      spec: { acme: { server: 'https://acme.invalid/directory' } },
    });
    // 7. An allowlisted webhook CA.
    const webhookCa = await makeCert({ cn: 'policy webhook CA' });
    await createInertWebhook(admin, webhookName, pem(webhookCa));
  }, 120_000);

  afterAll(async () => {
    stop.abort();
    await remove(
      admin,
      `/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/${webhookName}`,
    );
    await scanning.close();
    await admin.close();
    removeTempDirs();
  });

  async function scanOnce(sinks: FindingSink[], allowlist: Allowlist) {
    const anchors = [
      ...(await loadCaDirectoryRoots(caDir)),
      ...(await loadApprovedRoots([webRootsFile])),
    ];
    const collect = new CollectingSink();
    const scanner = new Scanner(
      {
        reader: new KubeClusterCertificateReader(scanning, {
          pageSize: 3,
          requestTimeoutMs: 10_000,
        }),
        anchors: () => anchors,
        allowlist,
        sinks: [...sinks, collect],
        cache: new VerdictCache(1000),
        clock: systemClock,
        logger,
      },
      {
        scope: { namespaces: [nsA] },
        expiringSoonMs: 30 * DAY,
        certManagerNamespace: 'cert-manager',
      },
    );
    const summary = await scanner.scan(stop.signal);
    return { summary, findings: collect.findings };
  }

  let first: Awaited<ReturnType<typeof scanOnce>>;
  let registry: Registry;
  let report: ReportSink;
  let recorder: KubeEventRecorder;

  it('reports exactly the planted problems, each once, and marks the allowlisted one', async () => {
    registry = new Registry();
    report = new ReportSink({ cluster: scanning.server, maxFindings: 1000 });
    recorder = new KubeEventRecorder(
      scanning,
      {
        component: 'meshca',
        instance: 'test',
        eventsPerSecond: 50,
        queueSize: 100,
        repeatAfterMs: 3600_000,
        rememberedKeys: 1000,
        requestTimeoutMs: 10_000,
      },
      { clock: systemClock, logger },
    );
    await recorder.start(stop.signal);
    first = await scanOnce(
      [
        report,
        new MetricsFindingSink(new DiscoveryMetrics(registry)),
        new EventFindingSink(recorder),
      ],
      await loadAllowlist(allowlistFile),
    );
    expect(ours(first.findings).map(label).sort()).toEqual(EXPECTED);
    expect(first.summary.complete).toBe(true);
    const coverage = Object.fromEntries(first.summary.sources.map((s) => [s.source, s.state]));
    expect(coverage).toEqual({
      secrets: 'scanned',
      ingresses: 'scanned',
      'istio-gateways': 'scanned',
      'gateway-api-gateways': 'scanned',
      'cert-manager-issuers': 'scanned',
      'cert-manager-cluster-issuers': 'scanned',
      'validating-webhook-configurations': 'scanned',
      'mutating-webhook-configurations': 'scanned',
      'api-services': 'scanned',
    });
    // Paged three at a time: all six Secrets of namespace A were read.
    expect(first.summary.sources.find((s) => s.source === 'secrets')?.objects).toBe(6);
    const viaSecret = first.findings.find((f) => f.object.name === 'api-gw')?.via;
    expect(viaSecret).toMatchObject({ namespace: nsB, name: 'cross-tls' });
    const ingress = first.findings.find((f) => f.object.name === 'shop');
    expect(ingress?.object.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(ingress?.certificate?.subject).toContain('CN=shop.example.com');
    expect(ingress?.certificate?.issuer).toContain('CN=somebody else');
  });

  it('posts one Event on each object with an actionable finding, and only one', async () => {
    await recorder.drained(stop.signal);
    expect(recorder.stats()).toMatchObject({ created: 8, failed: 0, dropped: 0 });
    expect(await ourEvents(nsA)).toEqual(EXPECTED_EVENTS.map((event) => `${event} 1`));
    // The allowlisted webhook gets none (cluster-scoped objects' Events would be in default).
    expect((await ourEvents('default')).filter((event) => event.includes(webhookName))).toEqual([]);

    // The next scan repeats nothing within repeatAfterMs...
    await scanOnce([new EventFindingSink(recorder)], await loadAllowlist(allowlistFile));
    await recorder.drained(stop.signal);
    expect(recorder.stats()).toMatchObject({ created: 8, suppressed: 8 });
    // ...and another replica (a new leader, a restart) raises the count of the same Events.
    const other = new KubeEventRecorder(
      scanning,
      {
        component: 'meshca',
        instance: 'other',
        eventsPerSecond: 50,
        queueSize: 100,
        repeatAfterMs: 3600_000,
        rememberedKeys: 1000,
        requestTimeoutMs: 10_000,
      },
      { clock: systemClock, logger },
    );
    await other.start(stop.signal);
    await scanOnce([new EventFindingSink(other)], await loadAllowlist(allowlistFile));
    await other.drained(stop.signal);
    await other.close();
    expect(other.stats()).toMatchObject({ created: 0, updated: 8, failed: 0 });
    expect(await ourEvents(nsA)).toEqual(EXPECTED_EVENTS.map((event) => `${event} 2`));
    await recorder.close();
  });

  async function ourEvents(namespace: string): Promise<string[]> {
    const list = (await admin.requestJson(
      'GET',
      `/api/v1/namespaces/${namespace}/events`,
      undefined,
      AbortSignal.timeout(10_000),
    )) as {
      items: {
        involvedObject: { kind: string; name: string; uid?: string };
        reason: string;
        type: string;
        count: number;
        source?: { component?: string };
      }[];
    };
    return list.items
      .filter((event) => event.source?.component === 'meshca')
      .map(
        (e) => `${e.involvedObject.kind}/${e.involvedObject.name} ${e.reason} ${e.type} ${e.count}`,
      )
      .sort();
  }

  it('publishes the same counts in meshca_discovery_findings', async () => {
    const text = await registry.metrics();
    const gauge = text
      .split('\n')
      .filter((line) => line.startsWith('meshca_discovery_findings{'))
      .sort();
    // Findings of other tests' cluster-scoped objects would show here too; there are none.
    expect(first.findings.length - ours(first.findings).length).toBe(0);
    expect(gauge).toEqual([
      'meshca_discovery_findings{kind="ca-key-in-cluster",severity="critical"} 1',
      'meshca_discovery_findings{kind="expired",severity="medium"} 1',
      'meshca_discovery_findings{kind="rogue-issuer",severity="high"} 1',
      'meshca_discovery_findings{kind="self-signed-ca",severity="high"} 1',
      'meshca_discovery_findings{kind="unapproved-ingress-certificate",severity="high"} 3',
      'meshca_discovery_findings{kind="weak-key",severity="medium"} 1',
    ]);
    expect(text).toContain('meshca_discovery_scans_total{result="ok"} 1');
    expect(text).toMatch(/meshca_discovery_last_scan_timestamp_seconds \d+/);
    expect(report.report()?.summary).toMatchObject({ findings: 9, allowlisted: 1, actionable: 8 });
  });

  function cli(args: string[], kubeconfig = scannerKubeconfig, isTTY = false) {
    let out = '';
    let err = '';
    const io = {
      stdout: { write: (text: string) => (out += text) },
      stderr: { write: (text: string) => (err += text), isTTY },
      env: {},
      cwd: process.cwd(),
    };
    return runCommand(
      [
        'scan',
        '--kubeconfig',
        kubeconfig,
        '-n',
        nsA,
        '--ca-dir',
        caDir,
        '--approved-roots',
        webRootsFile,
        ...args,
      ],
      io,
      stop.signal,
    ).then((code) => ({ code, out, err }));
  }

  it('meshca scan -o json prints the same findings and exits 3', async () => {
    const { code, out, err } = await cli([
      '--allowlist',
      allowlistFile,
      '-o',
      'json',
      '--page-size',
      '2',
    ]);
    expect(code).toBe(3);
    const parsed = JSON.parse(out) as DiscoveryReport;
    expect(parsed.schemaVersion).toBe('meshca.io/discovery-report/v1');
    expect(ours(parsed.findings).map(label).sort()).toEqual(EXPECTED);
    expect(
      ours(parsed.findings)
        .map((f) => f.id)
        .sort(),
    ).toEqual(
      ours(first.findings)
        .map((f) => f.id)
        .sort(),
    );
    expect(parsed.findings[0]?.severity).toBe('critical');
    expect(parsed.cluster).toBe(scanning.server);
    // Not a terminal: plain progress lines on stderr.
    expect(err).toMatch(/^scan: Secrets: 6 read; \d+ finding\(s\) so far$/m);
    expect(err).not.toContain('\r');
  });

  it('meshca scan draws a progress bar on a terminal', async () => {
    const { code, err } = await cli(
      ['--allowlist', allowlistFile, '--page-size', '2'],
      scannerKubeconfig,
      true,
    );
    expect(code).toBe(3);
    // Redrawn in place; the API server's remainingItemCount gives the bar its length.
    expect(err).toContain('\r\x1b[K');
    expect(err).toMatch(/Secrets\s+(\[[#-]{30}\] )?6(\/6)? read, \d+ finding\(s\)\n/);
    expect(err).not.toMatch(/^scan: /m);
  });

  it('meshca scan prints a report a person can read', async () => {
    const { code, out } = await cli(['--allowlist', allowlistFile]);
    expect(code).toBe(3);
    expect(out).toContain(`[CRITICAL] ca-key-in-cluster  Secret ${nsA}/ca-with-key  (tls.key)`);
    expect(out).toContain(
      `[HIGH] unapproved-ingress-certificate  Ingress ${nsA}/shop  (spec.tls[0])`,
    );
    expect(out).toContain(`via          Secret ${nsA}/shop-tls`);
    expect(out).toContain(`allowlisted  by object ValidatingWebhookConfiguration ${webhookName}`);
    expect(out).toMatch(/judged by\s+2 approved roots/);
  });

  it.each([
    ['--fail-on critical', 3, ['--fail-on', 'critical']],
    ['--fail-on never', 0, ['--fail-on', 'never']],
  ] as const)('meshca scan %s exits %d', async (_name, expected, args) => {
    const { code } = await cli(['--allowlist', allowlistFile, '-q', ...args]);
    expect(code).toBe(expected);
  });

  it('meshca scan without the RBAC: every list forbidden, incomplete, exit 4', async () => {
    const { code, out, err } = await cli(['--fail-on', 'high'], noRbacKubeconfig);
    expect(code).toBe(4);
    expect(out).toMatch(/Secrets\s+NOT SCANNED \(forbidden: /);
    expect(out).toContain('this report is incomplete');
    expect(err).toContain('scan: Secrets: 0 read');
  });

  it('never puts a private key in anything it produces', async () => {
    const { out: json } = await cli(['-o', 'json', '-q']);
    const { out: table } = await cli(['-q']);
    const produced = [
      json,
      table,
      JSON.stringify(first.findings),
      JSON.stringify(report.report()),
      (await ourEvents(nsA)).join('\n'),
    ].join('\n');
    expect(privateKeys.length).toBeGreaterThan(5);
    for (const key of privateKeys) {
      const body = key.split('\n').slice(1, -2).join('');
      expect(produced).not.toContain(body.slice(0, 40));
      expect(produced).not.toContain(Buffer.from(key).toString('base64').slice(0, 40));
    }
    expect(produced).not.toContain('PRIVATE KEY');
  });
});

/**
 * Continuous discovery in `meshca serve` (`discovery: true`), against the real API server under
 * the RBAC of manifests/base plus manifests/discovery: the leader scans, a planted self-signed CA
 * shows in `meshca_discovery_findings`, as an Event on its Secret and in the report at
 * `/v1/discovery/report`; meshca's own CA Secret is allowlisted, not counted.
 */
import * as k8s from '@kubernetes/client-node';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../../src/cli/serve.js';
import { loadConfig } from '../../src/config/index.js';
import { makeCert, pem } from '../discovery/fixtures.js';
import { REPO_ROOT } from '../support/environment.js';
import {
  adminKubeConfig,
  applyManifestRbac,
  createServedNamespace,
  describeKube,
  eventually,
  meshcaKubeArgs,
  setupMeshcaNamespaces,
  uniqueName,
  type MeshcaNamespaces,
} from '../support/kube.js';
import { createTestPki, writeTestPki } from '../support/pki.js';
import { memoryLogger } from '../support/server.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';

describeKube('continuous discovery in meshca serve', () => {
  let admin: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  let namespaces: MeshcaNamespaces;
  let server: RunningServer | undefined;

  beforeAll(async () => {
    admin = adminKubeConfig();
    core = admin.makeApiClient(k8s.CoreV1Api);
    namespaces = await setupMeshcaNamespaces(admin);
    await applyManifestRbac(admin, join(REPO_ROOT, 'manifests', 'discovery', 'rbac.yaml'), {
      objectNamespace: namespaces.meshca,
      meshcaNamespace: namespaces.meshca,
      suffix: namespaces.run,
    });
  });
  afterAll(async () => {
    await server?.stop();
    removeTempDirs();
  });

  it('scans on the leader: the planted CA in the metric and as an Event on its Secret', async () => {
    const planted = uniqueName('rogue');
    await createServedNamespace(admin, namespaces, planted);
    const homemade = await makeCert({ cn: 'homemade CA' });
    await core.createNamespacedSecret({
      namespace: planted,
      body: {
        metadata: { name: 'homemade-ca' },
        type: 'Opaque',
        stringData: { 'ca.crt': pem(homemade) },
      },
    });
    const pki = await createTestPki({ name: 'discovery-serve' });
    const caDir = tempDir('meshca-ca-');
    await writeTestPki(caDir, pki);
    const { config } = await loadConfig({
      argv: [
        ...meshcaKubeArgs(namespaces),
        '--ca-dir',
        caDir,
        '--discovery',
        '--discovery-namespaces',
        planted,
        '--discovery-initial-delay',
        '0s',
        '--state-dir',
        tempDir('meshca-state-'),
        '--listen',
        '127.0.0.1:0',
        '--http-listen',
        '127.0.0.1:0',
      ],
      env: {},
      cwd: process.cwd(),
    });
    const { logger, lines } = memoryLogger();
    server = await startServer(config, { logger, processMetrics: false });
    const running = server;
    const findings = async (): Promise<string[]> => {
      const { body } = await running.metrics.exposition();
      return body.split('\n').filter((line) => line.startsWith('meshca_discovery_findings{'));
    };
    const line = await eventually(
      'the planted CA counted',
      async () => (await findings()).find((text) => text.includes('kind="self-signed-ca"')),
      60_000,
    );
    expect(Number(line.slice(line.lastIndexOf(' ') + 1))).toBe(1);
    const events = await eventually(
      'an Event on the Secret',
      async () => {
        const list = await core.listNamespacedEvent({ namespace: planted });
        const matching = list.items.filter(
          (event) =>
            event.involvedObject.kind === 'Secret' && event.involvedObject.name === 'homemade-ca',
        );
        return matching.length > 0 ? matching : undefined;
      },
      30_000,
    );
    expect(events[0]?.type).toBe('Warning');
    expect(lines().some((text) => text.includes('rogue-CA discovery enabled'))).toBe(true);

    // The same JSON as `meshca scan -o json`, on the operations port (loopback: no token).
    const response = await fetch(`http://127.0.0.1:${running.httpPort}/v1/discovery/report`);
    expect(response.status).toBe(200);
    const report = (await response.json()) as {
      schemaVersion: string;
      scope: { namespaces: string[] };
      findings: { kind: string; object: { kind: string; namespace: string; name: string } }[];
    };
    expect(report.schemaVersion).toBe('meshca.io/discovery-report/v1');
    expect(report.scope.namespaces).toEqual([planted]);
    expect(
      report.findings.map((finding) => [
        finding.kind,
        finding.object.kind,
        finding.object.namespace,
        finding.object.name,
      ]),
    ).toContainEqual(['self-signed-ca', 'Secret', planted, 'homemade-ca']);
  }, 120_000);
});

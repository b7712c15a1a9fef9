/**
 * Trust-bundle distribution against the real API server (ISTIO-CONTRACT.md checklist 31-32):
 * `istio-ca-root-cert` appears in existing and new namespaces, is repaired after an edit and
 * recreated after a delete, leaves namespaces that leave the selector, tolerates terminating
 * namespaces, and holds the very bytes of the last element of CreateCertificate responses.
 * meshca runs under the service account of manifests/, with its CA from a Secret.
 */
import * as k8s from '@kubernetes/client-node';
import { checkCertificateChain } from '../../src/ca/index.js';
import {
  adminKubeConfig,
  createServedNamespace,
  createServiceAccount,
  describeKube,
  eventually,
  meshcaKubeArgs,
  requestToken,
  setupMeshcaNamespaces,
  type MeshcaNamespaces,
} from '../support/kube.js';
import { createTestPki } from '../support/pki.js';
import { startDevServer, type DevServer } from '../support/server.js';
import { removeTempDirs } from '../support/tmp.js';
import { csrFor } from '../server/harness.js';

const NAME = 'istio-ca-root-cert';

describeKube('trust-bundle ConfigMaps', () => {
  let admin: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  let namespaces: MeshcaNamespaces;
  let meshca: DevServer;
  let bundle: string;
  const served = (suffix: string): string => `tb-${namespaces.run}-${suffix}`;

  const configMap = async (namespace: string): Promise<k8s.V1ConfigMap | undefined> => {
    try {
      return await core.readNamespacedConfigMap({ name: NAME, namespace });
    } catch (error) {
      if (error instanceof k8s.ApiException && error.code === 404) return undefined;
      throw error;
    }
  };
  const exact = async (namespace: string): Promise<k8s.V1ConfigMap | undefined> => {
    const found = await configMap(namespace);
    const data = found?.data ?? {};
    return Object.keys(data).length === 1 &&
      data['root-cert.pem'] === bundle &&
      found?.metadata?.labels?.['istio.io/config'] === 'true'
      ? found
      : undefined;
  };

  beforeAll(async () => {
    admin = adminKubeConfig();
    core = admin.makeApiClient(k8s.CoreV1Api);
    namespaces = await setupMeshcaNamespaces(admin);
    const pki = await createTestPki({ name: 'trust-bundle' });
    bundle = pki.material().trustBundle.pem;
    await core.createNamespacedSecret({
      namespace: namespaces.meshca,
      body: {
        metadata: { name: 'cacerts' },
        stringData: {
          'ca-cert.pem': pki.files.caCertPem,
          'ca-key.pem': pki.files.caKeyPem,
          'cert-chain.pem': pki.files.certChainPem,
          'root-cert.pem': pki.files.rootCertPem,
        },
      },
    });
    await createServedNamespace(admin, namespaces, served('a'));
    await createServedNamespace(admin, namespaces, served('b'));
    await core.createNamespace({ body: { metadata: { name: served('unlabelled') } } });
    await createServedNamespace(admin, namespaces, served('excluded'));
    meshca = await startDevServer([
      ...meshcaKubeArgs(namespaces),
      '--ca-secret',
      'cacerts',
      '--trust-bundle-excluded-namespaces',
      served('excluded'),
    ]);
  });
  afterAll(async () => {
    await meshca.stop();
    removeTempDirs();
  });

  it('appears in every selected namespace that existed before meshca started', async () => {
    const found = await eventually('ConfigMap in a', () => exact(served('a')));
    await eventually('ConfigMap in b', () => exact(served('b')));
    expect(found.metadata?.labels?.['app.kubernetes.io/managed-by']).toBe('meshca');
  });

  it('stays out of namespaces that are not selected or excluded', async () => {
    await eventually('ConfigMap in b', () => exact(served('b')));
    expect(await configMap(served('unlabelled'))).toBeUndefined();
    expect(await configMap(served('excluded'))).toBeUndefined();
  });

  it('appears in a namespace created later', async () => {
    await createServedNamespace(admin, namespaces, served('late'));
    await eventually('ConfigMap in late', () => exact(served('late')));
  });

  it('holds the same bytes as the last element of CreateCertificate', async () => {
    await createServiceAccount(admin, served('a'), 'web');
    const uri = `spiffe://cluster.local/ns/${served('a')}/sa/web`;
    const csr = await csrFor(uri);
    const token = await requestToken(admin, served('a'), 'web', { audiences: ['istio-ca'] });
    const chain = await meshca.client().createCertificate({ csrPem: csr.csrPem, token });
    checkCertificateChain(chain, { uri, spkiDer: csr.spkiDer, at: new Date() });
    const distributed = await eventually('ConfigMap in a', () => exact(served('a')));
    expect(chain[chain.length - 1]).toBe(distributed.data?.['root-cert.pem']);
  });

  it('is repaired after an edit: value restored, extra keys removed, foreign labels kept', async () => {
    const current = await eventually('ConfigMap in b', () => exact(served('b')));
    await core.replaceNamespacedConfigMap({
      name: NAME,
      namespace: served('b'),
      body: {
        ...current,
        metadata: { ...current.metadata, labels: { team: 'payments' } },
        data: { 'root-cert.pem': 'tampered', 'extra.pem': 'x' },
      },
    });
    const repaired = await eventually('repaired ConfigMap in b', () => exact(served('b')));
    expect(repaired.metadata?.labels?.['team']).toBe('payments');
    expect(Object.keys(repaired.data ?? {})).toEqual(['root-cert.pem']);
  });

  it('is recreated after a delete', async () => {
    await eventually('ConfigMap in a', () => exact(served('a')));
    await core.deleteNamespacedConfigMap({ name: NAME, namespace: served('a') });
    await eventually('recreated ConfigMap in a', () => exact(served('a')));
  });

  it('leaves a namespace that leaves the selector, but never deletes what it did not create', async () => {
    await createServedNamespace(admin, namespaces, served('leaving'));
    await eventually('ConfigMap in leaving', () => exact(served('leaving')));
    await core.patchNamespace(
      {
        name: served('leaving'),
        body: [{ op: 'remove', path: '/metadata/labels/meshca.test~1run' }],
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch),
    );
    await eventually('ConfigMap removed from leaving', async () =>
      (await configMap(served('leaving'))) === undefined ? true : undefined,
    );
    // A ConfigMap someone else made in an unselected namespace stays.
    await core.createNamespacedConfigMap({
      namespace: served('unlabelled'),
      body: { metadata: { name: NAME }, data: { 'root-cert.pem': 'theirs' } },
    });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect((await configMap(served('unlabelled')))?.data?.['root-cert.pem']).toBe('theirs');
  });

  it('tolerates a terminating namespace and keeps serving the others', async () => {
    const namespace = served('terminating');
    await createServedNamespace(admin, namespaces, namespace);
    await eventually('ConfigMap in terminating', () => exact(namespace));
    // A finalizer holds the namespace in Terminating.
    await core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: 'held', finalizers: ['meshca.test/hold'] } },
    });
    await core.deleteNamespace({ name: namespace });
    await eventually('namespace terminating', async () =>
      (await core.readNamespace({ name: namespace })).status?.phase === 'Terminating'
        ? true
        : undefined,
    );
    await createServedNamespace(admin, namespaces, served('after'));
    await eventually('ConfigMap in after', () => exact(served('after')));
    await core.patchNamespacedConfigMap(
      { name: 'held', namespace, body: [{ op: 'remove', path: '/metadata/finalizers' }] },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch),
    );
  });

  it('counts its writes in metrics', async () => {
    const { body } = await meshca.server.metrics.exposition();
    expect(body).toMatch(/meshca_trust_bundle_configmap_writes_total\{action="created"\} [1-9]/);
    expect(body).toMatch(/meshca_trust_bundle_configmap_writes_total\{action="updated"\} [1-9]/);
    expect(body).toMatch(/meshca_leader 1/);
  });
});

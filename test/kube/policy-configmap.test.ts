/**
 * A policy kept in a ConfigMap that meshca watches, against the real kube-apiserver and under
 * meshca's RBAC: it loads at start, reloads on every edit without polling, and a broken or
 * unsigned edit keeps the policy in force.
 */
import * as k8s from '@kubernetes/client-node';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeClient, KubeConfigMapPolicyReader } from '../../src/kube/index.js';
import { silentLogger } from '../../src/logger.js';
import {
  PolicySignatureVerifier,
  PolicySource,
  PolicyStore,
  signPolicy,
} from '../../src/policy/index.js';
import { REPO_ROOT } from '../support/environment.js';
import {
  adminKubeConfig,
  applyManifestRbac,
  describeKube,
  eventually,
  setupMeshcaNamespaces,
  type MeshcaNamespaces,
} from '../support/kube.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';
import { document } from '../policy/fixtures.js';
import { RecordingMetrics } from '../policy/recorders.js';

const NAME = 'meshca-policy-central';

describeKube('a policy in a watched ConfigMap', () => {
  let admin: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  let namespaces: MeshcaNamespaces;
  let client: KubeClient;
  let privatePem: string;
  let verifier: PolicySignatureVerifier;
  const running = new AbortController();

  beforeAll(async () => {
    admin = adminKubeConfig();
    core = admin.makeApiClient(k8s.CoreV1Api);
    namespaces = await setupMeshcaNamespaces(admin);
    await applyManifestRbac(admin, join(REPO_ROOT, 'manifests/policy/rbac.yaml'), {
      objectNamespace: namespaces.meshca,
      meshcaNamespace: namespaces.meshca,
      suffix: namespaces.run,
    });
    client = new KubeClient({
      connection: { mode: 'kubeconfig', path: namespaces.kubeconfig },
      maxSockets: 4,
    });
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    privatePem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const publicFile = join(tempDir(), 'security-team.pem');
    writeFileSync(publicFile, pair.publicKey.export({ type: 'spki', format: 'pem' }));
    verifier = await PolicySignatureVerifier.fromFiles([publicFile]);
  });

  afterAll(async () => {
    running.abort();
    await client.close();
    removeTempDirs();
  });

  async function signed(name: string, spec: string): Promise<Record<string, string>> {
    const text = document(spec, name);
    return {
      'policy.yaml': text,
      'policy.yaml.jws': await signPolicy(privatePem, Buffer.from(text)),
    };
  }

  async function put(
    data: Record<string, string>,
    binaryData?: Record<string, string>,
  ): Promise<void> {
    const body = { metadata: { name: NAME }, data, ...(binaryData ? { binaryData } : {}) };
    try {
      await core.replaceNamespacedConfigMap({ name: NAME, namespace: namespaces.meshca, body });
    } catch (error) {
      if ((error as { code?: number }).code !== 404) throw error;
      await core.createNamespacedConfigMap({ namespace: namespaces.meshca, body });
    }
  }

  function source(store: PolicyStore, metrics: RecordingMetrics): PolicySource {
    return new PolicySource({
      layer: 'central',
      reader: new KubeConfigMapPolicyReader(
        client,
        { namespace: namespaces.meshca, name: NAME, requestTimeoutMs: 5000 },
        silentLogger(),
      ),
      verifier,
      store,
      // An hour: every reload seen here comes from the watch, not from polling.
      reloadIntervalMs: 3_600_000,
      metrics,
      logger: silentLogger(),
    });
  }

  it('without the ConfigMap, meshca does not start', async () => {
    const policySource = source(new PolicyStore(), new RecordingMetrics());
    await expect(policySource.start(running.signal)).rejects.toThrow(
      `the central policy (ConfigMap ${namespaces.meshca}/${NAME} key policy.yaml) could not be loaded, so meshca will not start: rejected: ConfigMap ${namespaces.meshca}/${NAME} key policy.yaml: the policy document does not exist`,
    );
    await policySource.close();
  });

  it('loads, follows edits, and keeps the last good version through broken and unsigned ones', async () => {
    await put(await signed('v1', 'defaultAction: allow'));
    const store = new PolicyStore();
    const metrics = new RecordingMetrics();
    const policySource = source(store, metrics);
    await policySource.start(running.signal);
    try {
      expect(store.snapshot().central).toMatchObject({
        name: 'v1',
        origin: `ConfigMap ${namespaces.meshca}/${NAME} key policy.yaml`,
      });

      await put(await signed('v2', 'defaultAction: deny'));
      await eventually('v2 in force', () =>
        store.snapshot().central?.name === 'v2' ? true : undefined,
      );

      // A broken edit, properly signed: refused, v2 kept.
      await put(await signed('v3', 'defaultAction: sometimes'));
      await eventually('the broken edit refused', () =>
        metrics.reloads.includes('central:rejected') ? true : undefined,
      );
      expect(store.snapshot().central?.name).toBe('v2');
      expect(policySource.readiness()[0]?.check()).toMatch(
        /^keeping v2 \(sha256 [0-9a-f]{12}\); newest version refused: rejected: ConfigMap .* key policy.yaml:6:\d+: spec.defaultAction/,
      );

      // An unsigned edit: refused, v2 kept.
      const unsigned = await signed('v4', 'defaultAction: allow');
      delete unsigned['policy.yaml.jws'];
      await put(unsigned);
      await eventually('the unsigned edit refused', () =>
        metrics.reloads.includes('central:unsigned') ? true : undefined,
      );
      expect(store.snapshot().central?.name).toBe('v2');

      // A good edit, as binaryData: in force.
      const good = await signed('v5', 'defaultAction: allow');
      await put(
        { 'policy.yaml.jws': good['policy.yaml.jws']! },
        { 'policy.yaml': Buffer.from(good['policy.yaml']!).toString('base64') },
      );
      await eventually('v5 in force', () =>
        store.snapshot().central?.name === 'v5' ? true : undefined,
      );
      expect(policySource.readiness()[0]?.check()).toBeUndefined();
      expect(metrics.reloads).toEqual([
        'central:loaded',
        'central:loaded',
        'central:rejected',
        'central:unsigned',
        'central:loaded',
      ]);
    } finally {
      await policySource.close();
    }
  });
});

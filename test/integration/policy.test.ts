/**
 * The layered issuance policy in `meshca serve` against the real kube-apiserver, meshca running
 * under exactly the RBAC of manifests/base, callers authenticated by TokenReview of pod-bound
 * TokenRequest tokens, the policies in ConfigMaps meshca watches (the central one signed):
 * - just in time: a deleted pod's still-valid token is refused within seconds, a pod created a
 *   moment before its first request is accepted;
 * - an Ingress required: issued once it exists, refused once it is gone;
 * - the namespace-label opt-in;
 * - a ConfigMap edit reloads without a restart, a broken or badly signed edit keeps the policy in
 *   force (metric, /readyz details, the log line naming the policy and its SHA-256) — in a real
 *   `meshca serve` process.
 */
import { status as Status } from '@grpc/grpc-js';
import * as k8s from '@kubernetes/client-node';
import { CaClient } from '../../src/client/index.js';
import { document } from '../policy/fixtures.js';
import {
  adminKubeConfig,
  createPod,
  createServiceAccount,
  describeKube,
  eventually,
  meshcaKubeArgs,
  requestToken,
  setupMeshcaNamespaces,
  uniqueName,
  type MeshcaNamespaces,
} from '../support/kube.js';
import { startMeshcaProcess, type MeshcaProcess } from '../support/meshca-process.js';
import { createTestPki, writeTestPki } from '../support/pki.js';
import {
  callCa,
  metricValue,
  signText,
  signingKey,
  spiffe,
  writePolicy,
  type CallOutcome,
  type SigningKey,
} from '../support/policy.js';
import { startDevServer, type DevServer } from '../support/server.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';

const CENTRAL_CONFIGMAP = 'meshca-policy-central';
const LOCAL_CONFIGMAP = 'meshca-policy-local';

/** The security team's baseline: every identity only to a live workload. */
const CENTRAL = `
defaultAction: allow
rules:
  - name: live-workload
    liveWorkload: true
`;

/** The platform team's rules for the namespaces of this run. */
function localSpec(shop: string, optIn: string, extra = ''): string {
  return `
defaultAction: allow
rules:
  - name: shop-ingress
    selector: { namespaces: [${shop}] }
    requiredObjects: [{ apiVersion: networking.k8s.io/v1, kind: Ingress }]
  - name: opt-in
    selector: { namespaces: [${optIn}] }
    namespaceLabels: { meshca.io/identities: enabled }
${extra}`;
}

describeKube('the issuance policy against a real API server', () => {
  let admin: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  let networking: k8s.NetworkingV1Api;
  let namespaces: MeshcaNamespaces;
  let caDir: string;
  let rootCertPem: string;
  let key: SigningKey;
  let meshca: DevServer;
  const jit = uniqueName('jit');
  const shop = uniqueName('shop');
  const optIn = uniqueName('optin');

  /** Creates or replaces a policy ConfigMap in meshca's namespace. */
  async function putConfigMap(name: string, data: Record<string, string>): Promise<void> {
    const namespace = namespaces.meshca;
    const body = { metadata: { name }, data };
    try {
      await core.replaceNamespacedConfigMap({ name, namespace, body });
    } catch (error) {
      if ((error as { code?: number }).code !== 404) throw error;
      await core.createNamespacedConfigMap({ namespace, body });
    }
  }

  async function signedCentral(name: string, spec: string): Promise<Record<string, string>> {
    const text = document(spec, name);
    return { 'policy.yaml': text, 'policy.yaml.jws': await signText(text, key) };
  }

  const setRunning = async (namespace: string, name: string): Promise<void> => {
    await core.patchNamespacedPodStatus(
      { name, namespace, body: { status: { phase: 'Running' } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
  };

  /** A pod of `namespace/web` and a token bound to it (audience istio-ca), as the kubelet mints. */
  async function workload(
    namespace: string,
    name: string,
    running = true,
  ): Promise<{ token: string; uid: string }> {
    const pod = await createPod(admin, namespace, name, 'web');
    if (running) await setRunning(namespace, name);
    const uid = pod.metadata?.uid ?? '';
    const token = await requestToken(admin, namespace, 'web', {
      audiences: ['istio-ca'],
      pod: { name, uid },
    });
    return { token, uid };
  }

  const call = (
    server: { client(): CaClient },
    namespace: string,
    token: string,
  ): Promise<CallOutcome> => callCa(server.client(), token, spiffe(namespace, 'web'));

  beforeAll(async () => {
    admin = adminKubeConfig();
    core = admin.makeApiClient(k8s.CoreV1Api);
    networking = admin.makeApiClient(k8s.NetworkingV1Api);
    namespaces = await setupMeshcaNamespaces(admin);
    caDir = tempDir('meshca-ca-');
    const pki = await createTestPki({ name: 'policy' });
    rootCertPem = pki.files.rootCertPem;
    await writeTestPki(caDir, pki);
    key = signingKey(tempDir('meshca-keys-'), 'security-team');
    for (const namespace of [jit, shop, optIn]) {
      await core.createNamespace({ body: { metadata: { name: namespace } } });
      await createServiceAccount(admin, namespace, 'web');
    }
    await putConfigMap(CENTRAL_CONFIGMAP, await signedCentral('security-baseline', CENTRAL));
    await putConfigMap(LOCAL_CONFIGMAP, {
      'policy.yaml': document(localSpec(shop, optIn), 'platform'),
    });
    meshca = await startDevServer([
      ...meshcaKubeArgs(namespaces),
      '--ca-dir',
      caDir,
      '--policy-central-config-map',
      CENTRAL_CONFIGMAP,
      '--policy-local-config-map',
      LOCAL_CONFIGMAP,
      '--policy-signing-keys',
      key.publicFile,
    ]);
    await eventually('meshca ready', () =>
      meshca.server.ops.readiness().ready ? true : undefined,
    );
  }, 60_000);

  afterAll(async () => {
    await meshca.stop();
    removeTempDirs();
  });

  describe('just-in-time identities (central live-workload rule)', () => {
    it('refuses the still-valid token of a deleted pod within seconds', async () => {
      const { token } = await workload(jit, 'web-1');
      expect((await call(meshca, jit, token)).code).toBe(Status.OK);

      await core.deleteNamespacedPod({ name: 'web-1', namespace: jit, gracePeriodSeconds: 0 });
      const deleted = Date.now();
      const refused = await eventually(
        'the deleted pod refused',
        async () => {
          const outcome = await call(meshca, jit, token);
          return outcome.code === Status.OK ? undefined : outcome;
        },
        5_000,
      );
      expect(Date.now() - deleted).toBeLessThan(5_000);
      // Refused by the policy: the token itself still authenticates (meshca's token cache). A
      // force-deleted pod may first show up terminating (deletionTimestamp set), then gone.
      expect(refused.code).toBe(Status.PERMISSION_DENIED);
      expect(refused.details).toMatch(
        /^policy central\/live-workload: the caller's pod (is terminating|is gone \(deleted, or finished\))$/,
      );
      await eventually('the pod gone', async () =>
        (await call(meshca, jit, token)).details ===
        "policy central/live-workload: the caller's pod is gone (deleted, or finished)"
          ? true
          : undefined,
      );
      expect(
        meshca
          .logs()
          .filter((line) => line.includes('"msg":"certificate request refused"'))
          .at(-1),
      ).toContain('"code":"ERR_POLICY_DENIED"');
    });

    it('accepts a pod created a moment before its first request', async () => {
      // Pending, as a pod is when its proxy first asks; no wait for the watch.
      const { token } = await workload(jit, 'web-2', false);
      const outcome = await call(meshca, jit, token);
      expect(outcome).toMatchObject({ code: Status.OK, details: '' });
    });

    it('refuses a token that is not bound to a pod, saying so', async () => {
      const token = await requestToken(admin, jit, 'web', { audiences: ['istio-ca'] });
      expect(await call(meshca, jit, token)).toMatchObject({
        code: Status.PERMISSION_DENIED,
        details:
          "policy central/live-workload: the caller's token is not bound to a pod (a projected, pod-bound token is required)",
      });
    });
  });

  it('issues while an Ingress exists in the namespace, and refuses once it is gone', async () => {
    const { token } = await workload(shop, 'web-1');
    expect(await call(meshca, shop, token)).toMatchObject({
      code: Status.PERMISSION_DENIED,
      details: `policy local/shop-ingress: no Ingress (networking.k8s.io/v1) in namespace ${shop}`,
    });
    await networking.createNamespacedIngress({
      namespace: shop,
      body: {
        metadata: { name: 'web' },
        spec: { defaultBackend: { service: { name: 'web', port: { number: 80 } } } },
      },
    });
    await eventually('issued with the Ingress', async () =>
      (await call(meshca, shop, token)).code === Status.OK ? true : undefined,
    );
    await networking.deleteNamespacedIngress({ name: 'web', namespace: shop });
    await eventually('refused without it', async () =>
      (await call(meshca, shop, token)).code === Status.PERMISSION_DENIED ? true : undefined,
    );
  });

  it('issues in a namespace only once it opts in with its label', async () => {
    const { token } = await workload(optIn, 'web-1');
    expect(await call(meshca, optIn, token)).toMatchObject({
      code: Status.PERMISSION_DENIED,
      details: `policy local/opt-in: namespace ${optIn} lacks the label meshca.io/identities=enabled`,
    });
    const label = (value: string | null): Promise<k8s.V1Namespace> =>
      core.patchNamespace(
        { name: optIn, body: { metadata: { labels: { 'meshca.io/identities': value } } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
    await label('enabled');
    await eventually('issued once opted in', async () =>
      (await call(meshca, optIn, token)).code === Status.OK ? true : undefined,
    );
    await label(null);
    await eventually('refused once opted out', async () =>
      (await call(meshca, optIn, token)).code === Status.PERMISSION_DENIED ? true : undefined,
    );
  });

  it("decides a remote cluster's requests on that cluster's facts", async () => {
    // The same API server, configured a second time as the remote cluster "east".
    const remote = await startDevServer([
      ...meshcaKubeArgs(namespaces),
      '--ca-dir',
      caDir,
      '--remote-clusters',
      `east=${namespaces.kubeconfig}`,
      '--policy-local',
      writePolicy(
        tempDir('meshca-policy-'),
        'local.yaml',
        'remote-test',
        `
defaultAction: allow
rules:
  - name: live-workload
    liveWorkload: true
  - name: shop-ingress
    selector: { namespaces: [${shop}] }
    requiredObjects: [{ apiVersion: networking.k8s.io/v1, kind: Ingress }]
`,
      ),
    ]);
    try {
      await eventually('ready', () => (remote.server.ops.readiness().ready ? true : undefined));
      const { details } = remote.server.ops.readiness();
      expect(Object.keys(details)).toEqual(
        expect.arrayContaining(['policy-local', 'policy-objects', 'policy-objects:east']),
      );
      const { token } = await workload(jit, 'web-east');
      const outcome = await callCa(remote.client(), token, spiffe(jit, 'web'), 0, 'east');
      expect(outcome).toMatchObject({ code: Status.OK, details: '' });
      await core.deleteNamespacedPod({ name: 'web-east', namespace: jit, gracePeriodSeconds: 0 });
      await eventually('refused in east once its pod is gone', async () => {
        const next = await callCa(remote.client(), token, spiffe(jit, 'web'), 0, 'east');
        return next.code === Status.PERMISSION_DENIED ? true : undefined;
      });
    } finally {
      await remote.stop();
    }
  });

  describe('policies in ConfigMaps, in a real meshca serve process', () => {
    let served: MeshcaProcess;
    let client: CaClient;
    let token: string;

    const logs = (message: string): Record<string, unknown>[] =>
      served.logs().filter((line) => line.msg === message);
    const metric = async (labels: Record<string, string>): Promise<number> =>
      metricValue((await served.get('/metrics')).body, 'meshca_policy_reloads_total', labels) ?? 0;
    const details = async (): Promise<Record<string, string>> =>
      (JSON.parse((await served.get('/readyz')).body) as { details: Record<string, string> })
        .details;
    const outcome = (): Promise<CallOutcome> => call({ client: () => client }, jit, token);

    beforeAll(async () => {
      served = await startMeshcaProcess([
        ...meshcaKubeArgs(namespaces),
        '--ca-dir',
        caDir,
        '--policy-central-config-map',
        CENTRAL_CONFIGMAP,
        '--policy-local-config-map',
        LOCAL_CONFIGMAP,
        '--policy-signing-keys',
        key.publicFile,
        '--state-dir',
        tempDir('meshca-state-'),
      ]);
      client = new CaClient({ address: `localhost:${served.grpcPort}`, rootCertPem });
      ({ token } = await workload(jit, 'web-3'));
    }, 60_000);

    afterAll(async () => {
      client.close();
      served.child.kill('SIGTERM');
      await served.exited;
    });

    it('logs, counts and shows the policies in force with their SHA-256', async () => {
      for (const [layer, name] of [
        ['central', 'security-baseline'],
        ['local', 'platform'],
      ] as const) {
        const inForce = logs('policy in force').find((line) => line['layer'] === layer);
        expect(inForce).toMatchObject({
          policy: name,
          origin: `ConfigMap ${namespaces.meshca}/meshca-policy-${layer} key policy.yaml`,
        });
        const sha256 = String(inForce?.['sha256']);
        expect(sha256).toMatch(/^[0-9a-f]{64}$/);
        expect(
          metricValue((await served.get('/metrics')).body, 'meshca_policy_info', {
            layer,
            name,
            sha256,
          }),
        ).toBe(1);
        expect((await details())['policy']).toContain(`${layer}: ${name} (sha256 ${sha256})`);
      }
      expect(logs('policy in force').find((line) => line['layer'] === 'central')).toHaveProperty(
        'signedBy',
      );
      expect((await outcome()).code).toBe(Status.OK);
    });

    it('reloads an edited ConfigMap without a restart, and keeps the policy when an edit is broken', async () => {
      // The platform team refuses jit/web from now on.
      await putConfigMap(LOCAL_CONFIGMAP, {
        'policy.yaml': document(
          localSpec(
            shop,
            optIn,
            `  - name: no-web\n    selector: { namespaces: [${jit}] }\n    identities: { deny: ['*/web'] }\n`,
          ),
          'platform-v2',
        ),
      });
      const refused = await eventually(
        'the edit in force',
        async () => {
          const next = await outcome();
          return next.code === Status.OK ? undefined : next;
        },
        10_000,
      );
      expect(refused.details).toBe(`policy local/no-web: identity ${jit}/web is denied`);
      const v2 = logs('policy in force').find((line) => line['policy'] === 'platform-v2');
      expect(v2?.['sha256']).toMatch(/^[0-9a-f]{64}$/);

      // A broken edit: refused, counted, shown, logged; v2 stays in force.
      const before = await metric({ layer: 'local', result: 'rejected' });
      await putConfigMap(LOCAL_CONFIGMAP, {
        'policy.yaml': 'apiVersion: meshca.io/v1alpha1\nkind: Nope\n',
      });
      await eventually('the broken edit counted', async () =>
        (await metric({ layer: 'local', result: 'rejected' })) > before ? true : undefined,
      );
      expect((await details())['policy-local']).toContain(
        `keeping platform-v2 (sha256 ${String(v2?.['sha256']).slice(0, 12)}); newest version refused: rejected:`,
      );
      expect(logs('new policy version refused; the policy in force is kept').at(-1)).toMatchObject({
        layer: 'local',
        result: 'rejected',
        keeping: 'platform-v2',
        keepingSha256: v2?.['sha256'],
      });
      expect((await outcome()).details).toBe(`policy local/no-web: identity ${jit}/web is denied`);
      expect((await served.get('/readyz')).status).toBe(200);

      // Back to the first version.
      await putConfigMap(LOCAL_CONFIGMAP, {
        'policy.yaml': document(localSpec(shop, optIn), 'platform'),
      });
      await eventually('the first version back', async () =>
        (await outcome()).code === Status.OK ? true : undefined,
      );
      expect((await details())['policy-local']).toBe('ok');
    });

    it('keeps the central policy when an edit is signed by no configured key', async () => {
      const before = await metric({ layer: 'central', result: 'bad-signature' });
      const text = document(
        `${CENTRAL}  - name: no-jit\n    selector: { namespaces: [${jit}] }\n    identities: { deny: ['*/*'] }\n`,
        'security-tampered',
      );
      const stranger = signingKey(tempDir('meshca-keys-'), 'stranger');
      await putConfigMap(CENTRAL_CONFIGMAP, {
        'policy.yaml': text,
        'policy.yaml.jws': await signText(text, stranger),
      });
      await eventually('the bad signature counted', async () =>
        (await metric({ layer: 'central', result: 'bad-signature' })) > before ? true : undefined,
      );
      expect((await details())['policy-central']).toMatch(
        /^keeping security-baseline \(sha256 [0-9a-f]{12}\); newest version refused: bad-signature: /,
      );
      expect((await outcome()).code).toBe(Status.OK);
      await putConfigMap(CENTRAL_CONFIGMAP, await signedCentral('security-baseline', CENTRAL));
      await eventually('the good version back', async () =>
        (await details())['policy-central'] === 'ok' ? true : undefined,
      );
    });
  });
});

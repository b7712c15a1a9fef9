/**
 * The policy's facts against the real kube-apiserver, read by meshca's service account under the
 * RBAC of manifests/base + manifests/policy: just-in-time identities (a deleted, terminating,
 * finished or replaced pod is refused within seconds; a pod created a moment ago is confirmed by
 * one GET), ztunnel's impersonation, the namespace-label opt-in, and required objects (an
 * Ingress, CRD kinds found by API discovery once installed). Decisions go through the real
 * LayeredPolicyDecider with callers established by real TokenReviews of pod-bound tokens.
 */
import * as k8s from '@kubernetes/client-node';
import { join } from 'node:path';
import { TokenReviewVerifier } from '../../src/auth/index.js';
import { workloadSpiffeId } from '../../src/identity/index.js';
import {
  DEFAULT_POLICY_FACTS_OPTIONS,
  KubeClient,
  KubeNamespaceLookup,
  KubePodLookup,
  KubePolicyFacts,
  KubeTokenReviewApi,
  PodIndex,
} from '../../src/kube/index.js';
import { silentLogger } from '../../src/logger.js';
import {
  ClusterFactsMap,
  LayeredPolicyDecider,
  PolicyStore,
  TtlPolicy,
  compilePolicy,
  parsePolicyDocument,
  type Decision,
  type DecisionRequest,
} from '../../src/policy/index.js';
import { REPO_ROOT } from '../support/environment.js';
import {
  adminKubeConfig,
  applyManifestRbac,
  createPod,
  createServiceAccount,
  describeKube,
  eventually,
  requestToken,
  setupMeshcaNamespaces,
  uniqueName,
  type MeshcaNamespaces,
} from '../support/kube.js';
import { removeTempDirs } from '../support/tmp.js';
import { document } from '../policy/fixtures.js';

const CLUSTER = 'Kubernetes';
const logger = silentLogger();
const never = new AbortController().signal;

describeKube('policy facts against the real kube-apiserver', () => {
  let admin: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  let namespaces: MeshcaNamespaces;
  let client: KubeClient;
  let podIndex: PodIndex;
  let facts: KubePolicyFacts;
  let reviewer: TokenReviewVerifier;
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
      maxSockets: 8,
    });
    podIndex = new PodIndex(client, { requestTimeoutMs: 5000 }, logger);
    facts = new KubePolicyFacts(
      client,
      podIndex,
      { ...DEFAULT_POLICY_FACTS_OPTIONS, rediscoverIntervalMs: 300 },
      logger,
    );
    await podIndex.start(running.signal);
    await facts.start(running.signal);
    reviewer = new TokenReviewVerifier(
      new KubeTokenReviewApi(client, { timeoutMs: 5000, maxConcurrent: 4 }),
      ['istio-ca'],
    );
  });

  afterAll(async () => {
    running.abort();
    await facts.close();
    await podIndex.close();
    await client.close();
    removeTempDirs();
  });

  /** A workload namespace with the service account `web`. */
  async function workloadNamespace(labels: Record<string, string> = {}): Promise<string> {
    const name = uniqueName('shop');
    await core.createNamespace({ body: { metadata: { name, labels } } });
    await createServiceAccount(admin, name, 'web');
    return name;
  }

  async function runningPod(namespace: string, name: string, node = 'node-a'): Promise<k8s.V1Pod> {
    const pod = await createPod(admin, namespace, name, 'web', node);
    await setPhase(namespace, name, 'Running');
    return pod;
  }

  async function setPhase(namespace: string, name: string, phase: string): Promise<void> {
    await core.patchNamespacedPodStatus(
      { name, namespace, body: { status: { phase } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
  }

  /** The request meshca would decide on: the caller established by a real TokenReview. */
  async function requestFor(namespace: string, pod: k8s.V1Pod): Promise<DecisionRequest> {
    const token = await requestToken(admin, namespace, 'web', {
      audiences: ['istio-ca'],
      pod: { name: pod.metadata?.name ?? '', uid: pod.metadata?.uid ?? '' },
    });
    const reviewed = await reviewer.verify(token, never);
    expect(reviewed).toMatchObject({ podName: pod.metadata?.name, podUid: pod.metadata?.uid });
    return {
      subject: workloadSpiffeId('cluster.local', namespace, 'web'),
      caller: {
        ...reviewed,
        identity: workloadSpiffeId('cluster.local', namespace, 'web'),
        clusterId: CLUSTER,
        method: 'token-review',
      },
      impersonated: false,
      key: { algorithm: 'EC', bits: 256, curve: 'P-256' },
      requestedTtlSeconds: 0n,
    };
  }

  function decider(spec: string): LayeredPolicyDecider {
    const store = new PolicyStore();
    const policy = compilePolicy(
      parsePolicyDocument(Buffer.from(document(spec, 'central')), 'central.yaml'),
    );
    store.install('central', policy);
    facts.watchKinds(store.requiredKinds());
    return new LayeredPolicyDecider({
      policies: store,
      facts: new ClusterFactsMap(new Map([[CLUSTER, facts]])),
      inner: new TtlPolicy({
        defaultTtlSeconds: 3600,
        maxTtlSeconds: 86400,
        minTtlSeconds: 600,
      }),
      logger,
    });
  }

  const LIVE = 'defaultAction: allow\nrules:\n  - name: live-workload\n    liveWorkload: true';

  /** Polls decisions until `predicate` holds; returns the decision and the time it took. */
  async function decideUntil(
    d: LayeredPolicyDecider,
    request: DecisionRequest,
    predicate: (decision: Decision) => boolean,
    what: string,
  ): Promise<{ decision: Decision; ms: number }> {
    const started = performance.now();
    const decision = await eventually(
      what,
      async () => {
        const next = await d.decide(request, never);
        return predicate(next) ? next : undefined;
      },
      10_000,
    );
    return { decision, ms: performance.now() - started };
  }

  describe('live workload', () => {
    it('a pod deleted is refused within seconds, afterwards without asking the API server', async () => {
      const namespace = await workloadNamespace();
      const pod = await runningPod(namespace, 'web-1');
      const request = await requestFor(namespace, pod);
      const d = decider(LIVE);
      await decideUntil(
        d,
        request,
        (decision) => decision.effect === 'allow',
        'the live pod allowed',
      );

      await core.deleteNamespacedPod({ name: 'web-1', namespace, gracePeriodSeconds: 0 });
      const { decision, ms } = await decideUntil(
        d,
        request,
        (next) => next.effect === 'deny',
        'the deleted pod refused',
      );
      expect(decision).toMatchObject({
        layer: 'central',
        rule: 'live-workload',
        reason: "the caller's pod is gone (deleted, or finished)",
      });
      expect(ms).toBeLessThan(5000);

      // The watch saw it go: no GET, however often its proxy retries.
      const gets = countRequests(client);
      for (let i = 0; i < 20; i++) await d.decide(request, never);
      expect(gets.stop()).toEqual([]);
    });

    it('a pod created a moment before its first request is accepted', async () => {
      const namespace = await workloadNamespace();
      const d = decider(LIVE);
      const pod = await createPod(admin, namespace, 'fresh', 'web', 'node-a');
      const request = await requestFor(namespace, pod);
      await expect(d.decide(request, never)).resolves.toMatchObject({ effect: 'allow' });
    });

    it('a cache miss is confirmed by one GET, bounded, shared and remembered', async () => {
      // An index that has loaded once and then stopped watching: every new pod is a miss.
      const frozen = new PodIndex(client, { requestTimeoutMs: 5000 }, logger);
      const stop = new AbortController();
      await frozen.start(stop.signal);
      await frozen.waitForSync(never);
      stop.abort();
      const lookup = new KubePodLookup(
        client,
        frozen,
        { requestTimeoutMs: 2000, confirmPerSecond: 1, confirmBurst: 2, confirmCacheMs: 60_000 },
        logger,
      );
      const namespace = await workloadNamespace();
      const pod = await createPod(admin, namespace, 'new', 'web', 'node-a');
      const gets = countRequests(client);
      const answers = await Promise.all(
        [1, 2, 3].map(() => lookup.pod(namespace, 'new', pod.metadata?.uid ?? '', never)),
      );
      expect(answers.map((answer) => answer?.uid)).toEqual(Array(3).fill(pod.metadata?.uid));
      await expect(lookup.pod(namespace, 'new', 'x', never)).resolves.toMatchObject({
        name: 'new',
      });
      // Absent pods: one GET, then remembered.
      await expect(lookup.pod(namespace, 'missing', 'x', never)).resolves.toBeUndefined();
      await expect(lookup.pod(namespace, 'missing', 'x', never)).resolves.toBeUndefined();
      expect(gets.stop()).toEqual([
        `GET /api/v1/namespaces/${namespace}/pods/new`,
        `GET /api/v1/namespaces/${namespace}/pods/missing`,
      ]);
      // The bucket (burst 2) is empty now: the next miss is "retry later", not a denial.
      await expect(lookup.pod(namespace, 'other', 'x', never)).rejects.toMatchObject({
        code: 'ERR_POLICY_UNAVAILABLE',
        kind: 'unavailable',
      });
    });

    it.each<[string, (namespace: string) => Promise<void>, string]>([
      [
        'terminating',
        // A pod bound to a node waits for its kubelet (there is none): it stays terminating.
        async (namespace) => {
          await core.deleteNamespacedPod({ name: 'web-1', namespace, gracePeriodSeconds: 30 });
        },
        "the caller's pod is terminating",
      ],
      [
        'finished',
        // The pod watch leaves finished pods out: to meshca the pod is gone.
        (namespace) => setPhase(namespace, 'web-1', 'Succeeded'),
        "the caller's pod is gone (deleted, or finished)",
      ],
      [
        'replaced (same name, new UID)',
        async (namespace) => {
          await core.deleteNamespacedPod({ name: 'web-1', namespace, gracePeriodSeconds: 0 });
          await eventually('the old pod gone', async () =>
            (await core.listNamespacedPod({ namespace })).items.length === 0 ? true : undefined,
          );
          await runningPod(namespace, 'web-1');
        },
        "the caller's pod was replaced (its UID differs from the token's)",
      ],
    ])('a pod %s is refused', async (_name, change, reason) => {
      const namespace = await workloadNamespace();
      const pod = await runningPod(namespace, 'web-1');
      const request = await requestFor(namespace, pod);
      const d = decider(LIVE);
      await decideUntil(d, request, (decision) => decision.effect === 'allow', 'allowed first');
      await change(namespace);
      const { decision } = await decideUntil(
        d,
        request,
        (next) => next.reason === reason,
        `refused: ${reason}`,
      );
      expect(decision).toMatchObject({ effect: 'deny', rule: 'live-workload' });
      await core
        .deleteNamespacedPod({ name: 'web-1', namespace, gracePeriodSeconds: 0 })
        .catch(() => undefined);
    });

    it('ztunnel: its own pod, and a live pod of the subject on its node', async () => {
      const system = await workloadNamespace();
      await createServiceAccount(admin, system, 'ztunnel');
      const ztunnel = await createPod(admin, system, 'ztunnel-a', 'ztunnel', 'node-z');
      await setPhase(system, 'ztunnel-a', 'Running');
      const token = await requestToken(admin, system, 'ztunnel', {
        audiences: ['istio-ca'],
        pod: { name: 'ztunnel-a', uid: ztunnel.metadata?.uid ?? '' },
      });
      const caller = await reviewer.verify(token, never);
      const workloads = await workloadNamespace();
      const request: DecisionRequest = {
        subject: workloadSpiffeId('cluster.local', workloads, 'web'),
        caller: {
          ...caller,
          identity: workloadSpiffeId('cluster.local', system, 'ztunnel'),
          clusterId: CLUSTER,
          method: 'token-review',
        },
        impersonated: true,
        key: { algorithm: 'EC', bits: 256, curve: 'P-256' },
        requestedTtlSeconds: 0n,
      };
      const d = decider(LIVE);
      await runningPod(workloads, 'web-elsewhere', 'node-other');
      await expect(d.decide(request, never)).resolves.toMatchObject({
        effect: 'deny',
        reason: `no live pod of ${workloads}/web runs on the node proxy's node`,
      });
      await runningPod(workloads, 'web-here', 'node-z');
      await decideUntil(
        d,
        request,
        (decision) => decision.effect === 'allow',
        'the pod on the node',
      );
    });
  });

  describe('namespace labels', () => {
    it('the opt-in label: refused without it, issued once the namespace is labelled', async () => {
      const namespace = await workloadNamespace();
      const pod = await runningPod(namespace, 'web-1');
      const request = await requestFor(namespace, pod);
      const d = decider(
        'defaultAction: allow\nrules:\n  - name: opt-in\n    namespaceLabels: {meshca.io/identities: enabled}',
      );
      await expect(d.decide(request, never)).resolves.toMatchObject({
        effect: 'deny',
        rule: 'opt-in',
        reason: `namespace ${namespace} lacks the label meshca.io/identities=enabled`,
      });
      await core.patchNamespace(
        { name: namespace, body: { metadata: { labels: { 'meshca.io/identities': 'enabled' } } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
      await decideUntil(
        d,
        request,
        (decision) => decision.effect === 'allow',
        'the labelled namespace',
      );
    });

    it('a namespace created a moment before the request', async () => {
      const d = decider(
        'defaultAction: deny\nrules:\n  - name: team\n    selector:\n      namespaceSelector: {matchLabels: {team: a}}',
      );
      const namespace = await workloadNamespace({ team: 'a' });
      const pod = await createPod(admin, namespace, 'web-1', 'web', 'node-a');
      await expect(d.decide(await requestFor(namespace, pod), never)).resolves.toMatchObject({
        effect: 'allow',
        rule: 'team',
      });
    });
    it('a namespace the watch has not delivered is read with one GET, then remembered', async () => {
      const lookup = new KubeNamespaceLookup(
        client,
        { requestTimeoutMs: 2000, confirmPerSecond: 5, confirmBurst: 5, confirmCacheMs: 60_000 },
        logger,
      );
      const stop = new AbortController();
      await lookup.start(stop.signal);
      await lookup.waitForSync(never);
      stop.abort();
      const namespace = await workloadNamespace({ team: 'b' });
      const gets = countRequests(client);
      await expect(lookup.namespace(namespace, never)).resolves.toEqual({
        name: namespace,
        labels: expect.objectContaining({ team: 'b' }) as Record<string, string>,
      });
      await expect(lookup.namespace(namespace, never)).resolves.toMatchObject({ name: namespace });
      await expect(lookup.namespace('no-such-namespace', never)).resolves.toBeUndefined();
      expect(gets.stop()).toEqual([
        `GET /api/v1/namespaces/${namespace}`,
        'GET /api/v1/namespaces/no-such-namespace',
      ]);
    });
  });

  describe('required objects', () => {
    it('an Ingress: refused without, issued once created, refused once deleted', async () => {
      const namespace = await workloadNamespace();
      const pod = await runningPod(namespace, 'web-1');
      const request = await requestFor(namespace, pod);
      const d = decider(
        `defaultAction: allow\nrules:\n  - name: ingress\n    selector: {namespaces: [${namespace}]}\n    requiredObjects: [{apiVersion: networking.k8s.io/v1, kind: Ingress}]`,
      );
      // The first decision that is not "retry later" (the Ingress watch has loaded).
      const { decision } = await decideUntil(d, request, () => true, 'the Ingress watch loaded');
      expect(decision).toMatchObject({
        effect: 'deny',
        rule: 'ingress',
        reason: `no Ingress (networking.k8s.io/v1) in namespace ${namespace}`,
      });
      const networking = admin.makeApiClient(k8s.NetworkingV1Api);
      await networking.createNamespacedIngress({
        namespace,
        body: {
          metadata: { name: 'web' },
          spec: { defaultBackend: { service: { name: 'web', port: { number: 80 } } } },
        },
      });
      await decideUntil(d, request, (next) => next.effect === 'allow', 'issued with the Ingress');
      await networking.deleteNamespacedIngress({ name: 'web', namespace });
      await decideUntil(d, request, (next) => next.effect === 'deny', 'refused without it');
    });

    it('a CRD kind: refused while not served, found by discovery once its CRD is installed', async () => {
      const group = `policy-${namespaces.run}.test.meshca.io`;
      const rbac = admin.makeApiClient(k8s.RbacAuthorizationV1Api);
      await rbac.createClusterRole({
        body: {
          metadata: { name: `meshca-widgets-${namespaces.run}` },
          rules: [{ apiGroups: [group], resources: ['widgets'], verbs: ['list', 'watch'] }],
        },
      });
      await rbac.createClusterRoleBinding({
        body: {
          metadata: { name: `meshca-widgets-${namespaces.run}` },
          roleRef: {
            apiGroup: 'rbac.authorization.k8s.io',
            kind: 'ClusterRole',
            name: `meshca-widgets-${namespaces.run}`,
          },
          subjects: [{ kind: 'ServiceAccount', name: 'meshca', namespace: namespaces.meshca }],
        },
      });
      const namespace = await workloadNamespace();
      const pod = await runningPod(namespace, 'web-1');
      const request = await requestFor(namespace, pod);
      const d = decider(
        `defaultAction: allow\nrules:\n  - name: widget\n    requiredObjects: [{apiVersion: ${group}/v1, kind: Widget, selector: {matchLabels: {ready: "true"}}}]`,
      );
      const { decision: unserved } = await decideUntil(d, request, () => true, 'discovery done');
      expect(unserved).toMatchObject({
        effect: 'deny',
        reason: `the cluster does not serve ${group}/v1 (is the API or its CRD installed?)`,
      });

      const extensions = admin.makeApiClient(k8s.ApiextensionsV1Api);
      await extensions.createCustomResourceDefinition({
        body: {
          metadata: { name: `widgets.${group}` },
          spec: {
            group,
            scope: 'Namespaced',
            names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
            versions: [
              {
                name: 'v1',
                served: true,
                storage: true,
                schema: {
                  openAPIV3Schema: { type: 'object', x_kubernetes_preserve_unknown_fields: true },
                },
              },
            ],
          },
        },
      });
      await decideUntil(
        d,
        request,
        (next) =>
          next.reason ===
          `no Widget (${group}/v1) with the required labels in namespace ${namespace}`,
        'the CRD discovered and watched',
      );
      const custom = admin.makeApiClient(k8s.CustomObjectsApi);
      await eventually('the CRD established', async () => {
        await custom.createNamespacedCustomObject({
          group,
          version: 'v1',
          namespace,
          plural: 'widgets',
          body: {
            apiVersion: `${group}/v1`,
            kind: 'Widget',
            metadata: { name: 'w', labels: { ready: 'true' } },
          },
        });
        return true;
      });
      await decideUntil(d, request, (next) => next.effect === 'allow', 'issued with the Widget');
      expect(facts.readiness()[0]?.check()).toBeUndefined();
      await extensions.deleteCustomResourceDefinition({ name: `widgets.${group}` });
    });

    it('an Istio Gateway (networking.istio.io/v1) through its CRD', async () => {
      const extensions = admin.makeApiClient(k8s.ApiextensionsV1Api);
      await extensions
        .createCustomResourceDefinition({
          body: {
            metadata: { name: 'gateways.networking.istio.io' },
            spec: {
              group: 'networking.istio.io',
              scope: 'Namespaced',
              names: { plural: 'gateways', singular: 'gateway', kind: 'Gateway' },
              versions: ['v1', 'v1beta1'].map((name) => ({
                name,
                served: true,
                storage: name === 'v1',
                schema: {
                  openAPIV3Schema: { type: 'object', x_kubernetes_preserve_unknown_fields: true },
                },
              })),
            },
          },
        })
        .catch((error: unknown) => {
          if ((error as { code?: number }).code !== 409) throw error;
        });
      const rbac = admin.makeApiClient(k8s.RbacAuthorizationV1Api);
      await rbac.createClusterRole({
        body: {
          metadata: { name: `meshca-gateways-${namespaces.run}` },
          rules: [
            {
              apiGroups: ['networking.istio.io'],
              resources: ['gateways'],
              verbs: ['list', 'watch'],
            },
          ],
        },
      });
      await rbac.createClusterRoleBinding({
        body: {
          metadata: { name: `meshca-gateways-${namespaces.run}` },
          roleRef: {
            apiGroup: 'rbac.authorization.k8s.io',
            kind: 'ClusterRole',
            name: `meshca-gateways-${namespaces.run}`,
          },
          subjects: [{ kind: 'ServiceAccount', name: 'meshca', namespace: namespaces.meshca }],
        },
      });
      const edge = await workloadNamespace();
      const namespace = await workloadNamespace();
      const pod = await runningPod(namespace, 'web-1');
      const request = await requestFor(namespace, pod);
      const d = decider(
        `defaultAction: allow\nrules:\n  - name: edge-gateway\n    requiredObjects: [{apiVersion: networking.istio.io/v1, kind: Gateway, namespace: ${edge}}]`,
      );
      await decideUntil(
        d,
        request,
        (next) => next.reason === `no Gateway (networking.istio.io/v1) in namespace ${edge}`,
        'the Gateway watch loaded',
      );
      const custom = admin.makeApiClient(k8s.CustomObjectsApi);
      await eventually('the Gateway created', async () => {
        await custom.createNamespacedCustomObject({
          group: 'networking.istio.io',
          version: 'v1',
          namespace: edge,
          plural: 'gateways',
          body: {
            apiVersion: 'networking.istio.io/v1',
            kind: 'Gateway',
            metadata: { name: 'public' },
          },
        });
        return true;
      });
      await decideUntil(d, request, (next) => next.effect === 'allow', 'issued with the Gateway');
    });
  });
});

/** Records the paths of requests made through `client` until stopped. */
function countRequests(client: KubeClient): { stop: () => string[] } {
  const original = client.requestJson.bind(client);
  const seen: string[] = [];
  client.requestJson = (method, path, body, signal) => {
    seen.push(`${method} ${path}`);
    return original(method, path, body, signal);
  };
  return {
    stop: () => {
      client.requestJson = original;
      return seen;
    },
  };
}

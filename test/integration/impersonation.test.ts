/**
 * Ambient mode against the real kube-apiserver (ISTIO-CONTRACT.md §3, §4.5, §7, checklist 18):
 * ztunnel, a pod of a trusted node account, asks for certificates of the pods of its node with
 * `metadata.ImpersonatedIdentity`. meshca runs under the RBAC of manifests/, reviews pod-bound
 * TokenRequest tokens with the API server and watches pods to decide. Pods never run here (no
 * scheduler, no kubelet): they are created with spec.nodeName, and their phase is set by patching
 * the status subresource.
 */
import { status as Status, type ServiceError } from '@grpc/grpc-js';
import * as k8s from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { checkCertificateChain } from '../../src/ca/index.js';
import {
  adminKubeConfig,
  createNamespace,
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
import { createTestPki, writeTestPki } from '../support/pki.js';
import { startDevServer, type DevServer } from '../support/server.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';
import { csrFor } from '../server/harness.js';

/** What the client of ztunnel sees of every refused impersonation. */
const REFUSED = 'impersonation not authorized';

/** The result of one CreateCertificate call, with the reason meshca logged for a refusal. */
interface Outcome {
  readonly code: Status;
  readonly details: string;
  readonly chain: readonly string[];
  readonly spkiDer: Buffer;
  /** `code` of the "certificate request refused" log line (e.g. ERR_IMPERSONATION_DENIED). */
  readonly errorCode: string | undefined;
  /** `reason` of that line: what meshca knows and the client is not told. */
  readonly reason: string | undefined;
  /** The "certificate issued" log line. */
  readonly issued: Readonly<Record<string, unknown>> | undefined;
}

/**
 * Calls CreateCertificate as ztunnel does: ECDSA P-256 CSR with an empty subject for `csrUri`
 * (default: the requested identity), and `ImpersonatedIdentity` when `impersonate` is given.
 * Tests in a file run one at a time, so the log lines written during the call are this call's.
 */
async function call(
  meshca: DevServer,
  token: string,
  impersonate: string | undefined,
  csrUri: string | undefined = impersonate,
): Promise<Outcome> {
  if (csrUri === undefined) throw new TypeError('a CSR identity is needed without impersonation');
  const csr = await csrFor(csrUri, 'ec', 'ztunnel');
  const before = meshca.logs().length;
  let code: Status = Status.OK;
  let details = '';
  let chain: string[] = [];
  try {
    chain = await meshca.client().createCertificate({
      csrPem: csr.csrPem,
      token,
      clusterId: 'Kubernetes',
      ...(impersonate === undefined
        ? {}
        : { metadata: { ImpersonatedIdentity: { stringValue: impersonate } } }),
    });
  } catch (error) {
    ({ code, details } = error as ServiceError);
  }
  const lines = meshca
    .logs()
    .slice(before)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  const refused = lines.find((line) => line['msg'] === 'certificate request refused');
  return {
    code,
    details,
    chain,
    spkiDer: csr.spkiDer,
    errorCode: refused?.['code'] as string | undefined,
    reason: refused?.['reason'] as string | undefined,
    issued: lines.find((line) => line['msg'] === 'certificate issued'),
  };
}

/** Asserts a certificate for `uri` was issued to the requester's key. */
function expectIssued(outcome: Outcome, uri: string): void {
  expect({ code: outcome.code, details: outcome.details, reason: outcome.reason }).toEqual({
    code: Status.OK,
    details: '',
    reason: undefined,
  });
  const checked = checkCertificateChain(outcome.chain, {
    uri,
    spkiDer: outcome.spkiDer,
    at: new Date(),
  });
  expect(checked.uri).toBe(uri);
}

/** Asserts an opaque UNAUTHENTICATED refusal whose logged reason contains `reason`. */
function expectRefused(outcome: Outcome, reason: string): void {
  expect({ code: outcome.code, details: outcome.details, errorCode: outcome.errorCode }).toEqual({
    code: Status.UNAUTHENTICATED,
    details: REFUSED,
    errorCode: 'ERR_IMPERSONATION_DENIED',
  });
  expect(outcome.reason).toContain(reason);
  // The client learns nothing of the reason.
  expect(outcome.details).not.toContain(reason);
}

describeKube('ambient impersonation against a real API server', () => {
  const run = randomBytes(4).toString('hex');
  const zt = uniqueName('ztunnel');
  const apps = uniqueName('ambient');
  // Node names are per run: other test files share the API server.
  const node1 = `node-${run}-1`;
  const node2 = `node-${run}-2`;
  const spiffe = (namespace: string, serviceAccount: string): string =>
    `spiffe://cluster.local/ns/${namespace}/sa/${serviceAccount}`;

  let admin: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  let namespaces: MeshcaNamespaces;
  let caDir: string;
  let meshca: DevServer;
  const started: DevServer[] = [];
  /** Tokens by caller, minted in beforeAll. */
  const tokens = new Map<string, string>();
  const token = (caller: string): string => {
    const found = tokens.get(caller);
    if (found === undefined) throw new Error(`no token for ${caller}`);
    return found;
  };

  const setPhase = async (namespace: string, name: string, phase: string): Promise<void> => {
    await core.patchNamespacedPodStatus(
      { name, namespace, body: { status: { phase } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
  };
  /** A pod on `node`, Running unless told to stay Pending (as created: nothing runs it). */
  const pod = async (
    namespace: string,
    name: string,
    serviceAccount: string,
    node: string,
    phase: 'Running' | 'Pending' = 'Running',
  ): Promise<k8s.V1Pod> => {
    const created = await createPod(admin, namespace, name, serviceAccount, node);
    if (phase === 'Running') await setPhase(namespace, name, phase);
    return created;
  };
  /** Deletes a pod at once: a pod bound to a node would otherwise wait 30 s for its kubelet. */
  const deletePod = async (namespace: string, name: string): Promise<void> => {
    await core.deleteNamespacedPod({ name, namespace, gracePeriodSeconds: 0 });
  };
  /** ztunnel's token: audience istio-ca, bound to its pod. */
  const podToken = (namespace: string, serviceAccount: string, bound: k8s.V1Pod): Promise<string> =>
    requestToken(admin, namespace, serviceAccount, {
      audiences: ['istio-ca'],
      pod: { name: bound.metadata?.name ?? '', uid: bound.metadata?.uid ?? '' },
    });

  const startMeshca = async (extraArgs: readonly string[]): Promise<DevServer> => {
    const server = await startDevServer([
      ...meshcaKubeArgs(namespaces),
      '--ca-dir',
      caDir,
      '--token-cache-ttl',
      '60s',
      ...extraArgs,
    ]);
    started.push(server);
    // Readiness includes the pod index: before its first list, absence of a pod proves nothing.
    await eventually('meshca ready', () =>
      server.server.ops.readiness().ready ? true : undefined,
    );
    return server;
  };

  beforeAll(async () => {
    admin = adminKubeConfig();
    core = admin.makeApiClient(k8s.CoreV1Api);
    namespaces = await setupMeshcaNamespaces(admin);
    caDir = tempDir('meshca-ca-');
    await writeTestPki(caDir, await createTestPki({ name: 'impersonation' }));

    await createNamespace(admin, zt);
    await createNamespace(admin, apps);
    for (const [namespace, serviceAccount] of [
      [zt, 'ztunnel'],
      [zt, 'other'],
      [apps, 'ztunnel'],
      [apps, 'web'],
      [apps, 'far'],
      [apps, 'starting'],
      [apps, 'batch-succeeded'],
      [apps, 'batch-failed'],
      [apps, 'ephemeral'],
    ] as const) {
      await createServiceAccount(admin, namespace, serviceAccount);
    }

    // The node proxies, and a pod of each kind the authorizer must tell apart.
    const ztunnel1 = await pod(zt, 'ztunnel-1', 'ztunnel', node1);
    const ztunnel2 = await pod(zt, 'ztunnel-2', 'ztunnel', node2);
    const other = await pod(zt, 'other-proxy', 'other', node1);
    const impostor = await pod(apps, 'ztunnel-impostor', 'ztunnel', node1);
    const web = await pod(apps, 'web-1', 'web', node1);
    await pod(apps, 'far-1', 'far', node2);
    const starting = await pod(apps, 'starting-1', 'starting', node1, 'Pending');
    expect(starting.status?.phase).toBe('Pending');

    tokens.set('ztunnel-1', await podToken(zt, 'ztunnel', ztunnel1));
    tokens.set('ztunnel-2', await podToken(zt, 'ztunnel', ztunnel2));
    tokens.set('other', await podToken(zt, 'other', other));
    tokens.set('impostor', await podToken(apps, 'ztunnel', impostor));
    tokens.set('web', await podToken(apps, 'web', web));
    tokens.set('unbound', await requestToken(admin, zt, 'ztunnel', { audiences: ['istio-ca'] }));

    meshca = await startMeshca(['--trusted-node-accounts', `${zt}/ztunnel`]);
  }, 60_000);

  afterAll(async () => {
    for (const server of started) await server.stop();
    removeTempDirs();
  });

  it.each([
    { what: 'a Running pod of the requested account on its node', caller: 'ztunnel-1', sa: 'web' },
    // ztunnel asks as soon as a pod is scheduled, before its containers start.
    {
      what: 'a Pending pod of the requested account on its node',
      caller: 'ztunnel-1',
      sa: 'starting',
    },
    {
      what: 'the pod of another node, asked by that node’s ztunnel',
      caller: 'ztunnel-2',
      sa: 'far',
    },
  ])('issues to ztunnel for $what', async ({ caller, sa }) => {
    const requested = spiffe(apps, sa);
    const outcome = await call(meshca, token(caller), requested);
    expectIssued(outcome, requested);
    // The audit trail names both the identity issued and the node proxy that asked.
    expect(outcome.issued).toMatchObject({
      identity: requested,
      caller: spiffe(zt, 'ztunnel'),
      pod: caller,
    });
  });

  it.each([
    {
      what: 'the caller is not a trusted account (another service account of its namespace)',
      caller: 'other',
      requested: spiffe(apps, 'web'),
      reason: `caller ${zt}/other is not allowed to impersonate`,
    },
    {
      what: 'the caller is named ztunnel but lives in another namespace',
      caller: 'impostor',
      requested: spiffe(apps, 'web'),
      reason: `caller ${apps}/ztunnel is not allowed to impersonate`,
    },
    {
      what: 'the ztunnel token is not bound to a pod',
      caller: 'unbound',
      requested: spiffe(apps, 'web'),
      reason: `caller ${zt}/ztunnel presented a token that is not bound to a pod`,
    },
    {
      what: 'the requested account only has a pod on another node',
      caller: 'ztunnel-1',
      requested: spiffe(apps, 'far'),
      reason: `no instances of ${apps}/far found on node ${node1}`,
    },
    {
      what: 'the requested account has no pod at all',
      caller: 'ztunnel-1',
      requested: spiffe(apps, 'nobody'),
      reason: `no instances of ${apps}/nobody found on node ${node1}`,
    },
    {
      what: 'the requested identity is in another trust domain (istiod does not check; we do)',
      caller: 'ztunnel-1',
      requested: `spiffe://other.example/ns/${apps}/sa/web`,
      reason: 'impersonated identity is outside trust domain cluster.local',
    },
    {
      what: 'the requested identity is not a SPIFFE ID',
      caller: 'ztunnel-1',
      requested: 'not-a-spiffe-id',
      reason: 'impersonated identity is not a workload SPIFFE ID',
    },
    {
      what: 'the requested identity has extra path segments',
      caller: 'ztunnel-1',
      requested: `${spiffe(apps, 'web')}/extra`,
      reason: 'impersonated identity is not a workload SPIFFE ID',
    },
    {
      what: 'the requested identity names no service account',
      caller: 'ztunnel-1',
      requested: `spiffe://cluster.local/ns/${apps}`,
      reason: 'impersonated identity is not a workload SPIFFE ID',
    },
  ])('refuses impersonation when $what', async ({ caller, requested, reason }) => {
    expectRefused(await call(meshca, token(caller), requested), reason);
  });

  it.each([
    { what: 'another pod’s identity', csrUri: spiffe(apps, 'far') },
    { what: 'ztunnel’s own identity', csrUri: spiffe(zt, 'ztunnel') },
  ])('refuses a CSR for $what while impersonating (PERMISSION_DENIED)', async ({ csrUri }) => {
    const outcome = await call(meshca, token('ztunnel-1'), spiffe(apps, 'web'), csrUri);
    expect({ code: outcome.code, errorCode: outcome.errorCode }).toEqual({
      code: Status.PERMISSION_DENIED,
      errorCode: 'ERR_CSR_IDENTITY_NOT_OWNED',
    });
    expect(outcome.reason).toContain(`may only receive ${spiffe(apps, 'web')}`);
  });

  it.each([
    { what: 'an ordinary workload (pod-bound token)', caller: 'web', own: spiffe(apps, 'web') },
    { what: 'ztunnel itself', caller: 'ztunnel-1', own: spiffe(zt, 'ztunnel') },
    { what: 'an untrusted node proxy', caller: 'other', own: spiffe(zt, 'other') },
  ])('issues $what its own identity without impersonation', async ({ caller, own }) => {
    const outcome = await call(meshca, token(caller), undefined, own);
    expectIssued(outcome, own);
    expect(outcome.issued?.['caller']).toBeUndefined();
  });

  it.each([['Succeeded'], ['Failed']])(
    'stops issuing for a pod once it has finished (status.phase %s)',
    async (phase) => {
      const serviceAccount = `batch-${phase.toLowerCase()}`;
      const requested = spiffe(apps, serviceAccount);
      await pod(apps, `${serviceAccount}-1`, serviceAccount, node1);
      // The pod index learns of the new pod through its watch.
      expectIssued(
        await eventually('the running pod to be indexed', async () => {
          const outcome = await call(meshca, token('ztunnel-1'), requested);
          return outcome.code === Status.OK ? outcome : undefined;
        }),
        requested,
      );
      await setPhase(apps, `${serviceAccount}-1`, phase);
      const refused = await eventually('the finished pod to leave the index', async () => {
        const outcome = await call(meshca, token('ztunnel-1'), requested);
        return outcome.code === Status.OK ? undefined : outcome;
      });
      expectRefused(refused, `no instances of ${apps}/${serviceAccount} found on node ${node1}`);
    },
  );

  it('stops issuing for a pod once it is deleted', async () => {
    const requested = spiffe(apps, 'ephemeral');
    await pod(apps, 'ephemeral-1', 'ephemeral', node1);
    expectIssued(
      await eventually('the pod to be indexed', async () => {
        const outcome = await call(meshca, token('ztunnel-1'), requested);
        return outcome.code === Status.OK ? outcome : undefined;
      }),
      requested,
    );
    await deletePod(apps, 'ephemeral-1');
    const refused = await eventually('the deleted pod to leave the index', async () => {
      const outcome = await call(meshca, token('ztunnel-1'), requested);
      return outcome.code === Status.OK ? undefined : outcome;
    });
    expectRefused(refused, `no instances of ${apps}/ephemeral found on node ${node1}`);
  });

  it('refuses a token whose ztunnel pod was deleted, or recreated under the same name', async () => {
    // The token stays valid for meshca while its review is cached (--token-cache-ttl 60s; the
    // API server would also keep accepting it for 10 s): the pod check must catch what the
    // token cannot say.
    const ztunnel = await pod(zt, 'ztunnel-3', 'ztunnel', node1);
    const stale = await podToken(zt, 'ztunnel', ztunnel);
    const requested = spiffe(apps, 'web');
    expectIssued(
      await eventually('the ztunnel pod to be indexed', async () => {
        const outcome = await call(meshca, stale, requested);
        return outcome.code === Status.OK ? outcome : undefined;
      }),
      requested,
    );

    await deletePod(zt, 'ztunnel-3');
    const gone = await eventually('the deleted ztunnel pod to leave the index', async () => {
      const outcome = await call(meshca, stale, requested);
      return outcome.code === Status.OK ? undefined : outcome;
    });
    expectRefused(gone, `pod ${zt}/ztunnel-3 not found`);

    // Same name, same service account, same node: only the UID tells the pods apart.
    const recreated = await pod(zt, 'ztunnel-3', 'ztunnel', node1);
    expect(recreated.metadata?.uid).not.toBe(ztunnel.metadata?.uid);
    const replaced = await eventually('the recreated ztunnel pod to be indexed', async () => {
      const outcome = await call(meshca, stale, requested);
      return outcome.reason?.includes('not found') === true ? undefined : outcome;
    });
    expectRefused(replaced, `pod ${zt}/ztunnel-3 found, but UID does not match`);
    // A token bound to the new pod works again.
    expectIssued(
      await call(meshca, await podToken(zt, 'ztunnel', recreated), requested),
      requested,
    );

    // "ServiceAccount does not match" (istiod's node_auth_test "bad account") cannot happen with
    // a real API server: TokenRequest refuses to bind a token of one service account to a pod of
    // another, a pod's serviceAccountName is immutable and UIDs are never reused. A pod
    // recreated under the same name with another account is caught by its UID.
    await deletePod(zt, 'ztunnel-3');
    await eventually('the deleted ztunnel pod to leave the index again', async () => {
      const outcome = await call(meshca, stale, requested);
      return outcome.reason?.includes('not found') === true ? outcome : undefined;
    });
    const otherPod = await pod(zt, 'ztunnel-3', 'other', node1);
    const otherAccount = await eventually('the pod of another account to be indexed', async () => {
      const outcome = await call(meshca, stale, requested);
      return outcome.reason?.includes('not found') === true ? undefined : outcome;
    });
    expectRefused(otherAccount, `pod ${zt}/ztunnel-3 found, but UID does not match`);
    await expect(
      requestToken(admin, zt, 'ztunnel', {
        audiences: ['istio-ca'],
        pod: { name: 'ztunnel-3', uid: otherPod.metadata?.uid ?? '' },
      }),
    ).rejects.toMatchObject({ code: 400 });
  });

  it('refuses a ztunnel whose own pod has finished (evicted), though its token is still valid', async () => {
    const ztunnel = await pod(zt, 'ztunnel-4', 'ztunnel', node1);
    const bound = await podToken(zt, 'ztunnel', ztunnel);
    const requested = spiffe(apps, 'web');
    expectIssued(
      await eventually('the ztunnel pod to be indexed', async () => {
        const outcome = await call(meshca, bound, requested);
        return outcome.code === Status.OK ? outcome : undefined;
      }),
      requested,
    );
    await setPhase(zt, 'ztunnel-4', 'Failed');
    const refused = await eventually('the finished ztunnel pod to leave the index', async () => {
      const outcome = await call(meshca, bound, requested);
      return outcome.code === Status.OK ? undefined : outcome;
    });
    expectRefused(refused, `pod ${zt}/ztunnel-4 not found`);
    // The token still authenticates ztunnel for its own identity: only impersonation needs the pod.
    expectIssued(
      await call(meshca, bound, undefined, spiffe(zt, 'ztunnel')),
      spiffe(zt, 'ztunnel'),
    );
  });

  it('refuses every impersonation when no node account is trusted', async () => {
    const untrusting = await startMeshca(['--trusted-node-accounts', '']);
    expectRefused(
      await call(untrusting, token('ztunnel-1'), spiffe(apps, 'web')),
      'asked to impersonate, but impersonation is not configured',
    );
    // Its own identity is still served.
    expectIssued(
      await call(untrusting, token('ztunnel-1'), undefined, spiffe(zt, 'ztunnel')),
      spiffe(zt, 'ztunnel'),
    );
  });
});

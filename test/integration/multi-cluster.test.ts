/**
 * Multi-cluster against two real API servers (ISTIO-CONTRACT.md §4.3 KubeJWTAuthenticator, §4.5
 * and §8 "ztunnel from other clusters", checklist 10 and 18h): meshca runs in cluster A
 * (`cluster-a`, alias `a-alias`) and serves cluster B (`cluster-b`, alias `b-alias`) through a
 * kubeconfig for its service account there, bound by the same manifests/ RBAC. A proxy's
 * `clusterid` picks the API server that reviews its token and the pods that decide its
 * impersonation. Cluster B is a second kube-apiserver + etcd started for this file.
 */
import * as grpc from '@grpc/grpc-js';
import * as k8s from '@kubernetes/client-node';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { randomBytes, randomInt } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkCertificateChain } from '../../src/ca/index.js';
import { loadIstioCaProto } from '../../src/server/index.js';
import {
  adminKubeConfig,
  createNamespace,
  createPod,
  createServiceAccount,
  describeKube,
  eventually,
  createServedNamespace,
  meshcaKubeArgs,
  requestToken,
  setupMeshcaNamespaces,
} from '../support/kube.js';
import { createTestPki, writeTestPki } from '../support/pki.js';
import { run } from '../support/process.js';
import { startDevServer, type DevServer } from '../support/server.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';
import { csrFor } from '../server/harness.js';

/** The result of one CreateCertificate call, with what meshca logged about it. */
interface Outcome {
  readonly code: grpc.status;
  readonly details: string;
  readonly chain: readonly string[];
  readonly spkiDer: Buffer;
  /** `code` and `reason` of the "certificate request refused" log line. */
  readonly errorCode: string | undefined;
  readonly reason: string | undefined;
  /** The "certificate issued" log line. */
  readonly issued: Readonly<Record<string, unknown>> | undefined;
}

/** True when nothing listens on `port` of 127.0.0.1 right now. */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => {
      resolve(false);
    });
    server.listen(port, '127.0.0.1', () => {
      server.close(() => {
        resolve(true);
      });
    });
  });
}

/**
 * A free port in [from, from + 1000) with `count` free ports in a row (etcd takes client and
 * peer ports). Outside the ephemeral range, away from global-setup's 22379/26443.
 */
async function freePorts(from: number, count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = from + randomInt(0, 1000 - count);
    const free = await Promise.all(Array.from({ length: count }, (_, i) => portFree(port + i)));
    if (free.every(Boolean)) return port;
  }
  throw new Error(`no free ports from ${from}`);
}

describeKube('multi-cluster against two real API servers', () => {
  const suffix = randomBytes(4).toString('hex');
  // The same names in both clusters: only the cluster tells these pods apart.
  const zt = `mc-ztunnel-${suffix}`;
  const apps = `mc-apps-${suffix}`;
  const node = `node-${suffix}`;
  const spiffe = (namespace: string, serviceAccount: string): string =>
    `spiffe://cluster.local/ns/${namespace}/sa/${serviceAccount}`;
  const tools = process.env['MESHCA_KUBE_TOOLS'] ?? '';

  let clusterBDir: string | undefined;
  let clusterB: k8s.KubeConfig;
  let meshca: DevServer | undefined;
  /** A namespace of cluster B that meshca's trust-bundle selector picks. */
  let servedInB = '';
  /** Tokens by `<cluster>:<caller>`. */
  const tokens = new Map<string, string>();
  const token = (caller: string): string => {
    const found = tokens.get(caller);
    if (found === undefined) throw new Error(`no token for ${caller}`);
    return found;
  };
  const server = (): DevServer => {
    if (meshca === undefined) throw new Error('meshca not started');
    return meshca;
  };

  /**
   * Calls CreateCertificate with raw metadata, so that a test can send `clusterid` several times
   * (CaClient sends exactly one value).
   */
  const call = async (
    bearer: string,
    clusterIds: readonly string[],
    uri: string,
    impersonate = false,
  ): Promise<Outcome> => {
    const dev = server();
    const csr = await csrFor(uri, 'ec', impersonate ? 'ztunnel' : 'istio-agent');
    const proto = loadIstioCaProto();
    const client = new proto.istio.v1.auth.IstioCertificateService(
      `localhost:${dev.server.grpcPort}`,
      grpc.credentials.createSsl(Buffer.from(dev.rootCertPem)),
    );
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${bearer}`);
    for (const clusterId of clusterIds) metadata.add('clusterid', clusterId);
    const before = dev.logs().length;
    const result = await new Promise<{ code: grpc.status; details: string; chain: string[] }>(
      (resolve) => {
        client.CreateCertificate(
          {
            csr: csr.csrPem,
            validityDuration: 0,
            metadata: {
              fields: impersonate ? { ImpersonatedIdentity: { stringValue: uri } } : {},
            },
          },
          metadata,
          { deadline: Date.now() + 20_000 },
          (error, response) => {
            resolve(
              error
                ? { code: error.code, details: error.details, chain: [] }
                : { code: grpc.status.OK, details: '', chain: response?.certChain ?? [] },
            );
          },
        );
      },
    );
    client.close();
    const lines = dev
      .logs()
      .slice(before)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const refused = lines.find((line) => line['msg'] === 'certificate request refused');
    return {
      ...result,
      spkiDer: csr.spkiDer,
      errorCode: refused?.['code'] as string | undefined,
      reason: refused?.['reason'] as string | undefined,
      issued: lines.find((line) => line['msg'] === 'certificate issued'),
    };
  };

  /** Asserts `uri` was issued to the requester's key, on the word of `cluster`. */
  const expectIssued = (outcome: Outcome, uri: string, cluster: string): void => {
    expect({ code: outcome.code, reason: outcome.reason }).toEqual({
      code: grpc.status.OK,
      reason: undefined,
    });
    expect(
      checkCertificateChain(outcome.chain, { uri, spkiDer: outcome.spkiDer, at: new Date() }).uri,
    ).toBe(uri);
    expect(outcome.issued).toMatchObject({ identity: uri, cluster });
  };

  /** Asserts an opaque UNAUTHENTICATED refusal, logged with `errorCode` and `reason`. */
  const expectRefused = (
    outcome: Outcome,
    errorCode: string,
    details: string,
    reason?: string,
  ): void => {
    expect({ code: outcome.code, details: outcome.details, errorCode: outcome.errorCode }).toEqual({
      code: grpc.status.UNAUTHENTICATED,
      details,
      errorCode,
    });
    if (reason !== undefined) expect(outcome.reason).toContain(reason);
  };

  /** ztunnel (service account ztunnel of `zt`) on `node`, Running, and its pod-bound token. */
  const startZtunnel = async (kc: k8s.KubeConfig): Promise<string> => {
    const ztunnel = await createPod(kc, zt, 'ztunnel-1', 'ztunnel', node);
    await running(kc, zt, 'ztunnel-1');
    return requestToken(kc, zt, 'ztunnel', {
      audiences: ['istio-ca'],
      pod: { name: 'ztunnel-1', uid: ztunnel.metadata?.uid ?? '' },
    });
  };
  const running = async (kc: k8s.KubeConfig, namespace: string, name: string): Promise<void> => {
    await kc
      .makeApiClient(k8s.CoreV1Api)
      .patchNamespacedPodStatus(
        { name, namespace, body: { status: { phase: 'Running' } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
  };
  /** Namespaces, service accounts and one Running pod of `workload` on the shared node name. */
  const populate = async (kc: k8s.KubeConfig, workload: string): Promise<void> => {
    await createNamespace(kc, zt);
    await createNamespace(kc, apps);
    await createServiceAccount(kc, zt, 'ztunnel');
    for (const serviceAccount of ['web', 'only-a', 'only-b']) {
      await createServiceAccount(kc, apps, serviceAccount);
    }
    await createPod(kc, apps, `${workload}-1`, workload, node);
    await running(kc, apps, `${workload}-1`);
  };

  beforeAll(async () => {
    // Cluster B: its own etcd, API server and service-account signing key.
    clusterBDir = mkdtempSync(join(tmpdir(), 'meshca-kube-b-'));
    const etcdPort = await freePorts(23000, 2);
    const apiserverPort = await freePorts(27000, 1);
    const started = await run(join(tools, 'start.sh'), [clusterBDir], {
      env: {
        ...process.env,
        ETCD_PORT: String(etcdPort),
        APISERVER_PORT: String(apiserverPort),
      },
      timeoutMs: 90_000,
    });
    if (started.code !== 0) {
      throw new Error(`start.sh failed (${started.code}):\n${started.stdout}${started.stderr}`);
    }
    clusterB = new k8s.KubeConfig();
    clusterB.loadFromFile(join(clusterBDir, 'admin.kubeconfig'));
    const clusterA = adminKubeConfig();

    const [namespacesA, namespacesB] = await Promise.all([
      setupMeshcaNamespaces(clusterA),
      setupMeshcaNamespaces(clusterB),
    ]);
    await Promise.all([populate(clusterA, 'only-a'), populate(clusterB, 'only-b')]);
    for (const [name, kc] of [
      ['a', clusterA],
      ['b', clusterB],
    ] as const) {
      tokens.set(`${name}:web`, await requestToken(kc, apps, 'web', { audiences: ['istio-ca'] }));
      tokens.set(`${name}:ztunnel`, await startZtunnel(kc));
    }

    servedInB = `served-${namespacesA.run}`;
    await createServedNamespace(clusterB, namespacesA, servedInB);
    const caDir = tempDir('meshca-ca-');
    await writeTestPki(caDir, await createTestPki({ name: 'multi-cluster' }));
    meshca = await startDevServer([
      ...meshcaKubeArgs(namespacesA),
      '--ca-dir',
      caDir,
      '--cluster-id',
      'cluster-a',
      '--cluster-aliases',
      'a-alias',
      '--remote-clusters',
      `cluster-b+b-alias=${namespacesB.kubeconfig}`,
      '--trusted-node-accounts',
      `${zt}/ztunnel`,
    ]);
    // Ready once the pod indexes of both clusters are loaded.
    await eventually('meshca ready', () =>
      server().server.ops.readiness().ready ? true : undefined,
    );
  }, 120_000);

  afterAll(async () => {
    await meshca?.stop();
    if (clusterBDir !== undefined) {
      await run(join(tools, 'stop.sh'), [clusterBDir, '--wipe'], { timeoutMs: 30_000 });
    }
    removeTempDirs();
  }, 60_000);

  it.each([
    { token: 'b:web', clusterIds: ['cluster-b'], reviewer: 'cluster-b' },
    { token: 'b:web', clusterIds: ['b-alias'], reviewer: 'cluster-b' },
    { token: 'a:web', clusterIds: ['cluster-a'], reviewer: 'cluster-a' },
    { token: 'a:web', clusterIds: ['a-alias'], reviewer: 'cluster-a' },
    { token: 'a:web', clusterIds: [''], reviewer: 'cluster-a' },
    { token: 'a:web', clusterIds: [], reviewer: 'cluster-a' },
    // Several values count as none (istiod's ExtractClusterID): the local cluster.
    { token: 'a:web', clusterIds: ['cluster-b', 'b-alias'], reviewer: 'cluster-a' },
  ])(
    'accepts token $token with clusterid $clusterIds, reviewed by $reviewer',
    async ({ token: caller, clusterIds, reviewer }) => {
      const uri = spiffe(apps, 'web');
      expectIssued(await call(token(caller), clusterIds, uri), uri, reviewer);
    },
  );

  it.each([
    // A's API server does not know B's signing key, and the other way round.
    { token: 'b:web', clusterIds: ['cluster-a'], errorCode: 'ERR_AUTH_TOKEN_INVALID' },
    { token: 'b:web', clusterIds: ['a-alias'], errorCode: 'ERR_AUTH_TOKEN_INVALID' },
    { token: 'b:web', clusterIds: [''], errorCode: 'ERR_AUTH_TOKEN_INVALID' },
    { token: 'b:web', clusterIds: [], errorCode: 'ERR_AUTH_TOKEN_INVALID' },
    { token: 'b:web', clusterIds: ['cluster-b', 'b-alias'], errorCode: 'ERR_AUTH_TOKEN_INVALID' },
    { token: 'a:web', clusterIds: ['cluster-b'], errorCode: 'ERR_AUTH_TOKEN_INVALID' },
    { token: 'a:web', clusterIds: ['b-alias'], errorCode: 'ERR_AUTH_TOKEN_INVALID' },
    // Unknown names, including the default cluster ID that this meshca does not use.
    { token: 'b:web', clusterIds: ['cluster-c'], errorCode: 'ERR_AUTH_UNKNOWN_CLUSTER' },
    { token: 'a:web', clusterIds: ['Kubernetes'], errorCode: 'ERR_AUTH_UNKNOWN_CLUSTER' },
  ])(
    'refuses token $token with clusterid $clusterIds ($errorCode)',
    async ({ token: caller, clusterIds, errorCode }) => {
      expectRefused(
        await call(token(caller), clusterIds, spiffe(apps, 'web')),
        errorCode,
        'authentication failed',
      );
    },
  );

  it("writes the trust bundle into the remote cluster's namespaces too", async () => {
    const core = clusterB.makeApiClient(k8s.CoreV1Api);
    const bundle = server().server.authority.current().material.trustBundle.pem;
    await eventually('istio-ca-root-cert in cluster B', async () => {
      const configMap = await core
        .readNamespacedConfigMap({ name: 'istio-ca-root-cert', namespace: servedInB })
        .catch(() => undefined);
      return configMap?.data?.['root-cert.pem'] === bundle ? true : undefined;
    });
  });

  it('keeps one cluster’s refusal of a token from the other cluster’s answer', async () => {
    // Refusals are cached briefly (--token-cache-negative-ttl 2s), per cluster.
    const fresh = await requestToken(clusterB, apps, 'web', { audiences: ['istio-ca'] });
    const uri = spiffe(apps, 'web');
    expectRefused(
      await call(fresh, ['cluster-a'], uri),
      'ERR_AUTH_TOKEN_INVALID',
      'authentication failed',
    );
    expectIssued(await call(fresh, ['cluster-b'], uri), uri, 'cluster-b');
  });

  it.each([
    { ztunnel: 'b:ztunnel', clusterIds: ['cluster-b'], account: 'only-b', cluster: 'cluster-b' },
    { ztunnel: 'b:ztunnel', clusterIds: ['b-alias'], account: 'only-b', cluster: 'cluster-b' },
    { ztunnel: 'a:ztunnel', clusterIds: ['cluster-a'], account: 'only-a', cluster: 'cluster-a' },
    { ztunnel: 'a:ztunnel', clusterIds: [''], account: 'only-a', cluster: 'cluster-a' },
  ])(
    'lets $ztunnel (clusterid $clusterIds) impersonate $account, whose pod is on its node in its cluster',
    async ({ ztunnel, clusterIds, account, cluster }) => {
      const requested = spiffe(apps, account);
      const outcome = await call(token(ztunnel), clusterIds, requested, true);
      expectIssued(outcome, requested, cluster);
      expect(outcome.issued).toMatchObject({ caller: spiffe(zt, 'ztunnel'), pod: 'ztunnel-1' });
    },
  );

  it.each([
    // Both clusters have a node of that name and a ztunnel-1 pod: only the caller's cluster
    // counts. Were B's caller checked against A's pods, the reason would be a UID mismatch.
    { ztunnel: 'b:ztunnel', clusterIds: ['cluster-b'], account: 'only-a' },
    { ztunnel: 'b:ztunnel', clusterIds: ['b-alias'], account: 'only-a' },
    { ztunnel: 'a:ztunnel', clusterIds: ['cluster-a'], account: 'only-b' },
    { ztunnel: 'a:ztunnel', clusterIds: [''], account: 'only-b' },
  ])(
    'refuses $ztunnel (clusterid $clusterIds) to impersonate $account, whose pod is on that node name in the other cluster only',
    async ({ ztunnel, clusterIds, account }) => {
      expectRefused(
        await call(token(ztunnel), clusterIds, spiffe(apps, account), true),
        'ERR_IMPERSONATION_DENIED',
        'impersonation not authorized',
        `no instances of ${apps}/${account} found on node ${node}`,
      );
    },
  );
});

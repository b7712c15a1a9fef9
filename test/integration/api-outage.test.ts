/**
 * A partial outage must not become a total one. With the API server cut off for 60 s (a TCP proxy
 * in front of the real one is closed: every connection cut, nothing accepted):
 * - `/readyz` stays 200 on every sample (readiness means "can issue"), the outage shows in its
 *   details and in `meshca_kube_api_reachable`;
 * - identities whose tokens meshca verified before the outage keep being issued;
 * - a token meshca has never seen gets UNAVAILABLE at once (no piling up behind a dead API);
 * - when the API server is back, new tokens are reviewed again and drift repair (a ConfigMap
 *   deleted during the outage) resumes within the reconnection cap.
 * And resetting the watches again and again leaves no listener behind: no
 * MaxListenersExceededWarning, and a meshca process's stderr holds only JSON lines.
 */
import { status as Status, type ServiceError } from '@grpc/grpc-js';
import * as k8s from '@kubernetes/client-node';
import { startServer, type RunningServer } from '../../src/cli/serve.js';
import { CaClient } from '../../src/client/index.js';
import { loadConfig } from '../../src/config/index.js';
import { workloadSpiffeId } from '../../src/identity/index.js';
import { RECONNECT_MAX_MS } from '../../src/kube/informer.js';
import { csrFor } from '../server/harness.js';
import {
  adminKubeConfig,
  createServedNamespace,
  createServiceAccount,
  describeKube,
  eventually,
  meshcaKubeArgs,
  requestToken,
  setupMeshcaNamespaces,
  uniqueName,
  type MeshcaNamespaces,
} from '../support/kube.js';
import { startMeshcaProcess } from '../support/meshca-process.js';
import { createTestPki, writeTestPki } from '../support/pki.js';
import { memoryLogger } from '../support/server.js';
import { proxiedKubeconfig, type TcpProxy } from '../support/tcp-proxy.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';

const OUTAGE_MS = 60_000;
const CONFIGMAP = 'istio-ca-root-cert';

describeKube('an API-server outage', () => {
  let admin: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  let namespaces: MeshcaNamespaces;
  let caDir: string;
  let rootCertPem: string;
  const proxies: TcpProxy[] = [];
  const servers: RunningServer[] = [];

  beforeAll(async () => {
    admin = adminKubeConfig();
    core = admin.makeApiClient(k8s.CoreV1Api);
    namespaces = await setupMeshcaNamespaces(admin);
    const pki = await createTestPki({ name: 'outage' });
    caDir = tempDir('meshca-ca-');
    await writeTestPki(caDir, pki);
    rootCertPem = pki.files.rootCertPem;
  });
  afterAll(async () => {
    for (const server of servers) await server.stop();
    for (const proxy of proxies) await proxy.close();
    removeTempDirs();
  });

  const proxied = async (): Promise<{ proxy: TcpProxy; kubeconfig: string }> => {
    const result = await proxiedKubeconfig(namespaces.kubeconfig, tempDir('meshca-kubeconfig-'));
    proxies.push(result.proxy);
    return result;
  };
  const argsThrough = (kubeconfig: string): string[] => {
    const args = meshcaKubeArgs(namespaces);
    args[args.indexOf('--kubeconfig') + 1] = kubeconfig;
    return args;
  };

  it('keeps /readyz 200 and cached identities issued for 60 s, refuses new tokens at once, and recovers', async () => {
    const { proxy, kubeconfig } = await proxied();
    await proxy.open();
    const { config } = await loadConfig({
      argv: [
        ...argsThrough(kubeconfig),
        '--ca-dir',
        caDir,
        '--trusted-node-accounts',
        '',
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
    // The real defaults: the API server counts as unreachable after 30 s without an answer.
    const server = await startServer(config, {
      logger: memoryLogger().logger,
      processMetrics: false,
    });
    servers.push(server);
    const app = uniqueName('app');
    await createServiceAccount(admin, namespaces.meshca, app);
    const identity = workloadSpiffeId('cluster.local', namespaces.meshca, app).uri;
    const csr = await csrFor(identity, 'ec');
    const known = await requestToken(admin, namespaces.meshca, app, { audiences: ['istio-ca'] });
    // Another lifetime, so that it differs from `known` even when minted in the same second.
    const fresh = await requestToken(admin, namespaces.meshca, app, {
      audiences: ['istio-ca'],
      expirationSeconds: 3000,
    });
    expect(fresh).not.toBe(known);
    const client = new CaClient({ address: `localhost:${server.grpcPort}`, rootCertPem });
    const call = async (token: string): Promise<{ code: Status; ms: number }> => {
      const started = performance.now();
      try {
        await client.createCertificate({ csrPem: csr.csrPem, token });
        return { code: Status.OK, ms: performance.now() - started };
      } catch (error) {
        return { code: (error as ServiceError).code, ms: performance.now() - started };
      }
    };
    const readyz = async (): Promise<{ status: number; details: Record<string, string> }> => {
      const response = await fetch(`http://127.0.0.1:${server.httpPort}/readyz`);
      const body = (await response.json()) as { details: Record<string, string> };
      return { status: response.status, details: body.details };
    };
    const reachable = async (): Promise<number> => {
      const { body } = await server.metrics.exposition();
      const line = body
        .split('\n')
        .find((text) => text.startsWith('meshca_kube_api_reachable{cluster="Kubernetes"}'));
      return Number(line?.slice(line.lastIndexOf(' ') + 1));
    };

    try {
      await eventually('ready and reachable', async () => {
        const state = await readyz();
        return state.status === 200 && state.details['kubernetes'] === 'ok' ? true : undefined;
      });
      expect((await call(known)).code).toBe(Status.OK);

      await proxy.close();
      const cutAt = performance.now();
      const statuses = new Set<number>();
      const knownCodes: Status[] = [];
      const freshCalls: { code: Status; ms: number }[] = [];
      let sawMetricDown = false;
      while (performance.now() - cutAt < OUTAGE_MS) {
        statuses.add((await readyz()).status);
        knownCodes.push((await call(known)).code);
        freshCalls.push(await call(fresh));
        if ((await reachable()) === 0) sawMetricDown = true;
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
      expect([...statuses]).toEqual([200]);
      expect(new Set(knownCodes)).toEqual(new Set([Status.OK]));
      expect(new Set(freshCalls.map((result) => result.code))).toEqual(
        new Set([Status.UNAVAILABLE]),
      );
      // At once: no call waits for a dead API server's timeout.
      expect(Math.max(...freshCalls.map((result) => result.ms))).toBeLessThan(2000);
      expect(sawMetricDown).toBe(true);
      expect((await readyz()).details['kubernetes']).toMatch(/unreachable for \d+s$/);

      await proxy.open();
      await eventually('a new token accepted again', async () =>
        (await call(fresh)).code === Status.OK ? true : undefined,
      );
      await eventually('reachable again', async () =>
        (await reachable()) === 1 ? true : undefined,
      );
    } finally {
      client.close();
    }
  }, 150_000);

  it('resumes drift repair within the reconnection cap once the API server is back', async () => {
    const { proxy, kubeconfig } = await proxied();
    await proxy.open();
    const served = uniqueName('served');
    await createServedNamespace(admin, namespaces, served);
    const { config } = await loadConfig({
      argv: [
        ...argsThrough(kubeconfig),
        '--ca-dir',
        caDir,
        '--trusted-node-accounts',
        '',
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
    const server = await startServer(config, {
      logger: memoryLogger().logger,
      processMetrics: false,
    });
    servers.push(server);
    await eventually('the ConfigMap written', () =>
      core.readNamespacedConfigMap({ name: CONFIGMAP, namespace: served }).then(() => true),
    );
    // Long enough an outage for the informers to back off to their cap.
    await proxy.close();
    await core.deleteNamespacedConfigMap({ name: CONFIGMAP, namespace: served });
    await new Promise((resolve) => setTimeout(resolve, 20_000));
    await proxy.open();
    const backAt = performance.now();
    await eventually(
      'the ConfigMap repaired',
      () => core.readNamespacedConfigMap({ name: CONFIGMAP, namespace: served }).then(() => true),
      RECONNECT_MAX_MS * 1.2 + 5_000,
    );
    // The cap (with its jitter), plus a list and a write.
    expect(performance.now() - backAt).toBeLessThan(RECONNECT_MAX_MS * 1.2 + 3_000);
  }, 60_000);

  it('leaves no listener behind when the watches are reset again and again', async () => {
    const { proxy, kubeconfig } = await proxied();
    await proxy.open();
    const meshca = await startMeshcaProcess([
      ...argsThrough(kubeconfig),
      '--ca-dir',
      caDir,
      '--state-dir',
      tempDir('meshca-state-'),
    ]);
    try {
      for (let reset = 0; reset < 15; reset++) {
        await proxy.close();
        await new Promise((resolve) => setTimeout(resolve, 300));
        await proxy.open();
        await new Promise((resolve) => setTimeout(resolve, 700));
      }
      await eventually('ready after the resets', async () =>
        (await meshca.get('/readyz')).status === 200 ? true : undefined,
      );
      const lines = meshca
        .stderr()
        .split('\n')
        .filter((line) => line !== '');
      const notJson = lines.filter((line) => !line.startsWith('{'));
      expect(notJson).toEqual([]);
      expect(meshca.stderr()).not.toContain('MaxListenersExceededWarning');
      expect(lines.length).toBeGreaterThan(0);
    } finally {
      meshca.child.kill('SIGTERM');
      expect(await meshca.exited).toBe(0);
    }
  }, 90_000);
});

/**
 * `/readyz` and `/healthz` on the ops port against the real API server: readiness is honest at
 * every moment, and means "this replica can issue certificates". meshca never answers /readyz
 * before its CA and gRPC listener are up (a missing or unusable CA, or a taken gRPC port, fails
 * the start with a clear error and leaves no port open), answers 503 naming the failing checks
 * until the initial syncs (the pod index) are done, 200 with every check "ok" once running. The
 * API server's reachability is a detail: when it goes away (a local TCP proxy in front of the
 * shared API server is closed) the details and `meshca_kube_api_reachable` say so after the
 * configured delay, and /readyz stays 200 — every replica still serves cached identities — while
 * /healthz stays 200 throughout.
 */
import * as k8s from '@kubernetes/client-node';
import { createServer, connect } from 'node:net';
import { startServer, type RunningServer, type ServeDeps } from '../../src/cli/serve.js';
import { CaMaterialError } from '../../src/ca/index.js';
import { loadConfig } from '../../src/config/index.js';
import { REPO_ROOT } from '../support/environment.js';
import {
  adminKubeConfig,
  describeKube,
  eventually,
  meshcaKubeArgs,
  setupMeshcaNamespaces,
  type MeshcaNamespaces,
} from '../support/kube.js';
import { createTestPki, type TestPki } from '../support/pki.js';
import { freePort, run } from '../support/process.js';
import type { TcpProxy } from '../support/tcp-proxy.js';
import { proxiedKubeconfig as proxiedKubeconfigOf } from '../support/tcp-proxy.js';
import { captureLog } from '../support/log-capture.js';
import { memoryLogger } from '../support/server.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';
import { writeTestPki } from '../support/pki.js';

/** Short enough for a test, long enough to see that a blip is tolerated. */
const UNREACHABLE_AFTER_MS = 2000;
const PROBE_INTERVAL_MS = 250;

interface Readiness {
  readonly status: number;
  readonly ready: boolean;
  readonly checks: Record<string, string>;
  readonly details: Record<string, string>;
}

async function readyz(port: number): Promise<Readiness> {
  const response = await fetch(`http://127.0.0.1:${port}/readyz`);
  expect(response.headers.get('content-type')).toBe('application/json');
  const body = (await response.json()) as {
    ready: boolean;
    checks: Record<string, string>;
    details: Record<string, string>;
  };
  return { status: response.status, ready: body.ready, checks: body.checks, details: body.details };
}

/** The value of `meshca_kube_api_reachable{cluster="Kubernetes"}`. */
async function reachableMetric(server: RunningServer): Promise<number | undefined> {
  const { body } = await server.metrics.exposition();
  const line = body
    .split('\n')
    .find((text) => text.startsWith('meshca_kube_api_reachable{cluster="Kubernetes"}'));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

async function healthz(port: number): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${port}/healthz`);
  await response.text();
  return response.status;
}

/** True when nothing accepts connections on 127.0.0.1:`port`. */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => {
      resolve(true);
    });
  });
}

describeKube('/readyz and /healthz', () => {
  let admin: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  let namespaces: MeshcaNamespaces;
  let pki: TestPki;
  let caDir: string;
  const running: RunningServer[] = [];
  const proxies: TcpProxy[] = [];

  /** Starts meshca in-process with the given flags, on ephemeral ports unless they say otherwise. */
  const start = async (
    args: readonly string[],
    deps: Partial<ServeDeps> = {},
  ): Promise<RunningServer> => {
    const { config } = await loadConfig({
      argv: [
        '--state-dir',
        tempDir('meshca-state-'),
        '--listen',
        '127.0.0.1:0',
        '--http-listen',
        '127.0.0.1:0',
        ...args,
      ],
      env: {},
      cwd: process.cwd(),
    });
    const server = await startServer(config, {
      logger: memoryLogger().logger,
      processMetrics: false,
      ...deps,
    });
    running.push(server);
    return server;
  };
  /** A proxy (not yet open) and a kubeconfig of meshca's service account that goes through it. */
  const proxiedKubeconfig = async (): Promise<{ proxy: TcpProxy; kubeconfig: string }> => {
    const proxied = await proxiedKubeconfigOf(namespaces.kubeconfig, tempDir('meshca-kubeconfig-'));
    proxies.push(proxied.proxy);
    return proxied;
  };
  const withKubeconfig = (kubeconfig: string): string[] => {
    const args = meshcaKubeArgs(namespaces);
    args[args.indexOf('--kubeconfig') + 1] = kubeconfig;
    return args;
  };
  const putCaSecret = async (stringData: Record<string, string>): Promise<void> => {
    await core
      .deleteNamespacedSecret({ name: 'cacerts', namespace: namespaces.meshca })
      .catch(() => undefined);
    await core.createNamespacedSecret({
      namespace: namespaces.meshca,
      body: { metadata: { name: 'cacerts' }, stringData },
    });
  };

  beforeAll(async () => {
    admin = adminKubeConfig();
    core = admin.makeApiClient(k8s.CoreV1Api);
    namespaces = await setupMeshcaNamespaces(admin);
    pki = await createTestPki({ name: 'readiness' });
    caDir = tempDir('meshca-ca-');
    await writeTestPki(caDir, pki);
  });
  afterAll(async () => {
    for (const server of running) await server.stop();
    for (const proxy of proxies) await proxy.close();
    removeTempDirs();
  });

  it.each<[string, () => string[], string[], string[]]>([
    [
      'development mode (no cluster)',
      () => [],
      ['ca', 'roots', 'csr-verification', 'grpc'],
      ['ledger'],
    ],
    [
      'a cluster, impersonation off',
      () => [...meshcaKubeArgs(namespaces), '--ca-dir', caDir, '--trusted-node-accounts', ''],
      ['ca', 'roots', 'csr-verification', 'grpc', 'pods'],
      ['kubernetes', 'ledger'],
    ],
    [
      'a cluster, impersonation on',
      () => [...meshcaKubeArgs(namespaces), '--ca-dir', caDir],
      ['ca', 'roots', 'csr-verification', 'grpc', 'pods'],
      ['kubernetes', 'ledger'],
    ],
  ])('is 200 with every check ok once running: %s', async (_case, args, checks, details) => {
    const server = await start(args());
    const state = await eventually('ready with every detail ok', async () => {
      const current = await readyz(server.httpPort);
      return current.status === 200 && Object.values(current.details).every((v) => v === 'ok')
        ? current
        : undefined;
    });
    expect(state.ready).toBe(true);
    expect(state.checks).toEqual(Object.fromEntries(checks.map((name) => [name, 'ok'])));
    expect(state.details).toEqual(Object.fromEntries(details.map((name) => [name, 'ok'])));
    expect(await healthz(server.httpPort)).toBe(200);
  });

  describe('with the API server behind a proxy the test controls', () => {
    let proxy: TcpProxy;
    let server: RunningServer;
    const samples: { readonly healthz: number; readonly readiness: Readiness }[] = [];
    let sampling: Promise<void> | undefined;
    let stopSampling = false;

    beforeAll(async () => {
      const proxied = await proxiedKubeconfig();
      proxy = proxied.proxy;
      // The proxy is closed: meshca starts with the API server unreachable.
      server = await start([...withKubeconfig(proxied.kubeconfig), '--ca-dir', caDir], {
        kubeReachability: {
          unreachableAfterMs: UNREACHABLE_AFTER_MS,
          probeIntervalMs: PROBE_INTERVAL_MS,
        },
      });
      // Samples both endpoints from the first moment to the last.
      sampling = (async () => {
        while (!stopSampling) {
          const [health, readiness] = await Promise.all([
            healthz(server.httpPort),
            readyz(server.httpPort),
          ]);
          samples.push({ healthz: health, readiness });
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      })();
    });
    afterAll(async () => {
      stopSampling = true;
      await sampling;
    });

    it('is 503 naming pods until the pod index is loaded; the API server is a detail', async () => {
      const state = await readyz(server.httpPort);
      expect(state.status).toBe(503);
      expect(state.ready).toBe(false);
      expect(state.checks).toEqual({
        ca: 'ok',
        roots: 'ok',
        'csr-verification': 'ok',
        grpc: 'ok',
        pods: 'pod index not loaded',
      });
      expect(state.details).toEqual({
        kubernetes: `API server https://127.0.0.1:${proxy.port} not reached yet`,
        ledger: 'ok',
      });
    });

    it('turns 200 once the API server is reachable and the pod index loaded', async () => {
      await eventually('a sample while unreachable', () => (samples.length > 0 ? true : undefined));
      await proxy.open();
      const state = await eventually('ready', async () => {
        const current = await readyz(server.httpPort);
        return current.status === 200 && current.details['kubernetes'] === 'ok'
          ? current
          : undefined;
      });
      expect(state.checks).toEqual({
        ca: 'ok',
        roots: 'ok',
        'csr-verification': 'ok',
        grpc: 'ok',
        pods: 'ok',
      });
      expect(state.details).toEqual({ kubernetes: 'ok', ledger: 'ok' });
      expect(await reachableMetric(server)).toBe(1);
    });

    it('stays ready through an API-server outage, showing it in the details and the metric', async () => {
      await eventually('ready', async () =>
        (await readyz(server.httpPort)).status === 200 ? true : undefined,
      );
      await proxy.close();
      const unreachable = new RegExp(
        `^API server https://127\\.0\\.0\\.1:${proxy.port} unreachable for (\\d+)s$`,
      );
      const down = await eventually('the outage in the details', async () => {
        const current = await readyz(server.httpPort);
        return unreachable.test(current.details['kubernetes'] ?? '') ? current : undefined;
      });
      expect(down.status).toBe(200);
      expect(down.ready).toBe(true);
      expect(down.checks).toEqual({
        ca: 'ok',
        roots: 'ok',
        'csr-verification': 'ok',
        grpc: 'ok',
        pods: 'ok',
      });
      // Not before the delay: the last answer is at least UNREACHABLE_AFTER_MS old.
      const seconds = Number(unreachable.exec(down.details['kubernetes'] ?? '')?.[1]);
      expect(seconds).toBeGreaterThanOrEqual(Math.round(UNREACHABLE_AFTER_MS / 1000));
      await eventually('the metric showing the outage', async () =>
        (await reachableMetric(server)) === 0 ? true : undefined,
      );

      await proxy.open();
      const back = await eventually('reachable again', async () => {
        const current = await readyz(server.httpPort);
        return current.details['kubernetes'] === 'ok' ? current : undefined;
      });
      expect(back.status).toBe(200);
      await eventually('the metric back to 1', async () =>
        (await reachableMetric(server)) === 1 ? true : undefined,
      );
    });

    it('was honest in every sample, and /healthz answered 200 throughout', async () => {
      await eventually('the sampler seeing meshca reachable again', () =>
        samples.at(-1)?.readiness.details['kubernetes'] === 'ok' ? true : undefined,
      );
      stopSampling = true;
      await sampling;
      expect(samples.length).toBeGreaterThan(10);
      for (const { healthz: health, readiness } of samples) {
        expect(health).toBe(200);
        const failing = Object.values(readiness.checks).filter((value) => value !== 'ok');
        expect(readiness.ready).toBe(failing.length === 0);
        expect(readiness.status).toBe(failing.length === 0 ? 200 : 503);
      }
      // Not ready until the first sync, then ready for good: the outage never took it out.
      const phases = samples
        .map((sample) => sample.readiness.status)
        .filter((status, index, all) => index === 0 || all[index - 1] !== status);
      expect(phases).toEqual([503, 200]);
      const details = samples
        .map((sample) => (sample.readiness.details['kubernetes'] === 'ok' ? 'ok' : 'down'))
        .filter((state, index, all) => index === 0 || all[index - 1] !== state);
      expect(details).toEqual(['down', 'ok', 'down', 'ok']);
    });
  });

  describe('without its CA', () => {
    const other = async (): Promise<TestPki> => createTestPki({ name: 'other' });

    it.each<[string, () => Promise<void>, RegExp]>([
      [
        'the CA Secret does not exist',
        () =>
          core
            .deleteNamespacedSecret({ name: 'cacerts', namespace: namespaces.meshca })
            .then(() => undefined)
            .catch(() => undefined),
        /^secret meshca-[0-9a-f]+\/cacerts not found$/,
      ],
      [
        'the CA Secret holds no CA',
        () => putCaSecret({ 'something.pem': 'else' }),
        /holds neither ca-cert\.pem\/ca-key\.pem nor tls\.crt\/tls\.key/,
      ],
      [
        'the CA key does not match the certificate',
        async () => putCaSecret({ ...cacerts(pki), 'ca-key.pem': (await other()).files.caKeyPem }),
        /ca-key\.pem does not match the public key of ca-cert\.pem/,
      ],
    ])('fails to start, leaving no ops port open, when %s', async (_case, arrange, message) => {
      await arrange();
      const httpPort = await freePort();
      const grpcPort = await freePort();
      const failure = await start([
        ...meshcaKubeArgs(namespaces),
        '--ca-secret',
        'cacerts',
        '--listen',
        `127.0.0.1:${grpcPort}`,
        '--http-listen',
        `127.0.0.1:${httpPort}`,
      ]).then(
        () => new Error('meshca started'),
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(CaMaterialError);
      expect((failure as Error).message).toMatch(message);
      expect(await refused(httpPort)).toBe(true);
      expect(await refused(grpcPort)).toBe(true);
    });

    it('exits 1 from the command line with the reason when the CA Secret is missing', async () => {
      await core
        .deleteNamespacedSecret({ name: 'cacerts', namespace: namespaces.meshca })
        .catch(() => undefined);
      const result = await run(
        process.execPath,
        [
          '--import',
          'tsx',
          'test/support/meshca-main.ts',
          'serve',
          ...meshcaKubeArgs(namespaces),
          '--ca-secret',
          'cacerts',
          '--listen',
          '127.0.0.1:0',
          '--http-listen',
          '127.0.0.1:0',
        ],
        {
          cwd: REPO_ROOT,
          env: Object.fromEntries(
            Object.entries(process.env).filter(([name]) => !name.startsWith('MESHCA_')),
          ),
        },
      );
      captureLog(result.stderr);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(
        `meshca serve: secret ${namespaces.meshca}/cacerts not found\n`,
      );
      const fatal = result.stderr
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { level: number; msg: string; err?: string })
        .find((line) => line.msg === 'meshca failed to start');
      expect(fatal?.err).toBe(`secret ${namespaces.meshca}/cacerts not found`);
    }, 30_000);

    it('waits for its CA Secret while the API server is unreachable, then starts', async () => {
      await putCaSecret(cacerts(pki));
      const { proxy, kubeconfig } = await proxiedKubeconfig();
      const httpPort = await freePort();
      const { logger, lines } = memoryLogger();
      let started: RunningServer | undefined;
      const starting = start(
        [
          ...withKubeconfig(kubeconfig),
          '--ca-secret',
          'cacerts',
          '--http-listen',
          `127.0.0.1:${httpPort}`,
        ],
        { logger },
      ).then((server) => (started = server));
      // It tried to read the Secret and failed (twice, so it keeps trying)...
      await eventually('two failed reads of the CA Secret', () => {
        const failures = lines().filter(
          (line) => line.includes('"informer":"ca-secret"') && line.includes('list/watch failed'),
        );
        return failures.length >= 2 ? true : undefined;
      });
      // ...and meanwhile answers no probe (the kubelet sees "not ready", not a false "ready").
      expect(started).toBeUndefined();
      expect(await refused(httpPort)).toBe(true);
      await proxy.open();
      const server = await starting;
      expect(server.authority.current().material.trustBundle.pem).toBe(
        pki.material().trustBundle.pem,
      );
      const state = await eventually('ready', async () => {
        const current = await readyz(httpPort);
        return current.status === 200 ? current : undefined;
      });
      expect(Object.values(state.checks).every((value) => value === 'ok')).toBe(true);
    }, 40_000);

    it('fails to start when the gRPC port is taken, and closes the ops port again', async () => {
      const taken = createServer();
      await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
      const address = taken.address();
      const grpcPort = typeof address === 'object' && address !== null ? address.port : 0;
      const httpPort = await freePort();
      try {
        const failure = await start([
          '--listen',
          `127.0.0.1:${grpcPort}`,
          '--http-listen',
          `127.0.0.1:${httpPort}`,
        ]).then(
          () => new Error('meshca started'),
          (error: unknown) => error,
        );
        expect((failure as Error).message).toMatch(/EADDRINUSE|address already in use/i);
        expect(await refused(httpPort)).toBe(true);
      } finally {
        await new Promise((resolve) => taken.close(resolve));
      }
    });
  });
});

/** The Istio cacerts keys of a test PKI. */
function cacerts(pki: TestPki): Record<string, string> {
  return {
    'ca-cert.pem': pki.files.caCertPem,
    'ca-key.pem': pki.files.caKeyPem,
    'cert-chain.pem': pki.files.certChainPem,
    'root-cert.pem': pki.files.rootCertPem,
  };
}

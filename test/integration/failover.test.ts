/**
 * Failover with a cluster and leader election on, between real meshca processes sharing a Lease:
 *
 * - SIGTERM to the leader while 100 calls are in flight: no call it received fails (its drain log
 *   and request log agree with what the clients saw; only calls it never received come back
 *   UNAVAILABLE, which proxies retry), it releases the Lease so that the other replica takes over
 *   at once, and it exits 0.
 * - kill -9 of the leader while the cluster drifts (a ConfigMap and `istiod-tls` deleted, a served
 *   namespace created) and the CA material changes (a second root published): the other replica
 *   takes over within the Lease duration (plus its retry period) and the ConfigMaps and
 *   `istiod-tls` converge on the new trust bundle.
 *
 * (test/integration/leader-election.test.ts covers the election itself: one leader, only the
 * leader writes, the never-two-leaders timeline.)
 */
import { writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { status as Status, type ServiceError } from '@grpc/grpc-js';
import * as k8s from '@kubernetes/client-node';
import { CaClient } from '../../src/client/index.js';
import { csrFor } from '../server/harness.js';
import {
  ignoreNotFound,
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
import { startMeshcaProcess, type MeshcaProcess } from '../support/meshca-process.js';
import { createTestPki, writeTestPki, type TestPki } from '../support/pki.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';

const LEASE = 'meshca';
const LEASE_DURATION_MS = 3000;
const RETRY_PERIOD_MS = 500;
const CONFIGMAP = 'istio-ca-root-cert';
const IN_FLIGHT = 100;
const ACCOUNTS = 10;

/** A Lease time in ms (client-node types MicroTime as Date but hands over the string). */
function timeOf(value: Date | string | undefined): number {
  if (value === undefined) return NaN;
  return value instanceof Date ? value.getTime() : Date.parse(value);
}

/** The value of an unlabelled gauge on a replica's /metrics. */
async function gauge(replica: MeshcaProcess, name: string): Promise<number> {
  const { body } = await replica.get('/metrics');
  const line = body.split('\n').find((text) => text.startsWith(`${name} `));
  return line === undefined ? NaN : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describeKube('failover with a cluster', () => {
  let admin: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  let coordination: k8s.CoordinationV1Api;
  let namespaces: MeshcaNamespaces;
  let pki: TestPki;
  let caDir: string;
  let args: string[];
  let served: string;
  const replicas = new Map<string, MeshcaProcess>();
  let load: { token: string; csrPem: string }[];

  const readLease = (): Promise<k8s.V1Lease> =>
    coordination.readNamespacedLease({ name: LEASE, namespace: namespaces.meshca });
  const launch = async (name: string): Promise<MeshcaProcess> => {
    const replica = await startMeshcaProcess([...args, '--pod-name', name]);
    replicas.set(name, replica);
    return replica;
  };
  /** The replica holding the Lease once it, and only it, says it leads. */
  const settledLeader = (): Promise<{
    name: string;
    leader: MeshcaProcess;
    follower: MeshcaProcess;
  }> =>
    eventually(
      'one settled leader',
      async () => {
        const holder = (await readLease()).spec?.holderIdentity;
        const leader = holder === undefined ? undefined : replicas.get(holder);
        const others = [...replicas].filter(([name]) => name !== holder);
        const [follower] = others.map(([, replica]) => replica);
        if (holder === undefined || leader === undefined || follower === undefined)
          return undefined;
        if ((await gauge(leader, 'meshca_leader')) !== 1) return undefined;
        if ((await gauge(follower, 'meshca_leader')) !== 0) return undefined;
        return { name: holder, leader, follower };
      },
      30_000,
    );

  beforeAll(async () => {
    admin = adminKubeConfig();
    core = admin.makeApiClient(k8s.CoreV1Api);
    coordination = admin.makeApiClient(k8s.CoordinationV1Api);
    namespaces = await setupMeshcaNamespaces(admin);
    served = `fo-${namespaces.run}-apps`;
    await createServedNamespace(admin, namespaces, served);
    pki = await createTestPki({ name: 'failover' });
    caDir = tempDir('meshca-ca-');
    await writeTestPki(caDir, pki);
    args = [
      ...meshcaKubeArgs(namespaces),
      '--ca-dir',
      caDir,
      '--ca-reload-interval',
      '1s',
      '--state-dir',
      tempDir('meshca-state-'),
      '--lease-duration',
      `${LEASE_DURATION_MS / 1000}s`,
      '--lease-renew-deadline',
      '2s',
      '--lease-retry-period',
      `${RETRY_PERIOD_MS}ms`,
      '--shutdown-grace',
      '20s',
      '--trusted-node-accounts',
      '',
    ];
    load = [];
    for (let i = 0; i < ACCOUNTS; i++) {
      const account = `load-${i}`;
      await createServiceAccount(admin, served, account);
      load.push({
        token: await requestToken(admin, served, account, { audiences: ['istio-ca'] }),
        csrPem: (await csrFor(`spiffe://cluster.local/ns/${served}/sa/${account}`)).csrPem,
      });
    }
    await Promise.all([launch('meshca-a'), launch('meshca-b')]);
  }, 120_000);

  afterAll(async () => {
    for (const replica of replicas.values()) replica.kill();
    await Promise.all([...replicas.values()].map((replica) => replica.exited));
    removeTempDirs();
  });

  it('SIGTERM under load: every call received is answered, the Lease is handed over at once, exit 0', async () => {
    const { name, leader, follower } = await settledLeader();
    const clients = Array.from(
      { length: 4 },
      () =>
        new CaClient({
          address: `localhost:${leader.grpcPort}`,
          rootCertPem: pki.files.rootCertPem,
        }),
    );
    // Every token reviewed once, so that the load measures the drain rather than TokenReview.
    for (const [index, call] of load.entries()) {
      await clients[index % clients.length]?.createCertificate({
        csrPem: call.csrPem,
        token: call.token,
      });
    }
    const outcomes = new Map<string, number>();
    let sent = 0;
    const stop = { now: false };
    const worker = async (slot: number): Promise<void> => {
      while (!stop.now) {
        const call = load[(slot + sent) % load.length];
        const client = clients[slot % clients.length];
        if (call === undefined || client === undefined) return;
        sent++;
        let outcome = 'OK';
        try {
          await client.createCertificate({
            csrPem: call.csrPem,
            token: call.token,
            deadlineMs: 30_000,
          });
        } catch (error) {
          outcome = Status[(error as ServiceError).code];
        }
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      }
    };
    const running = Promise.all(Array.from({ length: IN_FLIGHT }, (_, slot) => worker(slot)));
    await eventually(
      'the load under way',
      () => ((outcomes.get('OK') ?? 0) >= 300 ? true : undefined),
      30_000,
    );
    const before = await readLease();
    const signalledAt = Date.now();
    leader.child.kill('SIGTERM');
    const taken = await eventually(
      'the other replica holding the Lease',
      async () => {
        const lease = await readLease();
        // Released, the Lease has no holder (""): wait for the one who takes it.
        const holder = lease.spec?.holderIdentity;
        return holder !== name && holder !== undefined && holder !== '' ? lease : undefined;
      },
      LEASE_DURATION_MS + 20_000,
    );
    const code = await leader.exited;
    stop.now = true;
    await running;
    for (const client of clients) client.close();

    expect(code).toBe(0);
    const logs = leader.logs();
    const drained = logs.find((line) => line.msg.startsWith('gRPC drain'));
    expect(drained).toMatchObject({ cut: 0 });
    const issued = logs.filter((line) => line.msg === 'certificate issued').length;
    expect(logs.filter((line) => line.msg === 'certificate request refused')).toEqual([]);
    expect(issued).toBe(drained?.['received']);
    // What the clients saw agrees: every call meshca received was issued; the rest, never
    // received, came back UNAVAILABLE (retried by proxies).
    expect(outcomes.get('OK')).toBe(issued - load.length);
    for (const [outcome] of outcomes) expect(['OK', 'UNAVAILABLE']).toContain(outcome);
    expect((outcomes.get('OK') ?? 0) + (outcomes.get('UNAVAILABLE') ?? 0)).toBe(sent);
    expect(drained?.['inFlightAtStart']).toBeGreaterThan(0);
    // The Lease was released, not left to expire: taken over at once, by the follower.
    expect(logs.map((line) => line.msg)).toContain('lease released');
    expect(taken.spec?.holderIdentity).toBe(
      [...replicas].find(([, replica]) => replica === follower)?.[0],
    );
    expect(timeOf(taken.spec?.acquireTime) - signalledAt).toBeLessThan(LEASE_DURATION_MS);
    expect(taken.spec?.leaseTransitions).toBe((before.spec?.leaseTransitions ?? 0) + 1);
    replicas.delete(name);
  }, 120_000);

  it('kill -9 of the leader: taken over within the Lease duration, ConfigMaps and istiod-tls converge', async () => {
    // Two replicas again: the one that stopped comes back as a follower.
    await launch('meshca-a-2');
    const { leader } = await settledLeader();
    await eventually('istiod-tls written', () =>
      core
        .readNamespacedSecret({ name: 'istiod-tls', namespace: namespaces.istio })
        .then(() => true),
    );

    leader.child.kill('SIGKILL');
    await leader.exited;
    const last = await readLease();
    // While nobody leads, the cluster drifts and the CA material changes: a second root.
    const next = await createTestPki({ name: 'failover-next' });
    const bundle = pki.files.rootCertPem + next.files.rootCertPem;
    const staged = join(tempDir('meshca-ca-next-'), 'root-cert.pem');
    writeFileSync(staged, bundle);
    renameSync(staged, join(caDir, 'root-cert.pem'));
    const added = `fo-${namespaces.run}-new`;
    await createServedNamespace(admin, namespaces, added);
    // Already gone is fine: the drift is what matters (another test's meshca on the shared API
    // server may have removed a ConfigMap outside its own selector).
    await core
      .deleteNamespacedConfigMap({ name: CONFIGMAP, namespace: served })
      .catch(ignoreNotFound);
    await core
      .deleteNamespacedSecret({ name: 'istiod-tls', namespace: namespaces.istio })
      .catch(ignoreNotFound);

    const taken = await eventually(
      'a new holder of the Lease',
      async () => {
        const lease = await readLease();
        const holder = lease.spec?.holderIdentity;
        return holder !== last.spec?.holderIdentity && holder !== undefined && holder !== ''
          ? lease
          : undefined;
      },
      LEASE_DURATION_MS + 10_000,
    );
    // Within the Lease duration of the dead leader's last renewal, plus one retry period and the
    // request's latency.
    const waitedMs = timeOf(taken.spec?.acquireTime) - timeOf(last.spec?.renewTime);
    expect(waitedMs).toBeGreaterThanOrEqual(LEASE_DURATION_MS - 100);
    expect(waitedMs).toBeLessThanOrEqual(LEASE_DURATION_MS + RETRY_PERIOD_MS + 1000);

    // Convergence: every served namespace's ConfigMap and istiod-tls hold both roots.
    const holdsBoth = (text: string | undefined): boolean =>
      text !== undefined &&
      text.includes(pki.files.rootCertPem.trim()) &&
      text.includes(next.files.rootCertPem.trim());
    for (const namespace of [served, added]) {
      await eventually(
        `${CONFIGMAP} in ${namespace}`,
        async () => {
          const configMap = await core.readNamespacedConfigMap({ name: CONFIGMAP, namespace });
          return holdsBoth(configMap.data?.['root-cert.pem']) ? true : undefined;
        },
        20_000,
      );
    }
    const istiod = await eventually(
      'istiod-tls re-created with the new bundle',
      async () => {
        const secret = await core.readNamespacedSecret({
          name: 'istiod-tls',
          namespace: namespaces.istio,
        });
        const ca = Buffer.from(secret.data?.['ca.crt'] ?? '', 'base64').toString('utf8');
        return holdsBoth(ca) ? secret : undefined;
      },
      20_000,
    );
    expect(istiod.type).toBe('kubernetes.io/tls');
  }, 90_000);
});

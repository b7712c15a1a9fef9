/**
 * Leader election between real meshca processes over one coordination.k8s.io/v1 Lease, against
 * the real API server and under the RBAC of manifests/: exactly one replica leads at a time, only
 * the leader writes (trust-bundle ConfigMaps, istiod-tls), every replica serves certificates, a
 * leader killed without a chance to release is replaced once its lease has expired, and a leader
 * that shuts down releases the Lease so that another takes over at once.
 *
 * The replicas are child processes (`node --import tsx test/support/meshca-main.ts serve`) so that
 * SIGKILL and SIGTERM are what a kubelet would send; the test reads their JSON logs (stderr) and
 * their `/metrics`.
 */
import * as k8s from '@kubernetes/client-node';
import { spawn, type ChildProcess } from 'node:child_process';
import { checkCertificateChain } from '../../src/ca/index.js';
import { CaClient } from '../../src/client/index.js';
import { REPO_ROOT } from '../support/environment.js';
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
import { createTestPki, writeTestPki, type TestPki } from '../support/pki.js';
import { captureLog } from '../support/log-capture.js';
import { freePort } from '../support/process.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';
import { csrFor } from '../server/harness.js';

const LEASE = 'meshca';
const LEASE_DURATION_MS = 3000;
const CONFIGMAP = 'istio-ca-root-cert';

/** One line of meshca's JSON log. */
interface LogLine {
  readonly time: string;
  readonly msg: string;
  readonly [field: string]: unknown;
}

/** A meshca child process. */
interface Replica {
  readonly name: string;
  readonly grpcPort: number;
  readonly httpPort: number;
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  /** True once the process has exited. */
  readonly gone: () => boolean;
  /** When the test killed it (for the leadership timeline), if it did. */
  killedAt: number | undefined;
  logs(): LogLine[];
}

/** The environment of the child processes: ours without test-only MESHCA_* variables. */
function childEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('MESHCA_')),
  );
}

async function startReplica(name: string, args: readonly string[]): Promise<Replica> {
  const grpcPort = await freePort();
  const httpPort = await freePort();
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'test/support/meshca-main.ts',
      'serve',
      ...args,
      '--pod-name',
      name,
      '--listen',
      `127.0.0.1:${grpcPort}`,
      '--http-listen',
      `127.0.0.1:${httpPort}`,
      '--log-level',
      'info',
    ],
    { cwd: REPO_ROOT, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    stderr += text;
    captureLog(text);
  });
  child.stdout.resume();
  let gone = false;
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code) => {
      gone = true;
      resolve(code);
    });
  });
  return {
    name,
    grpcPort,
    httpPort,
    child,
    exited,
    gone: () => gone,
    killedAt: undefined,
    logs: () =>
      stderr
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as LogLine),
  };
}

/** A Lease time in ms (client-node types MicroTime as Date but hands over the string). */
function timeOf(value: Date | string | undefined): number {
  if (value === undefined) return NaN;
  return value instanceof Date ? value.getTime() : Date.parse(value);
}

async function get(replica: Replica, path: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://127.0.0.1:${replica.httpPort}${path}`);
  return { status: response.status, body: await response.text() };
}

/** The value of an unlabelled gauge, or the sum of a counter's samples (0 when none). */
async function metric(replica: Replica, name: string): Promise<number> {
  const { body } = await get(replica, '/metrics');
  return body
    .split('\n')
    .filter((line) => line.startsWith(`${name} `) || line.startsWith(`${name}{`))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

describeKube('leader election between meshca processes', () => {
  let admin: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  let coordination: k8s.CoordinationV1Api;
  let namespaces: MeshcaNamespaces;
  let pki: TestPki;
  let args: string[];
  let served: string;
  const replicas: Replica[] = [];

  const readLease = (): Promise<k8s.V1Lease> =>
    coordination.readNamespacedLease({ name: LEASE, namespace: namespaces.meshca });
  const alive = (): Replica[] => replicas.filter((replica) => !replica.gone());
  /** The holder of the Lease once exactly that replica says it leads and the others do not. */
  const settledLeader = (): Promise<{ leader: Replica; followers: Replica[] }> =>
    eventually('one settled leader', async () => {
      const holder = (await readLease()).spec?.holderIdentity;
      const running = alive();
      const leader = running.find((replica) => replica.name === holder);
      if (leader === undefined) return undefined;
      const followers = running.filter((replica) => replica !== leader);
      const gauges = await Promise.all(running.map((replica) => metric(replica, 'meshca_leader')));
      const leading = running.filter((_replica, index) => gauges[index] === 1);
      return leading.length === 1 && leading[0] === leader ? { leader, followers } : undefined;
    });
  const launch = async (name: string): Promise<Replica> => {
    const replica = await startReplica(name, args);
    replicas.push(replica);
    await eventually(
      `${name} ready`,
      async () => {
        if (replica.gone()) {
          throw new Error(`${name} exited: ${JSON.stringify(replica.logs().slice(-3))}`);
        }
        return (await get(replica, '/readyz')).status === 200 ? true : undefined;
      },
      30_000,
    );
    return replica;
  };

  const configMap = async (): Promise<k8s.V1ConfigMap | undefined> => {
    try {
      return await core.readNamespacedConfigMap({ name: CONFIGMAP, namespace: served });
    } catch (error) {
      if (error instanceof k8s.ApiException && error.code === 404) return undefined;
      throw error;
    }
  };
  const bundle = (): string => pki.material().trustBundle.pem;
  const exactConfigMap = async (): Promise<k8s.V1ConfigMap | undefined> => {
    const found = await configMap();
    return found?.data?.['root-cert.pem'] === bundle() && Object.keys(found.data).length === 1
      ? found
      : undefined;
  };
  /** Edits the ConfigMap and waits for the leader to put it right again. */
  const tamperAndAwaitRepair = async (): Promise<void> => {
    await eventually('an edited ConfigMap', async () => {
      const current = await exactConfigMap();
      if (current === undefined) return undefined;
      await core.replaceNamespacedConfigMap({
        name: CONFIGMAP,
        namespace: served,
        body: { ...current, data: { 'root-cert.pem': 'tampered', 'extra.pem': 'x' } },
      });
      return true;
    });
    await eventually('the ConfigMap repaired', exactConfigMap, 20_000);
  };
  const writes = (replica: Replica): Promise<number> =>
    metric(replica, 'meshca_trust_bundle_configmap_writes_total');
  /** The "lease acquired" log lines of a replica. */
  const acquisitions = (replica: Replica): LogLine[] =>
    replica.logs().filter((line) => line.msg === 'lease acquired; leading');

  beforeAll(async () => {
    admin = adminKubeConfig();
    core = admin.makeApiClient(k8s.CoreV1Api);
    coordination = admin.makeApiClient(k8s.CoordinationV1Api);
    namespaces = await setupMeshcaNamespaces(admin);
    served = `le-${namespaces.run}-apps`;
    await createServedNamespace(admin, namespaces, served);
    await createServiceAccount(admin, served, 'web');
    pki = await createTestPki({ name: 'leader-election' });
    const caDir = tempDir('meshca-ca-');
    await writeTestPki(caDir, pki);
    args = [
      ...meshcaKubeArgs(namespaces),
      '--ca-dir',
      caDir,
      '--state-dir',
      tempDir('meshca-state-'),
      '--lease-duration',
      `${LEASE_DURATION_MS / 1000}s`,
      '--lease-renew-deadline',
      '2s',
      '--lease-retry-period',
      '500ms',
    ];
    await Promise.all([launch('meshca-a'), launch('meshca-b')]);
  }, 60_000);

  afterAll(async () => {
    for (const replica of alive()) replica.child.kill('SIGKILL');
    await Promise.all(replicas.map((replica) => replica.exited));
    removeTempDirs();
  });

  it('shares one Lease between the replicas: exactly one leads', async () => {
    const { leader, followers } = await settledLeader();
    const lease = await readLease();
    expect(lease.spec?.holderIdentity).toBe(leader.name);
    expect(lease.spec?.leaseDurationSeconds).toBe(LEASE_DURATION_MS / 1000);
    expect(followers.map((replica) => replica.name)).toEqual(
      ['meshca-a', 'meshca-b'].filter((name) => name !== leader.name),
    );
    // The follower never held the Lease.
    for (const follower of followers) expect(acquisitions(follower)).toEqual([]);
  });

  it('lets only the leader write: a ConfigMap edit is repaired by the leader alone', async () => {
    const { leader, followers } = await settledLeader();
    await eventually('the ConfigMap', exactConfigMap);
    await tamperAndAwaitRepair();
    expect(await writes(leader)).toBeGreaterThan(0);
    for (const follower of followers) expect(await writes(follower)).toBe(0);
  });

  it('lets only the leader write istiod-tls', async () => {
    const { leader, followers } = await settledLeader();
    const secret = await eventually('istiod-tls', async () => {
      try {
        return await core.readNamespacedSecret({ name: 'istiod-tls', namespace: namespaces.istio });
      } catch {
        return undefined;
      }
    });
    expect(secret.type).toBe('kubernetes.io/tls');
    const issued = /meshca_certificate_expiry_timestamp_seconds\{certificate="istiod"\}/;
    expect((await get(leader, '/metrics')).body).toMatch(issued);
    for (const follower of followers) {
      expect((await get(follower, '/metrics')).body).not.toMatch(issued);
      expect(follower.logs().map((line) => line.msg)).not.toContain('istiod certificate issued');
    }
  });

  it.each(['leader', 'follower'] as const)('issues certificates on the %s', async (role) => {
    const { leader, followers } = await settledLeader();
    const replica = role === 'leader' ? leader : followers[0];
    if (replica === undefined) throw new Error('no follower');
    const uri = `spiffe://cluster.local/ns/${served}/sa/web`;
    const token = await requestToken(admin, served, 'web', { audiences: ['istio-ca'] });
    const csr = await csrFor(uri);
    const client = new CaClient({
      address: `localhost:${replica.grpcPort}`,
      rootCertPem: pki.root.cert.pem,
    });
    try {
      const chain = await client.createCertificate({ csrPem: csr.csrPem, token });
      expect(checkCertificateChain(chain, { uri, spkiDer: csr.spkiDer, at: new Date() }).uri).toBe(
        uri,
      );
      expect(chain[chain.length - 1]).toBe(bundle());
    } finally {
      client.close();
    }
  });

  it('replaces a leader killed with SIGKILL once its lease expired; repairs continue', async () => {
    const { leader, followers } = await settledLeader();
    const [successor] = followers;
    if (successor === undefined) throw new Error('no follower');
    leader.killedAt = Date.now();
    leader.child.kill('SIGKILL');
    await leader.exited;
    // Nobody renews the dead leader's lease any more: this is its last renewal.
    const last = await readLease();
    expect(last.spec?.holderIdentity).toBe(leader.name);
    const taken = await eventually(
      'the follower holding the Lease',
      async () => {
        const lease = await readLease();
        return lease.spec?.holderIdentity === successor.name ? lease : undefined;
      },
      LEASE_DURATION_MS + 10_000,
    );
    // Never before the lease expired: acquired a lease duration after the last renewal. (Both
    // times are taken before the writer's read of the Lease; allow for that request's latency.)
    const acquiredAt = timeOf(taken.spec?.acquireTime);
    const lastRenewedAt = timeOf(last.spec?.renewTime);
    expect(acquiredAt - lastRenewedAt).toBeGreaterThanOrEqual(LEASE_DURATION_MS - 100);
    expect(taken.spec?.leaseTransitions).toBe((last.spec?.leaseTransitions ?? 0) + 1);
    const acquired = await eventually('the successor logging its acquisition', () =>
      acquisitions(successor).at(-1),
    );
    expect(acquired['previous']).toBe(leader.name);

    await settledLeader();
    const before = await writes(successor);
    await tamperAndAwaitRepair();
    expect(await writes(successor)).toBeGreaterThan(before);
  }, 40_000);

  it('hands over at once when the leader shuts down with SIGTERM and releases the Lease', async () => {
    // Bring the killed replica back; it joins as a follower of the current leader.
    const killed = replicas.find((replica) => replica.killedAt !== undefined);
    if (killed === undefined) throw new Error('no killed replica');
    const { leader } = await settledLeader();
    const returned = await launch(killed.name);
    const { leader: stillLeader } = await settledLeader();
    expect(stillLeader).toBe(leader);
    expect(await metric(returned, 'meshca_leader')).toBe(0);

    const before = await readLease();
    const stoppedAt = Date.now();
    leader.killedAt = stoppedAt;
    leader.child.kill('SIGTERM');
    const taken = await eventually(
      'the returned replica holding the Lease',
      async () => {
        const lease = await readLease();
        return lease.spec?.holderIdentity === returned.name ? lease : undefined;
      },
      LEASE_DURATION_MS + 10_000,
    );
    expect(await leader.exited).toBe(0);
    expect(leader.logs().map((line) => line.msg)).toContain('lease released');
    // The Lease was free when taken (no previous holder to wait out)...
    const acquired = await eventually('the returned replica logging its acquisition', () =>
      acquisitions(returned).at(-1),
    );
    expect(acquired['previous']).toBeUndefined();
    // ...so the handover took less than the lease duration a dead leader would have cost.
    expect(timeOf(taken.spec?.acquireTime) - stoppedAt).toBeLessThan(LEASE_DURATION_MS);
    expect(taken.spec?.leaseTransitions).toBe((before.spec?.leaseTransitions ?? 0) + 1);
    await settledLeader();
    await tamperAndAwaitRepair();
    expect(await writes(returned)).toBeGreaterThan(0);
  }, 60_000);

  it('never had two leaders at once (leadership timeline from every log)', () => {
    const intervals = replicas.flatMap((replica) => {
      const spans: { name: string; from: number; to: number }[] = [];
      let from: number | undefined;
      for (const line of replica.logs()) {
        if (line.msg === 'leading: writing') from = Date.parse(line.time);
        if (line.msg === 'not leading: watching' && from !== undefined) {
          spans.push({ name: replica.name, from, to: Date.parse(line.time) });
          from = undefined;
        }
      }
      if (from !== undefined) {
        spans.push({ name: replica.name, from, to: replica.killedAt ?? Infinity });
      }
      return spans;
    });
    // Three leaders: the first, the one after SIGKILL, the one after SIGTERM.
    expect(intervals).toHaveLength(3);
    const ordered = [...intervals].sort((a, b) => a.from - b.from);
    for (let i = 1; i < ordered.length; i++) {
      const previous = ordered[i - 1];
      const next = ordered[i];
      expect(next?.from).toBeGreaterThanOrEqual(previous?.to ?? Infinity);
    }
  });
});

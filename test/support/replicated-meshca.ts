/**
 * A meshca deployment of two or more real `meshca serve` processes sharing a Lease in the real
 * kube-apiserver, for the failover tests with the ledger: its own namespaces and RBAC (so its
 * Lease, `istiod-tls` and served namespaces are its own), CA files, callers with tokens and CSRs,
 * and a state directory per replica (its spool, and with SQLite its ledger file).
 *
 * The Lease is short (3 s, retried every 500 ms) so that takeovers are quick to observe.
 */
import { X509Certificate } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { runCommand } from '../../src/cli/main.js';
import { csrFor } from '../server/harness.js';
import { metricValue } from './issuance-load.js';
import {
  createServedNamespace,
  createServiceAccount,
  eventually,
  meshcaKubeArgs,
  requestToken,
  setupMeshcaNamespaces,
  type MeshcaNamespaces,
} from './kube.js';
import { startMeshcaProcess, type MeshcaProcess } from './meshca-process.js';
import { createTestPki, writeTestPki, type TestPki } from './pki.js';
import { tempDir } from './tmp.js';

/** The Lease's name (the one manifests' RBAC allows). */
export const LEASE = 'meshca';
export const LEASE_DURATION_MS = 3000;
export const RETRY_PERIOD_MS = 500;

/** One caller of the deployment's served namespace. */
export interface Caller {
  readonly account: string;
  readonly token: string;
  readonly csrPem: string;
}

/** A deployment: what it runs in, and its replicas. */
export interface ReplicatedMeshca {
  readonly namespaces: MeshcaNamespaces;
  /** A namespace that gets the trust bundle, where the callers live. */
  readonly served: string;
  readonly pki: TestPki;
  readonly callers: readonly Caller[];
  /** By pod name. */
  readonly replicas: Map<string, MeshcaProcess>;
  readonly stateDirs: Map<string, string>;
  /** Starts a replica named `name` (its `--pod-name`, and so its ledger writer). */
  launch(name: string): Promise<MeshcaProcess>;
  readLease(): Promise<k8s.V1Lease>;
  /** The replica holding the Lease once it, and only it, says it leads. */
  settledLeader(): Promise<{ name: string; leader: MeshcaProcess; follower: MeshcaProcess }>;
}

/** Options of {@link deployReplicatedMeshca}. */
export interface ReplicatedMeshcaOptions {
  /** Extra flags of every replica (the ledger's). */
  readonly args: readonly string[];
  /** Extra environment of every replica (MESHCA_LEDGER_PASSWORD). */
  readonly env?: Readonly<Record<string, string>>;
  /** Callers (service accounts `load-N`) to prepare. Default 10. */
  readonly callers?: number;
  /** Every process started, for the test's afterAll to kill. */
  readonly processes: MeshcaProcess[];
}

/** Sets a deployment up (nothing started yet). */
export async function deployReplicatedMeshca(
  admin: k8s.KubeConfig,
  options: ReplicatedMeshcaOptions,
): Promise<ReplicatedMeshca> {
  const coordination = admin.makeApiClient(k8s.CoordinationV1Api);
  const namespaces = await setupMeshcaNamespaces(admin);
  const served = `rm-${namespaces.run}-apps`;
  await createServedNamespace(admin, namespaces, served);
  const pki = await createTestPki({ name: 'replicated' });
  const caDir = tempDir('meshca-ca-');
  await writeTestPki(caDir, pki);
  const callers: Caller[] = [];
  for (let i = 0; i < (options.callers ?? 10); i++) {
    const account = `load-${i}`;
    await createServiceAccount(admin, served, account);
    callers.push({
      account,
      token: await requestToken(admin, served, account, { audiences: ['istio-ca'] }),
      csrPem: (await csrFor(`spiffe://cluster.local/ns/${served}/sa/${account}`)).csrPem,
    });
  }
  const args = [
    ...meshcaKubeArgs(namespaces),
    '--ca-dir',
    caDir,
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
    '--ledger-flush-interval',
    '100ms',
    ...options.args,
  ];
  const replicas = new Map<string, MeshcaProcess>();
  const stateDirs = new Map<string, string>();
  const readLease = (): Promise<k8s.V1Lease> =>
    coordination.readNamespacedLease({ name: LEASE, namespace: namespaces.meshca });
  return {
    namespaces,
    served,
    pki,
    callers,
    replicas,
    stateDirs,
    readLease,
    async launch(name) {
      const stateDir = tempDir('meshca-state-');
      const replica = await startMeshcaProcess(
        [...args, '--state-dir', stateDir, '--pod-name', name],
        options.env,
      );
      options.processes.push(replica);
      replicas.set(name, replica);
      stateDirs.set(name, stateDir);
      return replica;
    },
    settledLeader: () =>
      eventually(
        'one settled leader',
        async () => {
          const holder = (await readLease()).spec?.holderIdentity;
          const leader = holder === undefined ? undefined : replicas.get(holder);
          const [follower] = [...replicas]
            .filter(([name]) => name !== holder)
            .map(([, replica]) => replica);
          if (holder === undefined || leader === undefined || follower === undefined)
            return undefined;
          if ((await gauge(leader, 'meshca_leader')) !== 1) return undefined;
          if ((await gauge(follower, 'meshca_leader')) !== 0) return undefined;
          return { name: holder, leader, follower };
        },
        30_000,
      ),
  };
}

/** The value of an unlabelled series on a replica's /metrics (NaN when absent). */
export async function gauge(replica: MeshcaProcess, name: string): Promise<number> {
  return metricValue((await replica.get('/metrics')).body, name) ?? NaN;
}

/** Waits until a replica's ledger backlog is written. */
export async function ledgerDrained(replica: MeshcaProcess): Promise<void> {
  await eventually(
    'the ledger backlog written',
    async () => ((await gauge(replica, 'meshca_ledger_backlog_records')) === 0 ? true : undefined),
    30_000,
  );
}

/** A Lease time in ms (client-node types MicroTime as Date but hands over the string). */
export function leaseTime(value: Date | string | undefined): number {
  if (value === undefined) return NaN;
  return value instanceof Date ? value.getTime() : Date.parse(value);
}

/** The serial of a chain's leaf, lower-case hex (as the ledger keeps it). */
export function serialOf(chain: readonly string[]): string {
  return new X509Certificate(chain[0] ?? '').serialNumber.toLowerCase();
}

/** Runs a `meshca` command in-process; its output and exit code. */
export async function meshcaCommand(
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await runCommand(
    [...args],
    {
      stdout: { write: (text: string) => (out += text) },
      stderr: { write: (text: string) => (out += text) },
      env: { ...env },
      cwd: process.cwd(),
    },
    new AbortController().signal,
  );
  return { code, out };
}

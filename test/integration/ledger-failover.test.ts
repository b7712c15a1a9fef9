/**
 * Failover with the identity ledger on, between real meshca processes sharing a Lease in the real
 * kube-apiserver, each case a deployment of its own (namespaces, RBAC, Lease):
 *
 * - SIGTERM to the leader under load, with SQLite (a file per replica) and with PostgreSQL (one
 *   database): no call it received fails, it releases the Lease (the other replica takes over at
 *   once, not after the Lease duration), it writes every record before it exits 0 — each
 *   certificate it issued is in its ledger, its chain is whole up to the head it logged last, its
 *   spool is empty, `ledger verify` passes;
 * - kill -9 of the leader with revocation and the shared PostgreSQL ledger: the other replica
 *   takes over within the Lease duration and repairs what drifted meanwhile — `istio-ca-root-cert`,
 *   `istiod-tls` and `istio-ca-crl`, in a namespace whose ConfigMaps were deleted and in one
 *   created meanwhile; its CRL (checked with `openssl crl -verify` against the intermediate)
 *   lists a certificate the dead leader issued and retired before the kill, and one revoked by
 *   hand while nobody led.
 *
 * (test/integration/failover.test.ts covers the same faults with the ledger's defaults and no
 * database checks; leader-election.test.ts the election itself.)
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { status as Status, type ServiceError } from '@grpc/grpc-js';
import * as k8s from '@kubernetes/client-node';
import Database from 'better-sqlite3';
import { runCommand } from '../../src/cli/main.js';
import { CaClient } from '../../src/client/index.js';
import { csrFor } from '../server/harness.js';
import { metricValue } from '../support/issuance-load.js';
import {
  adminKubeConfig,
  createPod,
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
import { postgresAvailable, startPostgres, type TestPostgres } from '../support/postgres.js';
import { createTestPki, writeTestPki, type TestPki } from '../support/pki.js';
import { run } from '../support/process.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';

const LEASE = 'meshca';
const LEASE_DURATION_MS = 3000;
const RETRY_PERIOD_MS = 500;
const IN_FLIGHT = 100;
const ACCOUNTS = 10;
const never = new AbortController().signal;

/** A Lease time in ms (client-node types MicroTime as Date but hands over the string). */
function timeOf(value: Date | string | undefined): number {
  if (value === undefined) return NaN;
  return value instanceof Date ? value.getTime() : Date.parse(value);
}

const serialOf = (chain: readonly string[]): string =>
  new X509Certificate(chain[0] ?? '').serialNumber.toLowerCase();

/** What the ledger holds of one writer's chain: its records and the serials it issued. */
interface WriterRecords {
  readonly records: number;
  readonly lastSequence: number;
  readonly serials: string[];
}

const RECORDS_OF_WRITER =
  'SELECT count(*) AS records, max(sequence) AS last FROM ledger_records WHERE writer = ?';
const SERIALS_OF_WRITER = `SELECT c.serial AS serial FROM ledger_certificates c
  JOIN ledger_records r ON r.chain_id = c.chain_id AND r.sequence = c.sequence
  WHERE r.writer = ?`;

(postgresAvailable() ? describeKube : describe.skip)('failover with the ledger', () => {
  let admin: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  let coordination: k8s.CoordinationV1Api;
  let pg: TestPostgres;
  const processes: MeshcaProcess[] = [];

  beforeAll(async () => {
    admin = adminKubeConfig();
    core = admin.makeApiClient(k8s.CoreV1Api);
    coordination = admin.makeApiClient(k8s.CoordinationV1Api);
    pg = await startPostgres();
  }, 120_000);

  afterAll(async () => {
    for (const replica of processes) replica.kill();
    await Promise.all(processes.map((replica) => replica.exited));
    await pg.destroy();
    removeTempDirs();
  });

  /** One meshca deployment: its namespaces and RBAC, a served namespace, CA files, callers. */
  interface Deployment {
    readonly namespaces: MeshcaNamespaces;
    readonly served: string;
    readonly pki: TestPki;
    readonly callers: { account: string; token: string; csrPem: string }[];
    readonly replicas: Map<string, MeshcaProcess>;
    readonly stateDirs: Map<string, string>;
    launch(name: string): Promise<MeshcaProcess>;
    readLease(): Promise<k8s.V1Lease>;
    settledLeader(): Promise<{ name: string; leader: MeshcaProcess; follower: MeshcaProcess }>;
  }

  async function deploy(ledgerArgs: readonly string[]): Promise<Deployment> {
    const namespaces = await setupMeshcaNamespaces(admin);
    const served = `lf-${namespaces.run}-apps`;
    await createServedNamespace(admin, namespaces, served);
    const pki = await createTestPki({ name: 'ledger-failover' });
    const caDir = tempDir('meshca-ca-');
    await writeTestPki(caDir, pki);
    const callers: Deployment['callers'] = [];
    for (let i = 0; i < ACCOUNTS; i++) {
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
      ...ledgerArgs,
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
        // Each replica its own state directory: its spool, and with SQLite its ledger file.
        const stateDir = tempDir('meshca-state-');
        const replica = await startMeshcaProcess(
          [...args, '--state-dir', stateDir, '--pod-name', name],
          { MESHCA_LEDGER_PASSWORD: pg.password },
        );
        processes.push(replica);
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

  async function gauge(replica: MeshcaProcess, name: string): Promise<number> {
    return metricValue((await replica.get('/metrics')).body, name) ?? NaN;
  }

  async function drained(replica: MeshcaProcess): Promise<void> {
    await eventually(
      'the ledger backlog written',
      async () =>
        (await gauge(replica, 'meshca_ledger_backlog_records')) === 0 ? true : undefined,
      30_000,
    );
  }

  function sqliteRecords(file: string, writer: string): WriterRecords {
    const db = new Database(file, { readonly: true });
    try {
      const counts = db.prepare(RECORDS_OF_WRITER).get(writer) as {
        records: number;
        last: number | null;
      };
      const serials = db.prepare(SERIALS_OF_WRITER).all(writer) as { serial: string }[];
      return {
        records: counts.records,
        lastSequence: counts.last ?? 0,
        serials: serials.map((row) => row.serial).sort(),
      };
    } finally {
      db.close();
    }
  }

  async function postgresRecords(url: string, writer: string): Promise<WriterRecords> {
    const database = new URL(url).pathname.slice(1);
    const numbered = (sql: string): string => sql.replace('?', '$1');
    const [counts] = await pg.sql(database, numbered(RECORDS_OF_WRITER), [writer]);
    const serials = await pg.sql(database, numbered(SERIALS_OF_WRITER), [writer]);
    return {
      records: Number(counts?.['records']),
      lastSequence: Number(counts?.['last'] ?? 0),
      serials: serials.map((row) => String(row['serial'])).sort(),
    };
  }

  async function meshcaCli(args: readonly string[]): Promise<{ code: number; out: string }> {
    let out = '';
    const code = await runCommand(
      [...args],
      {
        stdout: { write: (text: string) => (out += text) },
        stderr: { write: (text: string) => (out += text) },
        env: { MESHCA_LEDGER_PASSWORD: pg.password },
        cwd: process.cwd(),
      },
      never,
    );
    return { code, out };
  }

  it.each([
    ['SQLite, a file per replica', 'sqlite'],
    ['PostgreSQL, one database', 'postgres'],
  ] as const)(
    'SIGTERM under load (%s): every call received answered, the Lease handed over at once, every record written, exit 0',
    async (_title, database) => {
      const url = database === 'postgres' ? await pg.createDatabase() : undefined;
      const deployment = await deploy(
        url === undefined ? [] : ['--ledger', url, '--ledger-tls-mode', 'disable'],
      );
      await Promise.all([deployment.launch('meshca-a'), deployment.launch('meshca-b')]);
      const { name, leader, follower } = await deployment.settledLeader();
      const clients = Array.from(
        { length: 4 },
        () =>
          new CaClient({
            address: `localhost:${leader.grpcPort}`,
            rootCertPem: deployment.pki.files.rootCertPem,
          }),
      );
      const serials: string[] = [];
      // Every token reviewed once, so that the load measures the drain rather than TokenReview.
      for (const [index, caller] of deployment.callers.entries()) {
        const chain = await clients[index % clients.length]?.createCertificate({
          csrPem: caller.csrPem,
          token: caller.token,
        });
        if (chain !== undefined) serials.push(serialOf(chain));
      }
      const outcomes = new Map<string, number>();
      let sent = 0;
      let pending = 0;
      const stop = { now: false };
      const worker = async (slot: number): Promise<void> => {
        while (!stop.now) {
          const caller = deployment.callers[(slot + sent) % deployment.callers.length];
          const client = clients[slot % clients.length];
          if (caller === undefined || client === undefined) return;
          sent++;
          pending++;
          let outcome = 'OK';
          try {
            const chain = await client.createCertificate({
              csrPem: caller.csrPem,
              token: caller.token,
              deadlineMs: 30_000,
            });
            serials.push(serialOf(chain));
          } catch (error) {
            outcome = Status[(error as ServiceError).code];
          } finally {
            pending--;
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
      const before = await deployment.readLease();
      const signalledAt = Date.now();
      const pendingAtSignal = pending;
      leader.child.kill('SIGTERM');
      const taken = await eventually(
        'the other replica holding the Lease',
        async () => {
          const lease = await deployment.readLease();
          const holder = lease.spec?.holderIdentity;
          return holder !== name && holder !== undefined && holder !== '' ? lease : undefined;
        },
        LEASE_DURATION_MS + 20_000,
      );
      const code = await leader.exited;
      stop.now = true;
      await running;
      for (const client of clients) client.close();

      // The drain: every call received was answered, and only those never received failed.
      expect(code).toBe(0);
      const logs = leader.logs();
      const messages = logs.map((line) => line.msg);
      const drain = logs.find((line) => line.msg.startsWith('gRPC drain'));
      expect(drain).toMatchObject({ cut: 0 });
      // The signal landed under load. (Whether meshca itself held calls at that instant depends on
      // who had the CPU; failover.test.ts and server/grpc-drain.test.ts pin the drain of those.)
      expect(pendingAtSignal).toBeGreaterThan(0);
      const issued = logs.filter((line) => line.msg === 'certificate issued').length;
      expect(messages).not.toContain('certificate request refused');
      expect(issued).toBe(drain?.['received']);
      expect(outcomes.get('OK')).toBe(issued - deployment.callers.length);
      for (const [outcome] of outcomes) expect(['OK', 'UNAVAILABLE']).toContain(outcome);
      expect(serials).toHaveLength(issued);

      // The Lease: released, and taken by the follower at once rather than after it expired.
      expect(messages).toContain('lease released');
      expect(taken.spec?.holderIdentity).toBe(
        [...deployment.replicas].find(([, replica]) => replica === follower)?.[0],
      );
      expect(timeOf(taken.spec?.acquireTime) - signalledAt).toBeLessThan(LEASE_DURATION_MS);
      expect(taken.spec?.leaseTransitions).toBe((before.spec?.leaseTransitions ?? 0) + 1);

      // The ledger: flushed after the drain and before the exit, nothing left in the spool.
      expect(messages.indexOf('ledger flushed at shutdown')).toBeGreaterThan(
        messages.indexOf(drain?.msg ?? ''),
      );
      expect(messages).not.toContain(
        'ledger not flushed at shutdown; the rest waits in the spool for the next start',
      );
      const heads = logs.filter((line) => line.msg === 'ledger chain head');
      const head = Number(heads[heads.length - 1]?.['sequence']);
      expect(head).toBeGreaterThanOrEqual(issued);
      const stateDir = deployment.stateDirs.get(name) ?? '';
      const spool = join(stateDir, 'ledger-spool.jsonl');
      expect(existsSync(spool) ? readFileSync(spool, 'utf8') : '').toBe('');
      const stored =
        url === undefined
          ? sqliteRecords(join(stateDir, 'ledger.db'), name)
          : await postgresRecords(url, name);
      // Every record of the chain, up to the head logged at exit, is in the database: every
      // certificate the leader issued, none more.
      expect(stored).toEqual({ records: head, lastSequence: head, serials: [...serials].sort() });
      const verified = await meshcaCli(
        url === undefined
          ? ['ledger', 'verify', '--state-dir', stateDir]
          : ['ledger', 'verify', '--ledger', url, '--ledger-tls-mode', 'disable'],
      );
      expect(verified).toMatchObject({ code: 0 });
    },
    150_000,
  );

  it('kill -9 of the leader with revocation: taken over within the Lease duration; istio-ca-root-cert, istiod-tls and istio-ca-crl converge on a CRL that covers the dead leader', async () => {
    const url = await pg.createDatabase();
    const deployment = await deploy([
      '--ledger',
      url,
      '--ledger-tls-mode',
      'disable',
      '--revocation',
      '--crl-check-interval',
      '500ms',
    ]);
    const { served, namespaces, pki } = deployment;
    await Promise.all([deployment.launch('meshca-a'), deployment.launch('meshca-b')]);
    const { name, leader } = await deployment.settledLeader();
    const client = new CaClient({
      address: `localhost:${leader.grpcPort}`,
      rootCertPem: pki.files.rootCertPem,
    });

    // Before the kill, the leader issues to a pod and retires the certificate when the pod goes.
    const pod = await createPod(admin, served, 'web-1', 'load-0');
    const podToken = await requestToken(admin, served, 'load-0', {
      audiences: ['istio-ca'],
      pod: { name: 'web-1', uid: pod.metadata?.uid ?? '' },
    });
    const [first, second] = deployment.callers;
    const retired = serialOf(
      await client.createCertificate({ csrPem: first?.csrPem ?? '', token: podToken }),
    );
    // And a certificate that will be revoked by hand while nobody leads.
    const revoked = serialOf(
      await client.createCertificate({ csrPem: second?.csrPem ?? '', token: second?.token ?? '' }),
    );
    client.close();
    await core.deleteNamespacedPod({ name: 'web-1', namespace: served, gracePeriodSeconds: 0 });
    await eventually(
      'the retired serial in the leader’s istio-ca-crl',
      async () => ((await crlText(served))?.includes(upper(retired)) === true ? true : undefined),
      30_000,
    );
    await eventually('istiod-tls written', () =>
      core
        .readNamespacedSecret({ name: 'istiod-tls', namespace: namespaces.istio })
        .then(() => true),
    );
    // What a kill -9 can lose is at most one flush interval; here the leader had written it all.
    await drained(leader);

    leader.child.kill('SIGKILL');
    await leader.exited;
    const last = await deployment.readLease();
    // While nobody leads: a revocation by hand, a new namespace, the distributed objects deleted.
    const revocation = await meshcaCli([
      'revoke',
      revoked,
      '--reason',
      'keyCompromise',
      '--ledger',
      url,
      '--ledger-tls-mode',
      'disable',
    ]);
    expect(revocation.code).toBe(0);
    const added = `lf-${namespaces.run}-new`;
    await createServedNamespace(admin, namespaces, added);
    // Gone already is fine: the leader of another test file running against the same API server
    // removes the meshca-managed ConfigMaps of namespaces its selector does not select.
    const gone = (error: unknown): void => {
      if ((error as { code?: unknown }).code !== 404) throw error;
    };
    await core.deleteNamespacedConfigMap({ name: 'istio-ca-crl', namespace: served }).catch(gone);
    await core
      .deleteNamespacedConfigMap({ name: 'istio-ca-root-cert', namespace: served })
      .catch(gone);
    await core.deleteNamespacedSecret({ name: 'istiod-tls', namespace: namespaces.istio });

    const taken = await eventually(
      'a new holder of the Lease',
      async () => {
        const lease = await deployment.readLease();
        const holder = lease.spec?.holderIdentity;
        return holder !== name && holder !== undefined && holder !== '' ? lease : undefined;
      },
      LEASE_DURATION_MS + 10_000,
    );
    // Within the Lease duration of the dead leader's last renewal, plus one retry period and the
    // request's latency.
    const waitedMs = timeOf(taken.spec?.acquireTime) - timeOf(last.spec?.renewTime);
    expect(waitedMs).toBeGreaterThanOrEqual(LEASE_DURATION_MS - 100);
    expect(waitedMs).toBeLessThanOrEqual(LEASE_DURATION_MS + RETRY_PERIOD_MS + 1000);

    for (const namespace of [served, added]) {
      await eventually(
        `istio-ca-root-cert in ${namespace}`,
        async () => {
          const configMap = await core.readNamespacedConfigMap({
            name: 'istio-ca-root-cert',
            namespace,
          });
          return configMap.data?.['root-cert.pem']?.includes(pki.files.rootCertPem.trim()) === true
            ? true
            : undefined;
        },
        20_000,
      );
      // The new leader's CRL, signed by the intermediate, lists the certificate the dead leader
      // retired and the one revoked while nobody led.
      const crl = await eventually(
        `istio-ca-crl in ${namespace} with both serials`,
        async () => {
          const text = await crlText(namespace);
          return text?.includes(upper(retired)) === true && text.includes(upper(revoked))
            ? text
            : undefined;
        },
        20_000,
      );
      expect(crl).toMatch(/Cessation Of Operation/);
      expect(crl).toMatch(/Key Compromise/);
    }
    const istiod = await eventually(
      'istiod-tls re-created',
      async () => {
        const secret = await core.readNamespacedSecret({
          name: 'istiod-tls',
          namespace: namespaces.istio,
        });
        const ca = Buffer.from(secret.data?.['ca.crt'] ?? '', 'base64').toString('utf8');
        return ca.includes(pki.files.rootCertPem.trim()) ? secret : undefined;
      },
      20_000,
    );
    expect(istiod.type).toBe('kubernetes.io/tls');

    /** `openssl crl -verify` of a namespace's istio-ca-crl against the intermediate. */
    async function crlText(namespace: string): Promise<string | undefined> {
      let configMap: k8s.V1ConfigMap;
      try {
        configMap = await core.readNamespacedConfigMap({ name: 'istio-ca-crl', namespace });
      } catch {
        return undefined;
      }
      const pem = configMap.data?.['ca-crl.pem'];
      if (pem === undefined) return undefined;
      const dir = tempDir('meshca-crl-');
      writeFileSync(join(dir, 'crl.pem'), pem);
      writeFileSync(join(dir, 'ca.pem'), pki.signing.cert.pem);
      const result = await run('openssl', [
        'crl',
        '-in',
        join(dir, 'crl.pem'),
        '-CAfile',
        join(dir, 'ca.pem'),
        '-verify',
        '-noout',
        '-text',
      ]);
      expect(result.code).toBe(0);
      expect(result.stderr).toContain('verify OK');
      return result.stdout;
    }
  }, 150_000);
});

/** A serial as `openssl crl -text` prints it. */
function upper(serial: string): string {
  return `Serial Number: ${serial.toUpperCase()}`;
}

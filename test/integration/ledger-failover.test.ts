/**
 * kill -9 of the leader with revocation and the shared PostgreSQL ledger, between real meshca
 * processes sharing a Lease in the real kube-apiserver: the other replica takes over within the
 * Lease duration and repairs what drifted meanwhile — `istio-ca-root-cert`, `istiod-tls` and
 * `istio-ca-crl`, in a namespace whose ConfigMaps were deleted and in one created meanwhile; its
 * CRL (checked with `openssl crl -verify` against the intermediate) lists a certificate the dead
 * leader issued and retired before the kill, and one revoked by hand while nobody led.
 *
 * (test/integration/failover.test.ts covers kill -9 with new CA material and no revocation;
 * leader-election.test.ts the election itself.)
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { CaClient } from '../../src/client/index.js';
import {
  ignoreNotFound,
  adminKubeConfig,
  createPod,
  createServedNamespace,
  describeKube,
  eventually,
  requestToken,
} from '../support/kube.js';
import type { MeshcaProcess } from '../support/meshca-process.js';
import { postgresAvailable, startPostgres, type TestPostgres } from '../support/postgres.js';
import { run } from '../support/process.js';
import {
  deployReplicatedMeshca,
  LEASE_DURATION_MS,
  leaseTime,
  ledgerDrained,
  meshcaCommand,
  RETRY_PERIOD_MS,
  serialOf,
  type ReplicatedMeshca,
} from '../support/replicated-meshca.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';

(postgresAvailable() ? describeKube : describe.skip)(
  'kill -9 of the leader with the ledger',
  () => {
    let admin: k8s.KubeConfig;
    let core: k8s.CoreV1Api;
    let pg: TestPostgres;
    const processes: MeshcaProcess[] = [];

    beforeAll(async () => {
      admin = adminKubeConfig();
      core = admin.makeApiClient(k8s.CoreV1Api);
      pg = await startPostgres();
    }, 120_000);

    afterAll(async () => {
      for (const replica of processes) replica.kill();
      await Promise.all(processes.map((replica) => replica.exited));
      await pg.destroy();
      removeTempDirs();
    });

    const deploy = (args: readonly string[]): Promise<ReplicatedMeshca> =>
      deployReplicatedMeshca(admin, {
        args,
        env: { MESHCA_LEDGER_PASSWORD: pg.password },
        processes,
      });
    const cli = (args: readonly string[]): Promise<{ code: number; out: string }> =>
      meshcaCommand(args, { MESHCA_LEDGER_PASSWORD: pg.password });

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
        await client.createCertificate({
          csrPem: second?.csrPem ?? '',
          token: second?.token ?? '',
        }),
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
      await ledgerDrained(leader);

      leader.child.kill('SIGKILL');
      await leader.exited;
      const last = await deployment.readLease();
      // While nobody leads: a revocation by hand, a new namespace, the distributed objects deleted.
      const revocation = await cli([
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
      await core
        .deleteNamespacedConfigMap({ name: 'istio-ca-crl', namespace: served })
        .catch(ignoreNotFound);
      await core
        .deleteNamespacedConfigMap({ name: 'istio-ca-root-cert', namespace: served })
        .catch(ignoreNotFound);
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
      const waitedMs = leaseTime(taken.spec?.acquireTime) - leaseTime(last.spec?.renewTime);
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
            return configMap.data?.['root-cert.pem']?.includes(pki.files.rootCertPem.trim()) ===
              true
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
  },
);

/** A serial as `openssl crl -text` prints it. */
function upper(serial: string): string {
  return `Serial Number: ${serial.toUpperCase()}`;
}

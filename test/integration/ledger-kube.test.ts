/**
 * The ledger's lifecycle against the real kube-apiserver, meshca running under the RBAC of
 * manifests/ with revocation on:
 * - issue for a pod, delete the pod: its certificate is retired (the inventory says why), its
 *   renewal is refused (the central policy's live-workload rule), and its serial is on the CRL in
 *   the ConfigMap `istio-ca-crl` of the served namespaces, which `openssl crl -verify` accepts
 *   against the intermediate;
 * - revoke by service account (`meshca revoke`): the same;
 * - an entry leaves the CRL once its certificate has expired;
 * - the inventory over HTTP: bearer tokens checked by TokenReview (an allowed service account, an
 *   allowed group, a stranger, another audience, no token on a non-loopback port).
 */
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { runCommand } from '../../src/cli/main.js';
import { csrFor } from '../server/harness.js';
import {
  adminKubeConfig,
  createNamespace,
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
import { createTestPki, type TestPki } from '../support/pki.js';
import { run } from '../support/process.js';
import { startDevServer, type DevServer } from '../support/server.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';

const never = new AbortController().signal;

describeKube('the ledger lifecycle in a cluster', () => {
  let admin: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  let namespaces: MeshcaNamespaces;
  let pki: TestPki;
  let meshca: DevServer;
  let app: string;
  let security: string;

  const served = (suffix: string): string => `ledger-${namespaces.run}-${suffix}`;

  beforeAll(async () => {
    admin = adminKubeConfig();
    core = admin.makeApiClient(k8s.CoreV1Api);
    namespaces = await setupMeshcaNamespaces(admin);
    pki = await createTestPki({ name: 'ledger' });
    await core.createNamespacedSecret({
      namespace: namespaces.meshca,
      body: {
        metadata: { name: 'cacerts' },
        stringData: {
          'ca-cert.pem': pki.files.caCertPem,
          'ca-key.pem': pki.files.caKeyPem,
          'cert-chain.pem': pki.files.certChainPem,
          'root-cert.pem': pki.files.rootCertPem,
        },
      },
    });
    app = served('app');
    security = served('security');
    await createServedNamespace(admin, namespaces, app);
    await createNamespace(admin, security);
    for (const account of ['web', 'api', 'short']) await createServiceAccount(admin, app, account);
    await createServiceAccount(admin, namespaces.meshca, 'auditor');
    await createServiceAccount(admin, security, 'analyst');

    // The central policy's just-in-time rule: a deleted pod's identity is not renewed.
    const policyFile = join(tempDir('meshca-policy-'), 'central.yaml');
    writeFileSync(
      policyFile,
      [
        'apiVersion: meshca.io/v1alpha1',
        'kind: IssuancePolicy',
        'metadata: { name: just-in-time }',
        'spec:',
        '  defaultAction: allow',
        '  rules:',
        '    - name: live-workload',
        '      liveWorkload: true',
        '',
      ].join('\n'),
    );
    meshca = await startDevServer([
      ...meshcaKubeArgs(namespaces),
      '--ca-secret',
      'cacerts',
      '--http-listen',
      '0.0.0.0:0',
      '--revocation',
      '--crl-check-interval',
      '1s',
      '--min-ttl',
      '10s',
      '--inventory-service-accounts',
      `${namespaces.meshca}/auditor`,
      '--inventory-groups',
      `system:serviceaccounts:${security}`,
      '--policy-central',
      policyFile,
    ]);
  }, 60_000);
  afterAll(async () => {
    await meshca.stop();
    removeTempDirs();
  });

  /** A pod of `account` in the app namespace and a token bound to it. */
  async function workload(account: string, name: string): Promise<{ uid: string; token: string }> {
    const pod = await createPod(admin, app, name, account);
    const uid = pod.metadata?.uid ?? '';
    const token = await requestToken(admin, app, account, {
      audiences: ['istio-ca'],
      pod: { name, uid },
    });
    return { uid, token };
  }

  async function issue(account: string, token: string, validitySeconds = 0): Promise<string> {
    const { csrPem } = await csrFor(`spiffe://cluster.local/ns/${app}/sa/${account}`, 'ec');
    const chain = await meshca.client().createCertificate({ csrPem, token, validitySeconds });
    return new X509Certificate(chain[0]!).serialNumber.toLowerCase();
  }

  /** `openssl crl -verify` of the CRL in the app namespace's istio-ca-crl, against the intermediate. */
  async function distributedCrl(): Promise<string | undefined> {
    let configMap: k8s.V1ConfigMap;
    try {
      configMap = await core.readNamespacedConfigMap({ name: 'istio-ca-crl', namespace: app });
    } catch {
      return undefined;
    }
    const pem = configMap.data?.['ca-crl.pem'];
    if (pem === undefined) return undefined;
    expect(Object.keys(configMap.data ?? {})).toEqual(['ca-crl.pem']);
    expect(configMap.metadata?.labels).toMatchObject({
      'istio.io/config': 'true',
      'app.kubernetes.io/managed-by': 'meshca',
    });
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

  async function inventory(
    path: string,
    token?: string,
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const response = await fetch(`http://127.0.0.1:${meshca.server.httpPort}${path}`, {
      headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  const auditorToken = (): Promise<string> =>
    requestToken(admin, namespaces.meshca, 'auditor', { audiences: ['meshca-inventory'] });

  it('retires the certificate of a deleted pod, refuses its renewal, and lists it in istio-ca-crl', async () => {
    const { uid, token } = await workload('web', 'web-1');
    const serial = await issue('web', token);
    await core.deleteNamespacedPod({ name: 'web-1', namespace: app, gracePeriodSeconds: 0 });

    const auditor = await auditorToken();
    const pod = await eventually('the certificate retired', async () => {
      const answer = await inventory(`/v1/inventory/workloads?namespace=${app}`, auditor);
      const items = answer.body['items'] as {
        podName: string;
        podUid: string;
        certificates: {
          serial: string;
          status: string;
          statusReason: string;
          statusTime: string;
        }[];
      }[];
      const found = items.find((item) => item.podName === 'web-1');
      return found?.certificates[0]?.status === 'retired' ? found : undefined;
    });
    expect(Date.parse(pod.certificates[0]?.statusTime ?? '')).toBeGreaterThan(0);
    expect(pod).toMatchObject({
      podUid: uid,
      certificates: [{ serial, status: 'retired', statusReason: 'pod-deleted' }],
    });
    const crl = await eventually(
      'the serial in istio-ca-crl',
      async () => {
        const text = await distributedCrl();
        return text?.includes(`Serial Number: ${serial.toUpperCase()}`) === true ? text : undefined;
      },
      30_000,
    );
    expect(crl).toMatch(/Cessation Of Operation/);
    expect(crl).toMatch(/Issuer: .*CN = ledger signing intermediate\n/);

    // Its renewal is refused: the pod is gone (the live-workload rule).
    const { csrPem } = await csrFor(`spiffe://cluster.local/ns/${app}/sa/web`, 'ec');
    const refusal = (await meshca
      .client()
      .createCertificate({ csrPem, token })
      .then(
        () => undefined,
        (error: unknown) => error,
      )) as { code: number; details: string } | undefined;
    expect(refusal?.code).toBe(7);
    expect(refusal?.details).toMatch(/^policy central\/live-workload: the caller's pod is gone/);
  }, 60_000);

  it('revokes by service account with meshca revoke: on the CRL too', async () => {
    const { token } = await workload('api', 'api-1');
    const serial = await issue('api', token);
    await eventually('the issuance in the ledger', async () => {
      const answer = await inventory(
        `/v1/inventory/identities?identity=spiffe://cluster.local/ns/${app}/sa/api`,
        await auditorToken(),
      );
      return (answer.body['items'] as unknown[]).length === 1 ? true : undefined;
    });
    let out = '';
    const code = await runCommand(
      [
        'revoke',
        '--service-account',
        `${app}/api`,
        '--reason',
        'keyCompromise',
        '--state-dir',
        meshca.stateDir,
      ],
      {
        stdout: { write: (text: string) => (out += text) },
        stderr: { write: () => true },
        env: {},
        cwd: process.cwd(),
      },
      never,
    );
    expect(code).toBe(0);
    expect(out).toContain(serial);
    const crl = await eventually(
      'the revoked serial in istio-ca-crl',
      async () => {
        const text = await distributedCrl();
        return text?.includes(`Serial Number: ${serial.toUpperCase()}`) === true ? text : undefined;
      },
      30_000,
    );
    expect(crl).toMatch(/Key Compromise/);
    const identities = await inventory(
      `/v1/inventory/identities?namespace=${app}`,
      await auditorToken(),
    );
    expect(
      (identities.body['items'] as { serial: string }[]).map((item) => item.serial),
    ).not.toContain(serial);
  }, 60_000);

  it('drops an entry from the CRL once its certificate has expired', async () => {
    const { token } = await workload('short', 'short-1');
    const serial = await issue('short', token, 15);
    await core.deleteNamespacedPod({ name: 'short-1', namespace: app, gracePeriodSeconds: 0 });
    await eventually(
      'the serial in istio-ca-crl',
      async () =>
        (await distributedCrl())?.includes(serial.toUpperCase()) === true ? true : undefined,
      30_000,
    );
    await eventually(
      'the serial gone from istio-ca-crl after expiry',
      async () => {
        const text = await distributedCrl();
        return text !== undefined && !text.includes(serial.toUpperCase()) ? true : undefined;
      },
      45_000,
    );
  }, 90_000);

  it('lets the inventory API in by TokenReview: allowed accounts and groups only', async () => {
    const analyst = await requestToken(admin, security, 'analyst', {
      audiences: ['meshca-inventory'],
    });
    const stranger = await requestToken(admin, app, 'web', { audiences: ['meshca-inventory'] });
    const otherAudience = await requestToken(admin, namespaces.meshca, 'auditor', {
      audiences: ['istio-ca'],
    });
    expect((await inventory('/v1/inventory/issuers', await auditorToken())).status).toBe(200);
    const byGroup = await inventory('/v1/inventory/issuers', analyst);
    expect(byGroup.status).toBe(200);
    expect(byGroup.body['items']).toEqual([
      expect.objectContaining({ issuerFingerprint: pki.signing.cert.sha256 }),
    ]);
    expect(await inventory('/v1/inventory/issuers', stranger)).toEqual({
      status: 403,
      body: {
        schema: 'meshca.io/inventory/v1',
        error: {
          status: 403,
          message: `system:serviceaccount:${app}:web may not read the inventory (see inventoryServiceAccounts, inventoryGroups)`,
        },
      },
    });
    expect((await inventory('/v1/inventory/issuers', otherAudience)).status).toBe(401);
    expect((await inventory('/v1/inventory/issuers')).status).toBe(401);
  });
});

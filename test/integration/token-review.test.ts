/**
 * TokenReview against the real kube-apiserver (../shared/tools/kube), with meshca running under a
 * service account that has exactly the RBAC of manifests/base/rbac.yaml.
 */
import { status as Status, type ServiceError } from '@grpc/grpc-js';
import type * as k8s from '@kubernetes/client-node';
import { join } from 'node:path';
import { KubeClient, KubeTokenReviewApi } from '../../src/kube/index.js';
import { TokenReviewVerifier } from '../../src/auth/index.js';
import { checkCertificateChain } from '../../src/ca/index.js';
import {
  adminKubeConfig,
  createNamespace,
  createPod,
  createServiceAccount,
  describeKube,
  meshcaKubeArgs,
  requestToken,
  setupMeshcaNamespaces,
  uniqueName,
} from '../support/kube.js';
import { createTestPki, writeTestPki } from '../support/pki.js';
import { startDevServer, type DevServer } from '../support/server.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';
import { csrFor } from '../server/harness.js';

describeKube('TokenReview against a real API server', () => {
  let admin: k8s.KubeConfig;
  let meshcaKubeconfig: string;
  let meshca: DevServer;
  const apps = uniqueName('apps');

  beforeAll(async () => {
    admin = adminKubeConfig();
    const namespaces = await setupMeshcaNamespaces(admin);
    meshcaKubeconfig = namespaces.kubeconfig;
    await createNamespace(admin, apps);
    await createServiceAccount(admin, apps, 'web');
    const caDir = tempDir('meshca-ca-');
    await writeTestPki(caDir, await createTestPki());
    meshca = await startDevServer([...meshcaKubeArgs(namespaces), '--ca-dir', caDir]);
  });
  afterAll(async () => {
    await meshca.stop();
    removeTempDirs();
  });

  const web = (): string => `spiffe://cluster.local/ns/${apps}/sa/web`;

  it('issues for a TokenRequest token with audience istio-ca', async () => {
    const token = await requestToken(admin, apps, 'web', { audiences: ['istio-ca'] });
    const csr = await csrFor(web());
    const chain = await meshca
      .client()
      .createCertificate({ csrPem: csr.csrPem, token, clusterId: 'Kubernetes' });
    expect(
      checkCertificateChain(chain, { uri: web(), spkiDer: csr.spkiDer, at: new Date() }).uri,
    ).toBe(web());
  });

  it("refuses the same service account's token minted for another audience", async () => {
    const token = await requestToken(admin, apps, 'web', { audiences: ['some-other-service'] });
    const csr = await csrFor(web());
    const error = (await meshca
      .client()
      .createCertificate({ csrPem: csr.csrPem, token })
      .catch((e: unknown) => e)) as ServiceError;
    expect(error.code).toBe(Status.UNAUTHENTICATED);
    expect(error.details).toBe('authentication failed');
    expect(meshca.logs().join('\n')).toContain('ERR_AUTH_TOKEN_INVALID');
  });

  it('never logs a token', async () => {
    const token = await requestToken(admin, apps, 'web', { audiences: ['istio-ca'] });
    const csr = await csrFor(web());
    await meshca.client().createCertificate({ csrPem: csr.csrPem, token });
    const logs = meshca.logs().join('\n');
    expect(logs).toContain('certificate issued');
    expect(logs).not.toContain(token);
    expect(logs).not.toContain(token.split('.')[2]!);
  });

  it('reads pod name and uid from a pod-bound token', async () => {
    const pod = await createPod(admin, apps, 'web-1', 'web');
    const token = await requestToken(admin, apps, 'web', {
      audiences: ['istio-ca'],
      pod: { name: 'web-1', uid: pod.metadata!.uid! },
    });
    const client = new KubeClient({
      connection: { mode: 'kubeconfig', path: meshcaKubeconfig },
      maxSockets: 4,
    });
    try {
      const verifier = new TokenReviewVerifier(
        new KubeTokenReviewApi(client, { timeoutMs: 5000, maxConcurrent: 4 }),
        ['istio-ca'],
      );
      const account = await verifier.verify(token, AbortSignal.timeout(10_000));
      expect(account).toMatchObject({
        namespace: apps,
        serviceAccount: 'web',
        podName: 'web-1',
        podUid: pod.metadata!.uid,
      });
      expect(account.expiresAt!.getTime()).toBeGreaterThan(Date.now());
    } finally {
      await client.close();
    }
    const csr = await csrFor(web());
    await meshca.client().createCertificate({ csrPem: csr.csrPem, token });
    expect(meshca.logs().join('\n')).toMatch(/"pod":"web-1".*"msg":"certificate issued"/);
  });

  it('answers UNAVAILABLE (so proxies retry) when the API server cannot be reached', async () => {
    const unreachable = join(tempDir('meshca-kubeconfig-'), 'kubeconfig');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(
      unreachable,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          {
            name: 'x',
            cluster: { server: 'https://127.0.0.1:1', 'insecure-skip-tls-verify': true },
          },
        ],
        users: [{ name: 'x', user: { token: 'x' } }],
        contexts: [{ name: 'x', context: { cluster: 'x', user: 'x' } }],
        'current-context': 'x',
      }),
    );
    const caDir = tempDir('meshca-ca-');
    await writeTestPki(caDir, await createTestPki());
    const down = await startDevServer([
      '--kubeconfig',
      unreachable,
      '--ca-dir',
      caDir,
      '--token-review-timeout',
      '1s',
    ]);
    try {
      const token = await requestToken(admin, apps, 'web', { audiences: ['istio-ca'] });
      const csr = await csrFor(web());
      const error = (await down
        .client()
        .createCertificate({ csrPem: csr.csrPem, token })
        .catch((e: unknown) => e)) as ServiceError;
      expect(error.code).toBe(Status.UNAVAILABLE);
      expect(down.logs().join('\n')).toContain('ERR_TOKEN_REVIEW_UNAVAILABLE');
    } finally {
      await down.stop();
    }
  });
});

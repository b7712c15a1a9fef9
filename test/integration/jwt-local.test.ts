/**
 * Local verification of service-account tokens against the real cluster's signing keys: the JWKS
 * the API server publishes (`/openid/v1/jwks`, ServiceAccountIssuerDiscovery) saved to a file,
 * and the cluster's issuer. TokenRequest tokens with audience istio-ca pass; other audiences, and
 * tokens of another issuer, do not.
 */
import { status as Status, type ServiceError } from '@grpc/grpc-js';
import type * as k8s from '@kubernetes/client-node';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkCertificateChain } from '../../src/ca/index.js';
import { KubeClient } from '../../src/kube/index.js';
import {
  adminKubeConfig,
  createNamespace,
  createServiceAccount,
  describeKube,
  requestToken,
  uniqueName,
} from '../support/kube.js';
import { testKubeconfig } from '../support/environment.js';
import { createTestPki, writeTestPki } from '../support/pki.js';
import { startDevServer, type DevServer } from '../support/server.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';
import { csrFor } from '../server/harness.js';

/** The issuer the test API server signs with (`--service-account-issuer` in start.sh). */
const ISSUER = 'https://kubernetes.default.svc.cluster.local';

describeKube('local JWT verification against the cluster JWKS', () => {
  let admin: k8s.KubeConfig;
  let meshca: DevServer;
  const apps = uniqueName('jwt');

  beforeAll(async () => {
    admin = adminKubeConfig();
    await createNamespace(admin, apps);
    await createServiceAccount(admin, apps, 'web');
    const kube = new KubeClient({
      connection: { mode: 'kubeconfig', path: testKubeconfig()! },
      maxSockets: 2,
    });
    const dir = tempDir('meshca-jwks-');
    try {
      const discovery = (await kube.requestJson(
        'GET',
        '/.well-known/openid-configuration',
        undefined,
        AbortSignal.timeout(5000),
      )) as { issuer: string };
      expect(discovery.issuer).toBe(ISSUER);
      const jwks = await kube.requestJson(
        'GET',
        '/openid/v1/jwks',
        undefined,
        AbortSignal.timeout(5000),
      );
      writeFileSync(join(dir, 'jwks.json'), JSON.stringify(jwks));
    } finally {
      await kube.close();
    }
    const caDir = tempDir('meshca-ca-');
    await writeTestPki(caDir, await createTestPki());
    // No kubeconfig: meshca verifies tokens without calling the API server at all.
    meshca = await startDevServer([
      '--jwks',
      join(dir, 'jwks.json'),
      '--jwt-issuer',
      ISSUER,
      '--ca-dir',
      caDir,
      '--kubeconfig',
      'none',
    ]);
  });
  afterAll(async () => {
    await meshca.stop();
    removeTempDirs();
  });

  const uri = (): string => `spiffe://cluster.local/ns/${apps}/sa/web`;

  it('accepts a TokenRequest token with audience istio-ca', async () => {
    const token = await requestToken(admin, apps, 'web', { audiences: ['istio-ca'] });
    const csr = await csrFor(uri());
    const chain = await meshca.client().createCertificate({ csrPem: csr.csrPem, token });
    expect(
      checkCertificateChain(chain, { uri: uri(), spkiDer: csr.spkiDer, at: new Date() }).uri,
    ).toBe(uri());
    expect(meshca.logs().join('\n')).toMatch(/"msg":"certificate issued"/);
  });

  it.each([
    ['another audience', ['some-other-service']],
    ["the API server's own audience", [ISSUER]],
  ])('refuses a token for %s', async (_name, audiences) => {
    const token = await requestToken(admin, apps, 'web', { audiences });
    const csr = await csrFor(uri());
    const error = (await meshca
      .client()
      .createCertificate({ csrPem: csr.csrPem, token })
      .catch((e: unknown) => e)) as ServiceError;
    expect(error.code).toBe(Status.UNAUTHENTICATED);
    expect(meshca.logs().join('\n')).toContain('ERR_AUTH_TOKEN_INVALID');
  });
});

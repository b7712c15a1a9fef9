/**
 * Root rotation without downtime, the staged procedure of ISTIO-CONTRACT.md §5.2 and checklist
 * 33, against the real API server with the CA in a Secret. Two simulated workloads keep renewing
 * their certificates, keep trusting what meshca hands them (the response's last element) and what
 * the ConfigMap says (for their connection to meshca), and at every stage:
 *   - a gRPC connection to meshca opened before the rotation keeps working;
 *   - a new connection, verified with the ConfigMap's bundle of that moment, succeeds;
 *   - the two workloads complete mutual TLS with each other, whatever root their current
 *     certificates chain to;
 * and meshca refuses the changes that would skip a stage.
 */
import { webcrypto } from 'node:crypto';
import { connect, createServer, type TLSSocket } from 'node:tls';
import * as k8s from '@kubernetes/client-node';
import { checkCertificateChain, createCaCertificate, generateCaKey } from '../../src/ca/index.js';
import { CaClient } from '../../src/client/index.js';
import { buildCsrPem, generateWorkloadKey } from '../../src/csr/index.js';
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
import { createTestPki, type TestPki } from '../support/pki.js';
import { startDevServer, type DevServer } from '../support/server.js';
import { removeTempDirs } from '../support/tmp.js';

/** Leaf lifetime in this test: short, so that "wait one leaf lifetime" takes seconds. */
const TTL_SECONDS = 12;

interface CaFiles {
  readonly caCertPem: string;
  readonly caKeyPem: string;
  readonly certChainPem: string;
  readonly rootCertPem: string;
}

interface Workload {
  readonly name: string;
  keyPem: string;
  chainPem: string;
  /** The last element of its last CreateCertificate response: its trust bundle for mTLS. */
  bundle: string;
  issuer: string;
}

/** Completes mutual TLS between two workloads, each verifying the other with its own bundle. */
async function mutualTls(server: Workload, client: Workload): Promise<void> {
  const tlsServer = createServer({
    key: server.keyPem,
    cert: server.chainPem,
    ca: server.bundle,
    requestCert: true,
    rejectUnauthorized: true,
  });
  const serverSaw = new Promise<boolean>((resolve, reject) => {
    tlsServer.once('secureConnection', (socket: TLSSocket) => {
      resolve(socket.authorized);
      socket.end();
    });
    // In TLS 1.3 the client finishes before the server has checked its certificate: a refusal
    // shows up only here.
    tlsServer.once('tlsClientError', (error) => {
      reject(new Error(`${server.name} refused ${client.name}: ${error.message}`));
    });
  });
  await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
  const port = (tlsServer.address() as { port: number }).port;
  try {
    await new Promise<void>((resolve, reject) => {
      const socket = connect({
        host: '127.0.0.1',
        port,
        key: client.keyPem,
        cert: client.chainPem,
        ca: client.bundle,
        // Workload identities are SPIFFE URIs, not host names; the chain is what is checked here.
        checkServerIdentity: () => undefined,
      });
      socket.once('secureConnect', () => {
        socket.end();
        resolve();
      });
      socket.once('error', reject);
    });
    expect(await serverSaw).toBe(true);
  } finally {
    tlsServer.close();
  }
}

describeKube('root rotation without downtime', () => {
  let admin: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  let namespaces: MeshcaNamespaces;
  let meshca: DevServer;
  let old: TestPki;
  let next: { rootPem: string; caCertPem: string; caKeyPem: string };
  const apps = (): string => `apps-${namespaces.run}`;
  const workloads: Workload[] = [];
  let earlyChannel: CaClient;

  const setCaSecret = async (files: CaFiles): Promise<void> => {
    await core.replaceNamespacedSecret({
      name: 'cacerts',
      namespace: namespaces.meshca,
      body: {
        metadata: { name: 'cacerts' },
        stringData: {
          'ca-cert.pem': files.caCertPem,
          'ca-key.pem': files.caKeyPem,
          'cert-chain.pem': files.certChainPem,
          'root-cert.pem': files.rootCertPem,
        },
      },
    });
  };
  /** The files that make meshca sign with the new intermediate, publishing `rootCertPem`. */
  const newSigner = (rootCertPem: string): CaFiles => ({
    caCertPem: next.caCertPem,
    caKeyPem: next.caKeyPem,
    certChainPem: next.caCertPem + next.rootPem,
    rootCertPem,
  });
  const configMapBundle = async (): Promise<string> =>
    (await core.readNamespacedConfigMap({ name: 'istio-ca-root-cert', namespace: apps() })).data?.[
      'root-cert.pem'
    ] ?? '';
  const currentSigner = (): string => meshca.server.authority.current().material.signingCert.sha256;

  /** What istio-agent does at renewal: new key, CSR, call meshca, keep chain and bundle. */
  const renew = async (workload: Workload): Promise<void> => {
    const uri = `spiffe://cluster.local/ns/${apps()}/sa/${workload.name}`;
    const key = await generateWorkloadKey('ec');
    const csrPem = await buildCsrPem(key.keys, { uris: [uri] });
    const token = await requestToken(admin, apps(), workload.name, { audiences: ['istio-ca'] });
    const chain = await earlyChannel.createCertificate({ csrPem, token });
    const spkiDer = Buffer.from(await webcrypto.subtle.exportKey('spki', key.keys.publicKey));
    const checked = checkCertificateChain(chain, { uri, spkiDer, at: new Date() });
    workload.keyPem = key.privateKeyPem;
    workload.chainPem = chain.slice(0, -1).join('');
    workload.bundle = chain[chain.length - 1] ?? '';
    workload.issuer = checked.anchor.sha256;
  };

  /** The checks every stage must pass. */
  const everythingWorks = async (): Promise<void> => {
    // A connection to meshca opened before the rotation.
    const [a, b] = workloads;
    await renew(a!);
    // A new connection, verified as istio-agent verifies meshca: with the ConfigMap's bundle.
    const fresh = new CaClient({
      address: `localhost:${meshca.server.grpcPort}`,
      rootCertPem: await configMapBundle(),
    });
    try {
      const key = await generateWorkloadKey('ec');
      const uri = `spiffe://cluster.local/ns/${apps()}/sa/b`;
      const token = await requestToken(admin, apps(), 'b', { audiences: ['istio-ca'] });
      const chain = await fresh.createCertificate({
        csrPem: await buildCsrPem(key.keys, { uris: [uri] }),
        token,
      });
      expect(chain.length).toBeGreaterThanOrEqual(2);
    } finally {
      fresh.close();
    }
    // Workloads holding certificates of different generations still trust each other.
    await mutualTls(a!, b!);
    await mutualTls(b!, a!);
  };

  beforeAll(async () => {
    admin = adminKubeConfig();
    core = admin.makeApiClient(k8s.CoreV1Api);
    namespaces = await setupMeshcaNamespaces(admin);
    old = await createTestPki({ name: 'old' });
    const nextRootKey = generateCaKey('ec-p256');
    const now = new Date();
    const nextRoot = await createCaCertificate({
      commonName: 'new root',
      subjectKey: nextRootKey,
      notBefore: new Date(now.getTime() - 3600_000),
      notAfter: new Date(now.getTime() + 3650 * 86400_000),
    });
    const nextKey = generateCaKey('ec-p256');
    const nextIntermediate = await createCaCertificate({
      commonName: 'new intermediate',
      subjectKey: nextKey,
      issuer: { cert: nextRoot, privateKey: nextRootKey.privateKey },
      notBefore: new Date(now.getTime() - 3600_000),
      notAfter: new Date(now.getTime() + 365 * 86400_000),
    });
    next = {
      rootPem: nextRoot.pem,
      caCertPem: nextIntermediate.pem,
      caKeyPem: nextKey.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    };
    await core.createNamespacedSecret({
      namespace: namespaces.meshca,
      body: {
        metadata: { name: 'cacerts' },
        stringData: {
          'ca-cert.pem': old.files.caCertPem,
          'ca-key.pem': old.files.caKeyPem,
          'cert-chain.pem': old.files.certChainPem,
          'root-cert.pem': old.files.rootCertPem,
        },
      },
    });
    await createServedNamespace(admin, namespaces, apps());
    for (const name of ['a', 'b']) {
      await createServiceAccount(admin, apps(), name);
      workloads.push({ name, keyPem: '', chainPem: '', bundle: '', issuer: '' });
    }
    meshca = await startDevServer([
      ...meshcaKubeArgs(namespaces),
      '--ca-secret',
      'cacerts',
      '--ca-reload-interval',
      '1s',
      '--default-ttl',
      `${TTL_SECONDS}s`,
      '--max-ttl',
      `${TTL_SECONDS}s`,
      '--min-ttl',
      '10s',
      '--backdate',
      '1s',
    ]);
    earlyChannel = new CaClient({
      address: `localhost:${meshca.server.grpcPort}`,
      rootCertPem: old.files.rootCertPem,
      keepaliveMs: 1000,
    });
    for (const workload of workloads) await renew(workload);
  });
  afterAll(async () => {
    if (process.env['DEBUG_ROTATION'])
      console.log(
        meshca
          .logs()
          .filter((l) => /refused|loaded|renewed/.test(l))
          .join('\n'),
      );
    earlyChannel.close();
    await meshca.stop();
    removeTempDirs();
  });

  it('stage 0: everything works under the old root', async () => {
    await eventually('ConfigMap with the old root', async () =>
      (await configMapBundle()) === old.files.rootCertPem ? true : undefined,
    );
    await everythingWorks();
  });

  it('refuses to sign under a root workloads do not trust yet', async () => {
    const signer = currentSigner();
    await setCaSecret(newSigner(next.rootPem));
    await eventually('refusal logged', () =>
      meshca.logs().some((line) => line.includes('not in the trust bundle workloads have now'))
        ? true
        : undefined,
    );
    expect(currentSigner()).toBe(signer);
    await everythingWorks();
  });

  let bothRoots: string;
  it('stage 1: publishes old + new roots while still signing with the old intermediate', async () => {
    const signer = currentSigner();
    await setCaSecret({ ...old.files, rootCertPem: old.files.rootCertPem + next.rootPem });
    bothRoots = await eventually('ConfigMap with both roots', async () => {
      const bundle = await configMapBundle();
      return bundle.includes(next.rootPem) && bundle.includes(old.files.rootCertPem)
        ? bundle
        : undefined;
    });
    expect(currentSigner()).toBe(signer);
    await everythingWorks();
    expect(workloads[0]!.bundle).toBe(bothRoots);
    expect(workloads[0]!.issuer).toBe(old.root.cert.sha256);
  });

  it('refuses to switch the intermediate before one leaf lifetime has passed', async () => {
    const signer = currentSigner();
    await setCaSecret(newSigner(old.files.rootCertPem + next.rootPem));
    await eventually('refusal logged', () =>
      meshca.logs().some((line) => line.includes('switch the intermediate after that'))
        ? true
        : undefined,
    );
    expect(currentSigner()).toBe(signer);
  });

  it('stage 2 and 3: after one leaf lifetime, signs with the new intermediate', async () => {
    // meshca says when the switch it refused becomes acceptable; it retries by itself.
    const refusal = meshca
      .logs()
      .find((line) => line.includes('switch the intermediate after that'));
    const readyAt = new Date(
      /renewing until (\S+) may not/.exec(refusal ?? '')?.[1] ?? '',
    ).getTime();
    expect(Number.isNaN(readyAt)).toBe(false);
    // Workloads renew during the wait (istio-agent renews at half the lifetime); b renews last
    // just before the switch, so that it still holds an old-root certificate afterwards.
    for (const workload of workloads) await renew(workload);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, readyAt - Date.now() - 2000)));
    await renew(workloads[1]!);
    expect(workloads[1]!.issuer).toBe(old.root.cert.sha256);
    await eventually(
      'the new intermediate in use',
      () => (currentSigner() !== old.signing.cert.sha256 ? true : undefined),
      (TTL_SECONDS + 10) * 1000,
    );
    expect(await configMapBundle()).toBe(bothRoots);
    // Workload a renews under the new root; b still holds its old-root certificate, and both
    // still trust each other.
    await everythingWorks();
    expect(workloads[0]!.issuer).not.toBe(old.root.cert.sha256);
    expect(workloads[1]!.issuer).toBe(old.root.cert.sha256);
  }, 60_000);

  it('refuses to drop the old root while certificates under it are valid', async () => {
    await setCaSecret(newSigner(next.rootPem));
    await eventually('refusal logged', () =>
      meshca.logs().some((line) => line.includes('drop it after that')) ? true : undefined,
    );
    expect(await configMapBundle()).toBe(bothRoots);
    await everythingWorks();
  });

  it('stage 4: one leaf lifetime later, drops the old root', async () => {
    // Workloads keep renewing (now under the new root) until meshca accepts the drop.
    await eventually(
      'ConfigMap with the new root only',
      async () => {
        for (const workload of workloads) await renew(workload);
        return (await configMapBundle()) === next.rootPem ? true : undefined;
      },
      (TTL_SECONDS + 10) * 1000,
    );
    for (const workload of workloads) {
      await renew(workload);
      expect(workload.bundle).toBe(next.rootPem);
      expect(workload.issuer).not.toBe(old.root.cert.sha256);
    }
    await everythingWorks();
  }, 60_000);

  it('refuses a broken bundle, keeps the current one and keeps serving', async () => {
    const signer = currentSigner();
    // The old key does not match the new certificate.
    await setCaSecret({ ...newSigner(next.rootPem), caKeyPem: old.files.caKeyPem });
    await eventually('refusal logged', () =>
      meshca.logs().some((line) => line.includes('does not match the public key'))
        ? true
        : undefined,
    );
    expect(currentSigner()).toBe(signer);
    const { body } = await meshca.server.metrics.exposition();
    expect(body).toMatch(/meshca_ca_reloads_total\{result="rejected"\} [1-9]/);
    await everythingWorks();
  });
});

/**
 * CA material replaced with something broken, in a `caDir` and in a CA Secret (through the real
 * API server): a key that does not match, an expired intermediate, an intermediate that does not
 * chain to the roots, a truncated file, a missing file, a key file others can read, a Secret in
 * neither layout. Each is refused: `meshca_ca_reloads_total{result="rejected"}` counts it once, a
 * `new CA material refused…` line at `error` names the problem, and meshca keeps signing with the
 * material it had, staying ready. Good material put back is taken again.
 */
import { chmodSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { createCaCertificate, generateCaKey } from '../../src/ca/index.js';
import { CaClient } from '../../src/client/index.js';
import { systemClock } from '../../src/clock.js';
import {
  DEV_TOKEN_ISSUER,
  devTokenIssuerLayout,
  ensureDevTokenIssuer,
  issueDevToken,
} from '../../src/devmode/index.js';
import { csrFor } from '../server/harness.js';
import {
  adminKubeConfig,
  describeKube,
  eventually,
  meshcaKubeArgs,
  requestToken,
  setupMeshcaNamespaces,
  type MeshcaNamespaces,
} from '../support/kube.js';
import { createTestPki, writeTestPki, type TestPki } from '../support/pki.js';
import { startDevServer, type DevServer } from '../support/server.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';

const HOUR = 3600_000;

/** The four cacerts texts. */
interface CaFiles {
  readonly caCertPem: string;
  readonly caKeyPem: string;
  readonly certChainPem: string;
  readonly rootCertPem: string;
}

/** A broken variant of the current material, and what the refusal must say. */
interface Fault {
  readonly name: string;
  readonly files: (good: CaFiles) => CaFiles;
  readonly reason: RegExp;
}

/** The faults both sources share, built from the running PKI and a stranger's. */
async function faults(pki: TestPki): Promise<Fault[]> {
  const stranger = await createTestPki({ name: 'stranger' });
  // An intermediate under the running root whose validity ended yesterday.
  const expiredKey = generateCaKey('ec-p256');
  const expired = await createCaCertificate({
    commonName: 'expired signing intermediate',
    subjectKey: expiredKey,
    issuer: { cert: pki.root.cert, privateKey: pki.root.key.privateKey },
    notBefore: new Date(Date.now() - 72 * HOUR),
    notAfter: new Date(Date.now() - 24 * HOUR),
  });
  return [
    {
      name: 'a key that does not match the certificate',
      files: (good) => ({ ...good, caKeyPem: stranger.files.caKeyPem }),
      reason: /ca-key\.pem does not match the public key of ca-cert\.pem/,
    },
    {
      name: 'an expired intermediate',
      files: (good) => ({
        ...good,
        caCertPem: expired.pem,
        caKeyPem: expiredKey.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        certChainPem: expired.pem + pki.root.cert.pem,
      }),
      reason:
        /ca-cert\.pem does not chain to a root in root-cert\.pem: "CN=expired signing intermediate" expired at/,
    },
    {
      name: 'an intermediate that does not chain to the roots',
      files: (good) => ({
        ...good,
        caCertPem: stranger.files.caCertPem,
        caKeyPem: stranger.files.caKeyPem,
        certChainPem: stranger.files.caCertPem,
      }),
      reason: /ca-cert\.pem does not chain to a root in root-cert\.pem: no issuer found/,
    },
    {
      name: 'a truncated certificate',
      files: (good) => ({ ...good, caCertPem: good.caCertPem.slice(0, good.caCertPem.length / 2) }),
      reason: /ca-cert\.pem: no certificate found/,
    },
    {
      name: 'a truncated key',
      files: (good) => ({ ...good, caKeyPem: good.caKeyPem.slice(0, good.caKeyPem.length / 2) }),
      reason: /ca-key\.pem: not a readable unencrypted PKCS#1, SEC1 or PKCS#8 private key/,
    },
  ];
}

/** Reads a counter sample from the exposition text. */
function counter(body: string, sample: string): number {
  const line = body.split('\n').find((text) => text.startsWith(`${sample} `));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

const REJECTED = 'meshca_ca_reloads_total{result="rejected"}';
const LOADED = 'meshca_ca_reloads_total{result="loaded"}';

/** Checks around one running meshca: counters, refusal lines, the signer in use. */
function observe(meshca: DevServer): {
  count: (sample: string) => Promise<number>;
  refusals: () => Record<string, unknown>[];
  signer: () => string;
} {
  return {
    count: async (sample) => counter((await meshca.server.metrics.exposition()).body, sample),
    refusals: () =>
      meshca
        .logs()
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .filter((line) => String(line['msg']).startsWith('new CA material refused')),
    signer: () => meshca.server.authority.current().material.signingCert.sha256,
  };
}

/**
 * Applies a fault, then checks: one more rejection, a refusal line naming `reason` at level
 * error, the same signer, still ready, and a certificate issued under the old intermediate.
 */
async function expectRefused(
  meshca: DevServer,
  apply: () => Promise<void>,
  reason: RegExp,
  issue: () => Promise<string[]>,
  signingPem: string,
): Promise<void> {
  const { count, refusals, signer } = observe(meshca);
  const rejectedBefore = await count(REJECTED);
  const refusalsBefore = refusals().length;
  const signerBefore = signer();
  await apply();
  await eventually('the rejection counted', async () =>
    (await count(REJECTED)) === rejectedBefore + 1 ? true : undefined,
  );
  const [refusal, ...more] = refusals().slice(refusalsBefore);
  expect(more).toEqual([]);
  expect(refusal?.['level']).toBe(50);
  expect(String(refusal?.['err'] ?? refusal?.['reason'])).toMatch(reason);
  expect(signer()).toBe(signerBefore);
  expect(meshca.server.ops.readiness().ready).toBe(true);
  const chain = await issue();
  expect(chain[1]).toBe(signingPem);
  // Counted once, not once per poll.
  await new Promise((resolve) => setTimeout(resolve, 800));
  expect(await count(REJECTED)).toBe(rejectedBefore + 1);
}

describe('broken CA material in a caDir', () => {
  let pki: TestPki;
  let caDir: string;
  let meshca: DevServer;
  let issue: () => Promise<string[]>;

  /** Replaces the directory's files at once, as a Secret volume update does (a rename). */
  const writeDir = (files: CaFiles): void => {
    const staged = tempDir('meshca-ca-next-');
    writeFileSync(join(staged, 'ca-cert.pem'), files.caCertPem);
    writeFileSync(join(staged, 'ca-key.pem'), files.caKeyPem, { mode: 0o600 });
    writeFileSync(join(staged, 'cert-chain.pem'), files.certChainPem);
    writeFileSync(join(staged, 'root-cert.pem'), files.rootCertPem);
    for (const name of ['ca-cert.pem', 'ca-key.pem', 'cert-chain.pem', 'root-cert.pem']) {
      renameSync(join(staged, name), join(caDir, name));
    }
  };

  beforeAll(async () => {
    pki = await createTestPki({ name: 'faults' });
    caDir = tempDir('meshca-ca-');
    await writeTestPki(caDir, pki);
    const tokens = tempDir('meshca-tokens-');
    await ensureDevTokenIssuer(tokens);
    meshca = await startDevServer([
      '--ca-dir',
      caDir,
      '--jwks',
      devTokenIssuerLayout(tokens).jwksFile,
      '--jwt-issuer',
      DEV_TOKEN_ISSUER,
      '--ca-reload-interval',
      '200ms',
    ]);
    const token = await issueDevToken(
      tokens,
      { namespace: 'default', serviceAccount: 'app', audiences: ['istio-ca'], ttlSeconds: 600 },
      systemClock,
    );
    const csr = await csrFor('spiffe://cluster.local/ns/default/sa/app');
    const client = new CaClient({ address: meshca.address, rootCertPem: pki.files.rootCertPem });
    issue = () => client.createCertificate({ csrPem: csr.csrPem, token });
  });
  afterAll(async () => {
    await meshca.stop();
    removeTempDirs();
  });

  it('issues under the material it loaded', async () => {
    expect((await issue())[1]).toBe(pki.signing.cert.pem);
  });

  it.each<[string]>([
    ['a key that does not match the certificate'],
    ['an expired intermediate'],
    ['an intermediate that does not chain to the roots'],
    ['a truncated certificate'],
    ['a truncated key'],
  ])(
    'refuses %s, keeps signing with the old material, and takes good material back',
    async (name) => {
      const fault = (await faults(pki)).find((candidate) => candidate.name === name);
      if (fault === undefined) throw new Error(`no fault ${name}`);
      await expectRefused(
        meshca,
        () => {
          writeDir(fault.files(pki.files));
          return Promise.resolve();
        },
        fault.reason,
        issue,
        pki.signing.cert.pem,
      );
      const loaded = await observe(meshca).count(LOADED);
      writeDir(pki.files);
      await eventually('the good material loaded again', async () =>
        (await observe(meshca).count(LOADED)) === loaded + 1 ? true : undefined,
      );
    },
  );

  it('refuses a key file other users can read, naming the file and the fix', async () => {
    const keyFile = join(caDir, 'ca-key.pem');
    await expectRefused(
      meshca,
      () => {
        chmodSync(keyFile, 0o644);
        return Promise.resolve();
      },
      /private key file .*ca-key\.pem has mode 0644: other users may read or change it; run "chmod 600/,
      issue,
      pki.signing.cert.pem,
    );
    chmodSync(keyFile, 0o600);
  });

  it('refuses a directory with a file missing', async () => {
    await expectRefused(
      meshca,
      () => {
        rmSync(join(caDir, 'ca-cert.pem'));
        return Promise.resolve();
      },
      /cannot read .*ca-cert\.pem: ENOENT/,
      issue,
      pki.signing.cert.pem,
    );
    writeDir(pki.files);
  });
});

describeKube('broken CA material in a CA Secret', () => {
  let admin: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  let namespaces: MeshcaNamespaces;
  let pki: TestPki;
  let meshca: DevServer;
  let issue: () => Promise<string[]>;

  const putSecret = async (data: Record<string, string>): Promise<void> => {
    await core.replaceNamespacedSecret({
      name: 'cacerts',
      namespace: namespaces.meshca,
      body: { metadata: { name: 'cacerts' }, stringData: data },
    });
  };
  const cacerts = (files: CaFiles): Record<string, string> => ({
    'ca-cert.pem': files.caCertPem,
    'ca-key.pem': files.caKeyPem,
    'cert-chain.pem': files.certChainPem,
    'root-cert.pem': files.rootCertPem,
  });

  beforeAll(async () => {
    admin = adminKubeConfig();
    core = admin.makeApiClient(k8s.CoreV1Api);
    namespaces = await setupMeshcaNamespaces(admin);
    pki = await createTestPki({ name: 'secret-faults' });
    await core.createNamespacedSecret({
      namespace: namespaces.meshca,
      body: { metadata: { name: 'cacerts' }, stringData: cacerts(pki.files) },
    });
    meshca = await startDevServer([
      ...meshcaKubeArgs(namespaces),
      '--ca-secret',
      'cacerts',
      '--trusted-node-accounts',
      '',
    ]);
    const token = await requestToken(admin, namespaces.meshca, 'meshca', {
      audiences: ['istio-ca'],
    });
    const csr = await csrFor(`spiffe://cluster.local/ns/${namespaces.meshca}/sa/meshca`);
    const client = new CaClient({ address: meshca.address, rootCertPem: pki.files.rootCertPem });
    issue = () => client.createCertificate({ csrPem: csr.csrPem, token });
  }, 60_000);
  afterAll(async () => {
    await meshca.stop();
    removeTempDirs();
  });

  it('issues under the material it loaded', async () => {
    expect((await issue())[1]).toBe(pki.signing.cert.pem);
  });

  it.each<[string]>([
    ['a key that does not match the certificate'],
    ['an expired intermediate'],
    ['an intermediate that does not chain to the roots'],
    ['a truncated certificate'],
    ['a truncated key'],
  ])(
    'refuses %s, keeps signing with the old material, and takes good material back',
    async (name) => {
      const fault = (await faults(pki)).find((candidate) => candidate.name === name);
      if (fault === undefined) throw new Error(`no fault ${name}`);
      await expectRefused(
        meshca,
        () => putSecret(cacerts(fault.files(pki.files))),
        fault.reason,
        issue,
        pki.signing.cert.pem,
      );
      const loaded = await observe(meshca).count(LOADED);
      await putSecret(cacerts(pki.files));
      await eventually('the good material loaded again', async () =>
        (await observe(meshca).count(LOADED)) === loaded + 1 ? true : undefined,
      );
    },
  );

  it('refuses a Secret in neither layout', async () => {
    await expectRefused(
      meshca,
      () => putSecret({ 'tls.pem': 'x', 'key.pem': 'y' }),
      /holds neither ca-cert\.pem\/ca-key\.pem nor tls\.crt\/tls\.key/,
      issue,
      pki.signing.cert.pem,
    );
    await putSecret(cacerts(pki.files));
  });
});

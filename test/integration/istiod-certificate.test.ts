/**
 * istiod's serving certificate against the real API server (ISTIO-CONTRACT.md §6.2, checklist
 * 35): meshca keeps the Secret `istiod-tls` in istiod's namespace so that istiod with
 * ENABLE_CA_SERVER=false picks it up from /var/run/secrets/istiod/tls. It is created with the
 * type, keys, names and usage istiod needs, repaired after every kind of edit, recreated after a
 * delete, renewed before it expires, and re-issued when the CA material changes. meshca runs
 * under the service account of manifests/ (base + istiod RBAC) with its CA from a directory.
 */
import * as k8s from '@kubernetes/client-node';
import { spawn } from 'node:child_process';
import {
  X509Certificate,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
} from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  SigningAuthority,
  createCaCertificate,
  generateCaKey,
  writeCaDirectory,
} from '../../src/ca/index.js';
import { opensslUnavailableReason } from '../support/environment.js';
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
import { startDevServer, type DevServer } from '../support/server.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';
import { csrFor } from '../server/harness.js';

const SECRET = 'istiod-tls';
const OID_SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const RENEWAL_TTL_SECONDS = 15;
// Checked before any meshca runs in this process (it uses spawnSync).
const itWithOpenssl = opensslUnavailableReason() === undefined ? it : it.skip;

/** What a correct `istiod-tls` must be. */
interface Expected {
  /** The intermediate meshca signs with. */
  readonly signing: X509Certificate;
  /** The trust bundle (PEM of every root). */
  readonly bundle: string;
  readonly dnsNames: readonly string[];
}

/** The decoded content of an `istiod-tls` Secret. */
interface IstiodSecret {
  readonly raw: k8s.V1Secret;
  readonly chain: X509Certificate[];
  readonly leaf: X509Certificate;
  readonly keyPem: string;
  readonly caPem: string;
  readonly dnsNames: string[];
}

/**
 * Runs openssl without blocking the event loop (meshca runs in this process). Its stdin is not
 * connected: openssl verify exits before a pipe could be closed, which would fail with EPIPE.
 */
function openssl(
  args: readonly string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => {
      resolve({ code, stdout, stderr });
    });
  });
}

function b64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

function unb64(value: string | undefined): string {
  return Buffer.from(value ?? '', 'base64').toString('utf8');
}

function pemBlocks(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
}

function dnsNamesOf(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? '')
    .split(', ')
    .filter((name) => name.startsWith('DNS:'))
    .map((name) => name.slice(4));
}

/** Parses the Secret; throws when it does not even decode. */
function decode(secret: k8s.V1Secret): IstiodSecret {
  const data = secret.data ?? {};
  const chain = pemBlocks(unb64(data['tls.crt'])).map((pem) => new X509Certificate(pem));
  const [leaf] = chain;
  if (leaf === undefined) throw new Error('tls.crt holds no certificate');
  return {
    raw: secret,
    chain,
    leaf,
    keyPem: unb64(data['tls.key']),
    caPem: unb64(data['ca.crt']),
    dnsNames: dnsNamesOf(leaf),
  };
}

/** The Secret decoded when it is exactly what istiod needs, else undefined (with the reason). */
function check(secret: k8s.V1Secret | undefined, expected: Expected): IstiodSecret | undefined {
  if (secret === undefined) return undefined;
  const found = decode(secret);
  const { leaf, chain } = found;
  const intermediate = chain[1];
  const now = Date.now();
  const valid =
    secret.type === 'kubernetes.io/tls' &&
    Object.keys(secret.data ?? {})
      .sort()
      .join() === 'ca.crt,tls.crt,tls.key' &&
    chain.length === 2 &&
    intermediate?.fingerprint256 === expected.signing.fingerprint256 &&
    leaf.checkIssued(expected.signing) &&
    leaf.verify(expected.signing.publicKey) &&
    !leaf.ca &&
    new Date(leaf.validFrom).getTime() <= now &&
    new Date(leaf.validTo).getTime() > now &&
    leaf.checkPrivateKey(createPrivateKey(found.keyPem)) &&
    found.caPem === expected.bundle &&
    [...found.dnsNames].sort().join() === [...expected.dnsNames].sort().join();
  return valid ? found : undefined;
}

describeKube('istiod-tls Secret', () => {
  let admin: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  let namespaces: MeshcaNamespaces;
  let pki: TestPki;
  let caDir: string;
  let meshca: DevServer;
  let expected: Expected;
  const servers: DevServer[] = [];

  const readSecret = async (namespace: string): Promise<k8s.V1Secret | undefined> => {
    try {
      return await core.readNamespacedSecret({ name: SECRET, namespace });
    } catch (error) {
      if (error instanceof k8s.ApiException && error.code === 404) return undefined;
      throw error;
    }
  };
  const valid = async (): Promise<IstiodSecret> =>
    eventually(
      'a valid istiod-tls',
      async () => check(await readSecret(namespaces.istio), expected),
      20_000,
    );
  /**
   * Replaces the data of a valid Secret with what `change` makes of it; returns the Secret as it
   * was. Retried from a fresh read if meshca writes in between (409 Conflict).
   */
  const tamper = (
    change: (data: Record<string, string>) => Promise<Record<string, string>>,
  ): Promise<IstiodSecret> =>
    eventually('an edited istiod-tls', async () => {
      const before = await valid();
      await core.replaceNamespacedSecret({
        name: SECRET,
        namespace: namespaces.istio,
        body: { ...before.raw, data: await change({ ...(before.raw.data ?? {}) }) },
      });
      return before;
    });

  beforeAll(async () => {
    admin = adminKubeConfig();
    core = admin.makeApiClient(k8s.CoreV1Api);
    namespaces = await setupMeshcaNamespaces(admin);
    pki = await createTestPki({ name: 'istiod' });
    caDir = tempDir('meshca-ca-');
    await writeTestPki(caDir, pki);
    meshca = await startDevServer([
      ...meshcaKubeArgs(namespaces),
      '--ca-dir',
      caDir,
      '--ca-reload-interval',
      '1s',
      '--istiod-revisions',
      'default,canary',
      '--istiod-dns',
      'istiod.mesh.example.test,istiod-remote.example.test',
    ]);
    servers.push(meshca);
    expected = {
      signing: pki.signing.cert.x509,
      bundle: pki.material().trustBundle.pem,
      dnsNames: [
        `istiod.${namespaces.istio}.svc`,
        `istiod-canary.${namespaces.istio}.svc`,
        'istiod.mesh.example.test',
        'istiod-remote.example.test',
      ],
    };
  });
  afterAll(async () => {
    for (const server of servers) await server.stop();
    removeTempDirs();
  });

  it('is created as a kubernetes.io/tls Secret with exactly tls.crt, tls.key and ca.crt', async () => {
    const { raw } = await valid();
    expect(raw.type).toBe('kubernetes.io/tls');
    expect(Object.keys(raw.data ?? {}).sort()).toEqual(['ca.crt', 'tls.crt', 'tls.key']);
    expect(raw.metadata?.labels?.['app.kubernetes.io/managed-by']).toBe('meshca');
  });

  it('holds the leaf and the intermediate in tls.crt, verifying to the root in ca.crt', async () => {
    const { chain, leaf } = await valid();
    const [, intermediate] = chain;
    expect(intermediate?.raw.equals(pki.signing.cert.x509.raw)).toBe(true);
    expect(leaf.verify(pki.signing.cert.x509.publicKey)).toBe(true);
    expect(intermediate?.verify(pki.root.cert.x509.publicKey)).toBe(true);
    expect(leaf.ca).toBe(false);
  });

  it('has a key in tls.key that belongs to the leaf', async () => {
    const { leaf, keyPem } = await valid();
    const spki = (pem: string): Buffer =>
      createPublicKey(createPrivateKey(pem)).export({ type: 'spki', format: 'der' });
    expect(spki(keyPem).equals(leaf.publicKey.export({ type: 'spki', format: 'der' }))).toBe(true);
    expect(leaf.checkPrivateKey(createPrivateKey(keyPem))).toBe(true);
  });

  it('carries exactly the DNS names of every revision plus the extras, and serverAuth', async () => {
    const { leaf, dnsNames } = await valid();
    expect([...dnsNames].sort()).toEqual([...expected.dnsNames].sort());
    expect(leaf.keyUsage).toContain(OID_SERVER_AUTH);
  });

  itWithOpenssl.each([
    ['the default revision', (ns: string) => `istiod.${ns}.svc`],
    ['the canary revision', (ns: string) => `istiod-canary.${ns}.svc`],
    ['an extra name', () => 'istiod.mesh.example.test'],
  ])(
    'passes openssl verify as a TLS server for %s',
    async (_case, host: (ns: string) => string) => {
      const { chain } = await valid();
      const dir = tempDir('meshca-istiod-openssl-');
      const file = (name: string, text: string): string => {
        writeFileSync(join(dir, name), text);
        return join(dir, name);
      };
      const result = await openssl([
        'verify',
        '-CAfile',
        file('ca.crt', expected.bundle),
        '-untrusted',
        file('intermediate.pem', chain[1]?.toString() ?? ''),
        '-purpose',
        'sslserver',
        '-verify_hostname',
        host(namespaces.istio),
        file('leaf.pem', chain[0]?.toString() ?? ''),
      ]);
      expect(result.stderr).toBe('');
      expect(result.stdout).toMatch(/leaf\.pem: OK/);
      expect(result.code).toBe(0);
    },
  );

  itWithOpenssl('fails openssl verify for a name it does not carry', async () => {
    const { chain } = await valid();
    const dir = tempDir('meshca-istiod-openssl-');
    writeFileSync(join(dir, 'ca.crt'), expected.bundle);
    writeFileSync(join(dir, 'chain.pem'), chain.map((cert) => cert.toString()).join(''));
    const result = await openssl([
      'verify',
      '-CAfile',
      join(dir, 'ca.crt'),
      '-untrusted',
      join(dir, 'chain.pem'),
      '-verify_hostname',
      `istiod-other.${namespaces.istio}.svc`,
      join(dir, 'chain.pem'),
    ]);
    expect(result.code).not.toBe(0);
    expect(`${result.stdout}${result.stderr}`).toMatch(/hostname mismatch/);
  });

  it('has in ca.crt the trust bundle: the ConfigMap and the last element of CreateCertificate', async () => {
    const apps = `istiod-${namespaces.run}-apps`;
    await createServedNamespace(admin, namespaces, apps);
    await createServiceAccount(admin, apps, 'web');
    const token = await requestToken(admin, apps, 'web', { audiences: ['istio-ca'] });
    const csr = await csrFor(`spiffe://cluster.local/ns/${apps}/sa/web`);
    const chain = await meshca.client().createCertificate({ csrPem: csr.csrPem, token });
    const { caPem } = await valid();
    expect(chain[chain.length - 1]).toBe(caPem);
    const configMap = await eventually('trust bundle ConfigMap', async () => {
      try {
        return await core.readNamespacedConfigMap({ name: 'istio-ca-root-cert', namespace: apps });
      } catch {
        return undefined;
      }
    });
    expect(configMap.data?.['root-cert.pem']).toBe(caPem);
  });

  const otherCa = async (): Promise<TestPki> => createTestPki({ name: 'someone else' });
  const otherKeyPem = (): string =>
    generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
  it.each<[string, (data: Record<string, string>) => Promise<Record<string, string>>]>([
    [
      'tls.crt replaced by a certificate of another CA',
      async (data) => ({ ...data, 'tls.crt': b64((await otherCa()).signing.cert.pem) }),
    ],
    ['tls.crt replaced by garbage', (data) => Promise.resolve({ ...data, 'tls.crt': b64('x') })],
    [
      'ca.crt changed to another root',
      async (data) => ({ ...data, 'ca.crt': b64((await otherCa()).root.cert.pem) }),
    ],
    [
      'tls.key replaced by another key',
      (data) => Promise.resolve({ ...data, 'tls.key': b64(otherKeyPem()) }),
    ],
    ['tls.key emptied', (data) => Promise.resolve({ ...data, 'tls.key': '' })],
    [
      'a leaf of the right issuer, with its key, but without the canary name',
      async (data) => {
        const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
        const issued = await new SigningAuthority(pki.material(), { verifyIssued: true }).issue({
          spkiDer: publicKey.export({ type: 'spki', format: 'der' }),
          subjectAltNames: [{ type: 'dns', value: `istiod.${namespaces.istio}.svc` }],
          notBefore: new Date(Date.now() - 60_000),
          notAfter: new Date(Date.now() + 3600_000),
        });
        return {
          ...data,
          'tls.crt': b64(issued.pem + pki.signing.cert.pem),
          'tls.key': b64(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()),
        };
      },
    ],
  ])('is repaired after an edit: %s', async (_case, change) => {
    const before = await tamper(change);
    const repaired = await valid();
    expect(repaired.leaf.serialNumber).not.toBe(before.leaf.serialNumber);
    expect(repaired.raw.metadata?.uid).toBe(before.raw.metadata?.uid);
  });

  it('is recreated after a delete', async () => {
    const before = await valid();
    await core.deleteNamespacedSecret({ name: SECRET, namespace: namespaces.istio });
    const recreated = await valid();
    expect(recreated.raw.metadata?.uid).not.toBe(before.raw.metadata?.uid);
    expect(recreated.leaf.serialNumber).not.toBe(before.leaf.serialNumber);
  });

  it.each([
    [
      'a Secret of another type (the type is immutable and meshca may not delete)',
      { type: 'Opaque' },
      'of type Opaque',
    ],
    [
      'a Secret managed by cert-manager (istio-csr during a migration)',
      {
        type: 'kubernetes.io/tls',
        metadata: { annotations: { 'cert-manager.io/certificate-name': 'istiod' } },
      },
      'managed by the cert-manager Certificate istiod',
    ],
  ])('leaves %s alone, says why, and takes over once it is gone', async (_case, shape, reason) => {
    await valid();
    // meshca may recreate its Secret between our delete and create: try again until ours is in.
    const foreign = await eventually('a foreign istiod-tls in place', async () => {
      await core
        .deleteNamespacedSecret({ name: SECRET, namespace: namespaces.istio })
        .catch(() => undefined);
      return core.createNamespacedSecret({
        namespace: namespaces.istio,
        body: {
          ...shape,
          metadata: { name: SECRET, ...('metadata' in shape ? shape.metadata : {}) },
          data: { 'tls.crt': b64('x'), 'tls.key': b64('y') },
        },
      });
    });
    await eventually('the refusal logged', () =>
      meshca
        .logs()
        .some((line) => line.includes('istiod certificate not written') && line.includes(reason))
        ? true
        : undefined,
    );
    const untouched = await core.readNamespacedSecret({
      name: SECRET,
      namespace: namespaces.istio,
    });
    expect(untouched.metadata?.uid).toBe(foreign.metadata?.uid);
    expect(untouched.metadata?.resourceVersion).toBe(foreign.metadata?.resourceVersion);
    await core.deleteNamespacedSecret({ name: SECRET, namespace: namespaces.istio });
    const replaced = await valid();
    expect(replaced.raw.type).toBe('kubernetes.io/tls');
    expect(replaced.raw.metadata?.uid).not.toBe(foreign.metadata?.uid);
  });

  it('is re-issued under a new intermediate (same root) when the CA material changes', async () => {
    const before = await valid();
    const key = generateCaKey('ec-p256');
    const intermediate = await createCaCertificate({
      commonName: 'istiod second signing intermediate',
      subjectKey: key,
      issuer: { cert: pki.root.cert, privateKey: pki.root.key.privateKey },
      notBefore: new Date(Date.now() - 3600_000),
      notAfter: new Date(Date.now() + 30 * 24 * 3600_000),
    });
    await writeCaDirectory(caDir, {
      caCertPem: intermediate.pem,
      caKeyPem: key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      certChainPem: intermediate.pem + pki.root.cert.pem,
      rootCertPem: pki.root.cert.pem,
    });
    expected = { ...expected, signing: intermediate.x509 };
    const reissued = await valid();
    expect(reissued.leaf.checkIssued(intermediate.x509)).toBe(true);
    expect(reissued.leaf.checkIssued(pki.signing.cert.x509)).toBe(false);
    expect(reissued.chain[1]?.raw.equals(intermediate.x509.raw)).toBe(true);
    expect(reissued.caPem).toBe(before.caPem);
  });

  describe(`with a ${RENEWAL_TTL_SECONDS}s lifetime and an RSA key`, () => {
    let short: DevServer;
    let shortNamespaces: MeshcaNamespaces;

    beforeAll(async () => {
      shortNamespaces = await setupMeshcaNamespaces(admin);
      const dir = tempDir('meshca-ca-');
      await writeTestPki(dir, pki);
      short = await startDevServer([
        ...meshcaKubeArgs(shortNamespaces),
        '--ca-dir',
        dir,
        '--istiod-ttl',
        `${RENEWAL_TTL_SECONDS}s`,
        '--istiod-key',
        'rsa',
      ]);
      servers.push(short);
    });

    it('is renewed at two thirds of its lifetime, before it expires', async () => {
      const shortExpected: Expected = {
        signing: pki.signing.cert.x509,
        bundle: pki.material().trustBundle.pem,
        dnsNames: [`istiod.${shortNamespaces.istio}.svc`],
      };
      const read = async (): Promise<IstiodSecret | undefined> =>
        check(await readSecret(shortNamespaces.istio), shortExpected);
      const first = await eventually('a valid istiod-tls', read);
      expect(createPrivateKey(first.keyPem).asymmetricKeyType).toBe('rsa');
      const renewed = await eventually(
        'a renewed istiod-tls',
        async () => {
          const next = await read();
          return next !== undefined && next.leaf.serialNumber !== first.leaf.serialNumber
            ? next
            : undefined;
        },
        RENEWAL_TTL_SECONDS * 1000 + 5000,
      );
      // notAfter = issuance + TTL (the CA outlives it), so issuance times follow from notAfter.
      const issuedAt = (cert: X509Certificate): number =>
        new Date(cert.validTo).getTime() - RENEWAL_TTL_SECONDS * 1000;
      const renewedAfterMs = issuedAt(renewed.leaf) - issuedAt(first.leaf);
      // Whole-second certificate times: allow one second of rounding.
      expect(renewedAfterMs).toBeGreaterThanOrEqual((RENEWAL_TTL_SECONDS * 1000 * 2) / 3 - 1000);
      expect(issuedAt(renewed.leaf)).toBeLessThan(new Date(first.leaf.validTo).getTime());
      expect(new Date(renewed.leaf.validTo).getTime()).toBeGreaterThan(
        new Date(first.leaf.validTo).getTime(),
      );
    }, 40_000);
  });
});

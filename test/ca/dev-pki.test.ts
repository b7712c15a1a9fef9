import { createPublicKey } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { parseCertificatesPem } from '../../src/asn1/index.js';
import {
  CACERTS_FILES,
  devPkiLayout,
  ensureDevPki,
  loadCaDirectory,
  writeCaDirectory,
  type CaDirectoryFiles,
} from '../../src/ca/index.js';
import { createTestPki, type TestPki } from '../support/pki.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';
import { DAY, wholeSeconds } from './fixtures.js';

const NOW = wholeSeconds(Date.now());
const BACKDATE_MS = 5 * 60 * 1000;
const INTERMEDIATE_LIFETIME_MS = 365 * DAY;
const ROOT_LIFETIME_MS = 10 * 365 * DAY;

afterAll(removeTempDirs);

const mode = (path: string): number => statSync(path).mode & 0o777;
const read = (path: string): string => readFileSync(path, 'utf8');
const at = (days: number): Date => new Date(NOW.getTime() + days * DAY);

/** Every file under the dev PKI, by path relative to the state directory. */
function snapshot(stateDir: string): Record<string, string> {
  const { caDir, rootDir } = devPkiLayout(stateDir);
  const files: Record<string, string> = {};
  for (const dir of [caDir, rootDir]) {
    for (const name of readdirSync(dir)) files[join(dir, name)] = read(join(dir, name));
  }
  return files;
}

function noTemporaryFiles(dir: string): void {
  expect(readdirSync(dir).filter((name) => name.includes('.tmp'))).toEqual([]);
}

describe('devPkiLayout', () => {
  it('puts the cacerts directory and the root key apart', () => {
    expect(devPkiLayout('/var/lib/meshca')).toEqual({
      caDir: '/var/lib/meshca/ca',
      rootDir: '/var/lib/meshca/dev-root',
    });
  });
});

describe('ensureDevPki', () => {
  let stateDir: string;
  let created: Record<string, string>;

  beforeAll(async () => {
    stateDir = tempDir();
    await expect(ensureDevPki(stateDir, NOW)).resolves.toBe('created');
    created = snapshot(stateDir);
  });

  it('creates the cacerts files and the root key, keys readable by the owner only', () => {
    const { caDir, rootDir } = devPkiLayout(stateDir);
    expect(readdirSync(caDir).sort()).toEqual(
      [CACERTS_FILES.cert, CACERTS_FILES.chain, CACERTS_FILES.key, CACERTS_FILES.roots].sort(),
    );
    expect(readdirSync(rootDir).sort()).toEqual(['root-cert.pem', 'root-key.pem']);
    expect(mode(join(caDir, CACERTS_FILES.key))).toBe(0o600);
    expect(mode(join(rootDir, 'root-key.pem'))).toBe(0o600);
    expect(mode(caDir)).toBe(0o700);
    expect(mode(rootDir)).toBe(0o700);
  });

  it('creates a valid cacerts bundle: root → intermediate, Istio conventions', async () => {
    const { caDir, rootDir } = devPkiLayout(stateDir);
    const material = await loadCaDirectory(caDir, NOW);
    const [root] = parseCertificatesPem(read(join(rootDir, 'root-cert.pem')), 'root');
    const [intermediate] = parseCertificatesPem(read(join(caDir, CACERTS_FILES.cert)), 'ca-cert');

    expect(material.signingCert.sha256).toBe(intermediate!.sha256);
    expect(material.intermediates.map((cert) => cert.sha256)).toEqual([intermediate!.sha256]);
    expect(material.trustBundle.fingerprints).toEqual([root!.sha256]);
    // cert-chain.pem = ca-cert.pem + root-cert.pem (tools/certs/Makefile.selfsigned.mk).
    expect(read(join(caDir, CACERTS_FILES.chain))).toBe(intermediate!.pem + root!.pem);
    expect(read(join(caDir, CACERTS_FILES.roots))).toBe(root!.pem);

    expect(root!.selfSigned).toBe(true);
    expect(root!.isCa).toBe(true);
    expect(intermediate!.isCa).toBe(true);
    expect(intermediate!.pathLength).toBe(0);
    expect(intermediate!.x509.subject).toBe('O=meshca\nCN=meshca development intermediate');
    expect(root!.x509.subject).toBe('O=meshca\nCN=meshca development root');

    expect(root!.notBefore.getTime()).toBe(NOW.getTime() - BACKDATE_MS);
    expect(root!.notAfter.getTime()).toBe(NOW.getTime() + ROOT_LIFETIME_MS);
    expect(intermediate!.notBefore.getTime()).toBe(NOW.getTime() - BACKDATE_MS);
    expect(intermediate!.notAfter.getTime()).toBe(NOW.getTime() + INTERMEDIATE_LIFETIME_MS);

    // The root key kept aside matches the root certificate.
    const rootKey = createPublicKey(read(join(rootDir, 'root-key.pem')));
    expect(rootKey.export({ type: 'spki', format: 'der' })).toEqual(
      root!.x509.publicKey.export({ type: 'spki', format: 'der' }),
    );
    noTemporaryFiles(caDir);
    noTemporaryFiles(rootDir);
  });

  it.each([
    ['at once', 0],
    ['a day later', 1],
    ['with 31 days left', 365 - 31],
  ])('reuses the PKI %s', async (_label, days) => {
    await expect(ensureDevPki(stateDir, at(days))).resolves.toBe('reused');
    expect(snapshot(stateDir)).toEqual(created);
  });

  it.each([
    ['with exactly 30 days left', 365 - 30],
    ['with 10 days left', 355],
    ['after the intermediate expired', 400],
  ])('renews only the intermediate %s', async (_label, days) => {
    const dir = tempDir();
    await ensureDevPki(dir, NOW);
    const before = snapshot(dir);
    const { caDir, rootDir } = devPkiLayout(dir);
    const later = at(days);

    await expect(ensureDevPki(dir, later)).resolves.toBe('renewed-intermediate');

    const after = snapshot(dir);
    expect(after[join(rootDir, 'root-cert.pem')]).toBe(before[join(rootDir, 'root-cert.pem')]);
    expect(after[join(rootDir, 'root-key.pem')]).toBe(before[join(rootDir, 'root-key.pem')]);
    expect(after[join(caDir, CACERTS_FILES.roots)]).toBe(before[join(caDir, CACERTS_FILES.roots)]);
    expect(after[join(caDir, CACERTS_FILES.cert)]).not.toBe(
      before[join(caDir, CACERTS_FILES.cert)],
    );
    expect(after[join(caDir, CACERTS_FILES.key)]).not.toBe(before[join(caDir, CACERTS_FILES.key)]);

    const material = await loadCaDirectory(caDir, later);
    expect(material.signingCert.notBefore.getTime()).toBe(later.getTime() - BACKDATE_MS);
    expect(material.signingCert.notAfter.getTime()).toBe(
      later.getTime() + INTERMEDIATE_LIFETIME_MS,
    );
    expect(mode(join(caDir, CACERTS_FILES.key))).toBe(0o600);
    noTemporaryFiles(caDir);

    // And the renewed PKI is reused from then on.
    await expect(ensureDevPki(dir, later)).resolves.toBe('reused');
  });

  it('never lets a renewed intermediate outlive the root', async () => {
    const dir = tempDir();
    await ensureDevPki(dir, NOW);
    const nearRootExpiry = at(10 * 365 - 60);
    await expect(ensureDevPki(dir, nearRootExpiry)).resolves.toBe('renewed-intermediate');
    const material = await loadCaDirectory(devPkiLayout(dir).caDir, nearRootExpiry);
    expect(material.signingCert.notAfter).toEqual(material.trustBundle.roots[0]!.notAfter);
    expect(material.notAfter.getTime()).toBe(NOW.getTime() + ROOT_LIFETIME_MS);
  });

  it('creates a new PKI when the root key is gone', async () => {
    const dir = tempDir();
    await ensureDevPki(dir, NOW);
    const { rootDir } = devPkiLayout(dir);
    const oldRoot = read(join(rootDir, 'root-cert.pem'));
    rmSync(join(rootDir, 'root-key.pem'));

    await expect(ensureDevPki(dir, NOW)).resolves.toBe('created');
    expect(read(join(rootDir, 'root-cert.pem'))).not.toBe(oldRoot);
    expect(mode(join(rootDir, 'root-key.pem'))).toBe(0o600);
  });

  it('refuses to overwrite a corrupt PKI', async () => {
    const dir = tempDir();
    await ensureDevPki(dir, NOW);
    const certPath = join(devPkiLayout(dir).caDir, CACERTS_FILES.cert);
    writeFileSync(certPath, 'garbage');
    await expect(ensureDevPki(dir, NOW)).rejects.toThrow('ca-cert.pem: no certificate found');
    expect(read(certPath)).toBe('garbage');
  });
});

describe('writeCaDirectory', () => {
  let pki: TestPki;
  let files: CaDirectoryFiles;

  beforeAll(async () => {
    pki = await createTestPki({ now: NOW, name: 'write' });
    files = pki.files;
  });

  it('writes the four files of the cacerts layout, the key with mode 0600', async () => {
    const dir = join(tempDir(), 'nested', 'cacerts');
    await writeCaDirectory(dir, files);

    expect(read(join(dir, CACERTS_FILES.cert))).toBe(files.caCertPem);
    expect(read(join(dir, CACERTS_FILES.key))).toBe(files.caKeyPem);
    expect(read(join(dir, CACERTS_FILES.chain))).toBe(files.certChainPem);
    expect(read(join(dir, CACERTS_FILES.roots))).toBe(files.rootCertPem);
    expect(mode(join(dir, CACERTS_FILES.key))).toBe(0o600);
    expect(mode(dir)).toBe(0o700);
    expect(readdirSync(dir)).toHaveLength(4);
    noTemporaryFiles(dir);
    await expect(loadCaDirectory(dir, NOW)).resolves.toMatchObject({
      signingCert: { sha256: pki.signing.cert.sha256 },
    });
  });

  it('replaces existing files by rename: readers keep the old file, key tightened to 0600', async () => {
    const dir = tempDir();
    await writeCaDirectory(dir, files);
    const keyPath = join(dir, CACERTS_FILES.key);
    chmodSync(keyPath, 0o644);
    const names = readdirSync(dir);
    const before = names.map((name) => read(join(dir, name)));
    // Descriptors opened before the rewrite: an in-place write would change what they read.
    const descriptors = names.map((name) => openSync(join(dir, name), 'r'));

    const other = await createTestPki({ now: NOW, name: 'replacement' });
    try {
      await writeCaDirectory(dir, other.files);
      expect(descriptors.map((fd) => readFileSync(fd, 'utf8'))).toEqual(before);
    } finally {
      for (const fd of descriptors) closeSync(fd);
    }

    expect(read(keyPath)).toBe(other.files.caKeyPem);
    expect(read(join(dir, CACERTS_FILES.cert))).toBe(other.files.caCertPem);
    expect(mode(keyPath)).toBe(0o600);
    expect(readdirSync(dir).sort()).toEqual([...names].sort());
    noTemporaryFiles(dir);
  });
});

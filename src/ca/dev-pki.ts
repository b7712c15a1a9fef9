/**
 * The development PKI: with no CA configured, `meshca serve` creates a root and an intermediate in
 * its state directory (in the `cacerts` layout, so the same files can later be given to a real
 * deployment as `--ca-dir`) and keeps the intermediate renewed. Never used when a CA is configured.
 *
 * @module
 */
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseCertificatesPem, type ParsedCertificate } from '../asn1/index.js';
import { CACERTS_FILES } from './material.js';
import { createCaCertificate, generateCaKey, type CaKeyPair } from './pki-builder.js';
import { readPrivateKeyFile, writeFileAtomically } from '../util/index.js';

/** Where the development PKI lives inside the state directory. */
export interface DevPkiLayout {
  /** The `cacerts` directory meshca signs from. */
  readonly caDir: string;
  /** The root's own key, kept apart from `caDir` (a real deployment never gives meshca a root key). */
  readonly rootDir: string;
}

/** Lifetimes of the development PKI. */
const ROOT_LIFETIME_MS = 10 * 365 * 24 * 3600 * 1000;
const INTERMEDIATE_LIFETIME_MS = 365 * 24 * 3600 * 1000;
/** The intermediate is replaced when less than this remains. */
const INTERMEDIATE_RENEW_BEFORE_MS = 30 * 24 * 3600 * 1000;
/** Absorbs clock skew between this machine and clients. */
const BACKDATE_MS = 5 * 60 * 1000;

/** The layout under `stateDir`. */
export function devPkiLayout(stateDir: string): DevPkiLayout {
  return { caDir: join(stateDir, 'ca'), rootDir: join(stateDir, 'dev-root') };
}

/** What {@link ensureDevPki} did. */
export type DevPkiOutcome = 'created' | 'renewed-intermediate' | 'reused';

/**
 * Makes sure a usable development CA exists in `stateDir`, creating or renewing it as needed.
 */
export async function ensureDevPki(stateDir: string, now: Date): Promise<DevPkiOutcome> {
  const layout = devPkiLayout(stateDir);
  const existing = await readExisting(layout);
  if (existing === undefined) {
    await createDevPki(layout, now);
    return 'created';
  }
  if (existing.intermediate.notAfter.getTime() - now.getTime() > INTERMEDIATE_RENEW_BEFORE_MS) {
    return 'reused';
  }
  await writeIntermediate(layout, existing.root, existing.rootKey, now);
  return 'renewed-intermediate';
}

async function createDevPki(layout: DevPkiLayout, now: Date): Promise<void> {
  const rootKey = generateCaKey('ec-p256');
  const root = await createCaCertificate({
    commonName: 'meshca development root',
    organization: 'meshca',
    subjectKey: rootKey,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(now.getTime() + ROOT_LIFETIME_MS),
  });
  await mkdir(layout.rootDir, { recursive: true, mode: 0o700 });
  await writeFileAtomically(join(layout.rootDir, 'root-cert.pem'), root.pem);
  await writeFileAtomically(
    join(layout.rootDir, 'root-key.pem'),
    rootKey.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    0o600,
  );
  await writeIntermediate(layout, root, rootKey, now);
}

async function writeIntermediate(
  layout: DevPkiLayout,
  root: ParsedCertificate,
  rootKey: CaKeyPair,
  now: Date,
): Promise<void> {
  const key = generateCaKey('ec-p256');
  const notAfter = Math.min(now.getTime() + INTERMEDIATE_LIFETIME_MS, root.notAfter.getTime());
  const intermediate = await createCaCertificate({
    commonName: 'meshca development intermediate',
    organization: 'meshca',
    subjectKey: key,
    issuer: { cert: root, privateKey: rootKey.privateKey },
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(notAfter),
    pathLength: 0,
  });
  await writeCaDirectory(layout.caDir, {
    caCertPem: intermediate.pem,
    caKeyPem: key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    // Istio's convention (tools/certs/Makefile.selfsigned.mk): cert-chain = ca-cert + root.
    certChainPem: intermediate.pem + root.pem,
    rootCertPem: root.pem,
  });
}

async function readExisting(
  layout: DevPkiLayout,
): Promise<
  { root: ParsedCertificate; rootKey: CaKeyPair; intermediate: ParsedCertificate } | undefined
> {
  try {
    const [rootPem, rootKeyPem, intermediatePem] = await Promise.all([
      readFile(join(layout.rootDir, 'root-cert.pem'), 'utf8'),
      readPrivateKeyFile(join(layout.rootDir, 'root-key.pem')),
      readFile(join(layout.caDir, CACERTS_FILES.cert), 'utf8'),
    ]);
    const [root] = parseCertificatesPem(rootPem, 'root-cert.pem');
    const [intermediate] = parseCertificatesPem(intermediatePem, CACERTS_FILES.cert);
    if (root === undefined || intermediate === undefined) return undefined;
    const privateKey = createPrivateKey(rootKeyPem);
    return { root, rootKey: { privateKey, publicKey: createPublicKey(privateKey) }, intermediate };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** The four files of a `cacerts` directory. */
export interface CaDirectoryFiles {
  readonly caCertPem: string;
  readonly caKeyPem: string;
  readonly certChainPem: string;
  readonly rootCertPem: string;
}

/**
 * Writes a `cacerts` directory, each file atomically (write then rename), the key readable by its
 * owner only.
 */
export async function writeCaDirectory(dir: string, files: CaDirectoryFiles): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFileAtomically(join(dir, CACERTS_FILES.key), files.caKeyPem, 0o600);
  await writeFileAtomically(join(dir, CACERTS_FILES.cert), files.caCertPem);
  await writeFileAtomically(join(dir, CACERTS_FILES.chain), files.certChainPem);
  await writeFileAtomically(join(dir, CACERTS_FILES.roots), files.rootCertPem);
}

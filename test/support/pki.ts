/**
 * Test CA hierarchies built in code (STYLE.md: fixtures built in code, never checked in).
 */
import { createPrivateKey } from 'node:crypto';
import {
  createCaCertificate,
  generateCaKey,
  loadCaMaterial,
  writeCaDirectory,
  type CaKeyPair,
  type CaKeyType,
  type CaMaterial,
  type CaMaterialSource,
} from '../../src/ca/index.js';
import type { ParsedCertificate } from '../../src/asn1/index.js';

const HOUR = 3600_000;
const DAY = 24 * HOUR;

/** A CA certificate with its key. */
export interface TestCa {
  readonly cert: ParsedCertificate;
  readonly key: CaKeyPair;
}

/** Options of {@link createTestPki}. */
export interface TestPkiOptions {
  readonly keyType?: CaKeyType;
  readonly rootKeyType?: CaKeyType;
  /** Intermediates between the root and the signing CA (default 0: root → signing). */
  readonly extraIntermediates?: number;
  readonly now?: Date;
  readonly rootLifetimeMs?: number;
  readonly signingLifetimeMs?: number;
  readonly name?: string;
}

/** A root, optional middle intermediates, and a signing intermediate. */
export interface TestPki {
  readonly root: TestCa;
  /** From the root's child down to the signing CA's parent. */
  readonly middle: readonly TestCa[];
  readonly signing: TestCa;
  /** The cacerts files for this PKI (cert-chain = signing + middle + root, Istio's convention). */
  readonly files: CaMaterialSource & { readonly certChainPem: string };
  material(at?: Date): CaMaterial;
}

/** Builds root → [middle...] → signing. */
export async function createTestPki(options: TestPkiOptions = {}): Promise<TestPki> {
  const now = options.now ?? new Date();
  const name = options.name ?? 'test';
  const rootKey = generateCaKey(options.rootKeyType ?? options.keyType ?? 'ec-p256');
  const root = await createCaCertificate({
    commonName: `${name} root`,
    organization: 'meshca tests',
    subjectKey: rootKey,
    notBefore: new Date(now.getTime() - HOUR),
    notAfter: new Date(now.getTime() + (options.rootLifetimeMs ?? 3650 * DAY)),
  });
  let parent: TestCa = { cert: root, key: rootKey };
  const middle: TestCa[] = [];
  for (let i = 0; i < (options.extraIntermediates ?? 0); i++) {
    const key = generateCaKey(options.keyType ?? 'ec-p256');
    const cert = await createCaCertificate({
      commonName: `${name} middle ${i + 1}`,
      subjectKey: key,
      issuer: { cert: parent.cert, privateKey: parent.key.privateKey },
      notBefore: new Date(now.getTime() - HOUR),
      notAfter: new Date(now.getTime() + 1000 * DAY),
    });
    parent = { cert, key };
    middle.push(parent);
  }
  const signingKey = generateCaKey(options.keyType ?? 'ec-p256');
  const signingCert = await createCaCertificate({
    commonName: `${name} signing intermediate`,
    subjectKey: signingKey,
    issuer: { cert: parent.cert, privateKey: parent.key.privateKey },
    notBefore: new Date(now.getTime() - HOUR),
    notAfter: new Date(now.getTime() + (options.signingLifetimeMs ?? 365 * DAY)),
  });
  const files = {
    caCertPem: signingCert.pem,
    caKeyPem: signingKey.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    certChainPem: [signingCert, ...[...middle].reverse().map((ca) => ca.cert), root]
      .map((cert) => cert.pem)
      .join(''),
    rootCertPem: root.pem,
  };
  return {
    root: { cert: root, key: rootKey },
    middle,
    signing: { cert: signingCert, key: signingKey },
    files,
    material: (at = new Date()) => loadCaMaterial(files, at),
  };
}

/** Writes a PKI's files as a cacerts directory. */
export async function writeTestPki(
  dir: string,
  pki: TestPki,
  rootCertPem = pki.files.rootCertPem,
): Promise<void> {
  await writeCaDirectory(dir, { ...pki.files, rootCertPem });
}

/** Re-encodes a PKCS#8 key PEM in the legacy format for its type (PKCS#1 or SEC1). */
export function legacyKeyPem(pkcs8Pem: string): string {
  const key = createPrivateKey(pkcs8Pem);
  return key
    .export({ type: key.asymmetricKeyType === 'rsa' ? 'pkcs1' : 'sec1', format: 'pem' })
    .toString();
}

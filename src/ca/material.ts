/**
 * CA material in Istio's `cacerts` layout (ISTIO-CONTRACT.md §5.1): the signing certificate and
 * key, the chain above it, and the trust bundle. Everything is verified when loaded, so a bad
 * bundle is refused before it can sign anything: the key matches the certificate, the certificate
 * is a CA, and it chains through `cert-chain.pem` to a root in `root-cert.pem`.
 *
 * @module
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseCertificatesPem, type ParsedCertificate } from '../asn1/index.js';
import { KeyFilePermissionError, readPrivateKeyFile } from '../util/index.js';
import { NotYetValidError, buildCertificationPath, describe } from './chain.js';
import { createTrustBundle, type TrustBundle } from './trust-bundle.js';

/** File names of the `cacerts` layout, as istiod reads them (`security/pkg/pki/ca/ca.go`). */
export const CACERTS_FILES = {
  cert: 'ca-cert.pem',
  key: 'ca-key.pem',
  chain: 'cert-chain.pem',
  roots: 'root-cert.pem',
} as const;

/** The PEM texts of one bundle, before verification. */
export interface CaMaterialSource {
  readonly caCertPem: string;
  readonly caKeyPem: string;
  /** `cert-chain.pem`; may be absent or empty when the signing certificate is issued by a root. */
  readonly certChainPem: string | undefined;
  readonly rootCertPem: string;
}

/** Verified CA material; immutable, swapped whole on rotation. */
export interface CaMaterial {
  readonly signingCert: ParsedCertificate;
  readonly signingKey: KeyObject;
  /**
   * The certificates a client needs between a leaf and the anchor, in issuer order, starting with
   * the signing certificate. Empty when the signing certificate is itself a root.
   */
  readonly intermediates: readonly ParsedCertificate[];
  readonly trustBundle: TrustBundle;
  /** The root of the bundle the signing certificate chains to. */
  readonly anchor: ParsedCertificate;
  /** The earliest notAfter of the signing path and its anchor: no leaf may outlive it. */
  readonly notAfter: Date;
}

/** Raised when CA material is incomplete or inconsistent; the message says what to fix. */
export class CaMaterialError extends Error {
  /** True when the same material may be accepted later (a certificate is not valid yet). */
  readonly retryLater: boolean;

  constructor(message: string, options?: ErrorOptions & { readonly retryLater?: boolean }) {
    super(message, options);
    this.name = 'CaMaterialError';
    this.retryLater = options?.retryLater ?? false;
  }
}

/**
 * Verifies a bundle and builds {@link CaMaterial}.
 *
 * @param at The time at which the signing path must be valid.
 * @throws {@link CaMaterialError} naming the file and the rule broken.
 */
export function loadCaMaterial(source: CaMaterialSource, at: Date): CaMaterial {
  const [signingCert, ...extraInCaCert] = parse(source.caCertPem, CACERTS_FILES.cert);
  if (signingCert === undefined) throw new CaMaterialError(`${CACERTS_FILES.cert}: empty`);
  const chain = [
    ...extraInCaCert,
    ...(source.certChainPem?.trim() ? parse(source.certChainPem, CACERTS_FILES.chain) : []),
  ];
  const roots = parse(source.rootCertPem, CACERTS_FILES.roots);
  for (const root of roots) {
    if (!root.isCa) {
      throw new CaMaterialError(`${CACERTS_FILES.roots}: "${describe(root)}" is not a CA`);
    }
  }

  let signingKey: KeyObject;
  try {
    // Node reads PKCS#1 ("RSA PRIVATE KEY"), SEC1 ("EC PRIVATE KEY") and PKCS#8 ("PRIVATE KEY").
    signingKey = createPrivateKey(source.caKeyPem);
  } catch (error) {
    throw new CaMaterialError(
      `${CACERTS_FILES.key}: not a readable unencrypted PKCS#1, SEC1 or PKCS#8 private key`,
      { cause: error },
    );
  }
  checkKeyMatches(signingKey, signingCert);
  if (!signingCert.isCa) {
    throw new CaMaterialError(
      `${CACERTS_FILES.cert}: "${describe(signingCert)}" is not a CA (basicConstraints CA:TRUE is required)`,
    );
  }
  if (signingCert.canSignCertificates === false) {
    throw new CaMaterialError(`${CACERTS_FILES.cert}: keyUsage does not include keyCertSign`);
  }

  let path;
  try {
    path = buildCertificationPath(signingCert, chain, roots, at);
  } catch (error) {
    throw new CaMaterialError(
      `${CACERTS_FILES.cert} does not chain to a root in ${CACERTS_FILES.roots}: ${(error as Error).message}`,
      { cause: error, retryLater: error instanceof NotYetValidError },
    );
  }
  const notAfter = [...path.path, path.anchor].reduce(
    (earliest, cert) => (cert.notAfter < earliest ? cert.notAfter : earliest),
    signingCert.notAfter,
  );
  return {
    signingCert,
    signingKey,
    intermediates: path.path,
    trustBundle: createTrustBundle(roots),
    anchor: path.anchor,
    notAfter,
  };
}

/**
 * Reads a `cacerts` directory (the Secret mounted as files, or `--ca-dir`) and verifies it.
 *
 * @throws {@link CaMaterialError} when a required file is missing or the bundle is invalid.
 */
export async function loadCaDirectory(dir: string, at: Date): Promise<CaMaterial> {
  return loadCaMaterial(await readCaDirectory(dir), at);
}

/**
 * Reads the PEM texts of a `cacerts` directory, without verifying them.
 *
 * @throws {@link CaMaterialError} when a required file is missing or unreadable, or when
 * `ca-key.pem` is readable by other users.
 */
export async function readCaDirectory(dir: string): Promise<CaMaterialSource> {
  const read = async (name: string, required: boolean): Promise<string | undefined> => {
    const path = join(dir, name);
    try {
      // The key is refused when others could read it (util/files.ts says which modes pass).
      return name === CACERTS_FILES.key
        ? await readPrivateKeyFile(path)
        : await readFile(path, 'utf8');
    } catch (error) {
      if (!required && (error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      if (error instanceof KeyFilePermissionError) {
        throw new CaMaterialError(error.message, { cause: error });
      }
      throw new CaMaterialError(`cannot read ${path}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  };
  const [caCertPem = '', caKeyPem = '', certChainPem, rootCertPem = ''] = await Promise.all([
    read(CACERTS_FILES.cert, true),
    read(CACERTS_FILES.key, true),
    read(CACERTS_FILES.chain, false),
    read(CACERTS_FILES.roots, true),
  ]);
  return { caCertPem, caKeyPem, certChainPem, rootCertPem };
}

function parse(pem: string, file: string): ParsedCertificate[] {
  try {
    return parseCertificatesPem(pem, file);
  } catch (error) {
    throw new CaMaterialError((error as Error).message, { cause: error });
  }
}

function checkKeyMatches(key: KeyObject, cert: ParsedCertificate): void {
  const fromKey = createPublicKey(key).export({ type: 'spki', format: 'der' });
  const fromCert = cert.x509.publicKey.export({ type: 'spki', format: 'der' });
  if (!fromKey.equals(fromCert)) {
    throw new CaMaterialError(
      `${CACERTS_FILES.key} does not match the public key of ${CACERTS_FILES.cert}`,
    );
  }
  const type = key.asymmetricKeyType;
  if (type !== 'rsa' && type !== 'ec') {
    throw new CaMaterialError(
      `${CACERTS_FILES.key}: ${type ?? 'unknown'} keys are not supported for signing; use RSA or ECDSA`,
    );
  }
}

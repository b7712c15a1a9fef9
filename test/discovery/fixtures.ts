/**
 * Certificates for discovery tests, built in code: CAs and leaves with any issuer, validity, key
 * type and signature hash (SHA-1 by re-signing with pkijs, which the production builders refuse
 * to do), and the PEM texts of Secrets holding them.
 */
import { generateKeyPairSync, webcrypto, type KeyObject } from 'node:crypto';
import * as pkijs from 'pkijs';
import { createCryptoEngine, parseCertificateDer } from '../../src/asn1/index.js';
import { createCaCertificate, type CaKeyPair, type ParsedCertificate } from '../../src/ca/index.js';

export const HOUR = 3600_000;
export const DAY = 24 * HOUR;

/** A certificate with its key pair. */
export interface Issued {
  readonly cert: ParsedCertificate;
  readonly key: CaKeyPair;
}

/** Key types for fixtures. */
export type FixtureKey = 'ec-p256' | 'rsa-2048' | 'rsa-1024';

/** What {@link makeCert} builds. */
export interface CertSpec {
  readonly cn: string;
  /** A CA (default) or a leaf. */
  readonly ca?: boolean;
  /** Self-signed when absent. */
  readonly issuer?: Issued;
  readonly key?: FixtureKey;
  /** Relative to `now`: default valid from an hour ago for a year. */
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  /** Re-sign with SHA-1 (RSA issuers only). */
  readonly sha1?: boolean;
  readonly now?: Date;
}

function keyPair(type: FixtureKey): CaKeyPair {
  if (type === 'ec-p256') return generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return generateKeyPairSync('rsa', { modulusLength: type === 'rsa-1024' ? 1024 : 2048 });
}

/** Builds one certificate. */
export async function makeCert(spec: CertSpec): Promise<Issued> {
  const now = spec.now ?? new Date();
  const key = keyPair(spec.key ?? 'ec-p256');
  const cert = await createCaCertificate({
    commonName: spec.cn,
    organization: 'meshca discovery tests',
    subjectKey: key,
    notBefore: spec.notBefore ?? new Date(now.getTime() - HOUR),
    notAfter: spec.notAfter ?? new Date(now.getTime() + 365 * DAY),
    isCa: spec.ca ?? true,
    ...(spec.issuer === undefined
      ? {}
      : { issuer: { cert: spec.issuer.cert, privateKey: spec.issuer.key.privateKey } }),
  });
  if (spec.sha1 !== true) return { cert, key };
  const signer = spec.issuer?.key.privateKey ?? key.privateKey;
  return { cert: await resignSha1(cert.der, signer), key };
}

/** Signs `der` again with `rsaKey` and sha1WithRSAEncryption. */
async function resignSha1(der: Buffer, rsaKey: KeyObject): Promise<ParsedCertificate> {
  const cert = pkijs.Certificate.fromBER(der);
  const privateKey = await webcrypto.subtle.importKey(
    'pkcs8',
    rsaKey.export({ type: 'pkcs8', format: 'der' }),
    { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-1' },
    false,
    ['sign'],
  );
  await cert.sign(privateKey, 'SHA-1', createCryptoEngine());
  return parseCertificateDer(Buffer.from(cert.toSchema(true).toBER(false)));
}

/** PEM text of several certificates. */
export function pem(...certs: readonly Issued[]): string {
  return certs.map((issued) => issued.cert.pem).join('');
}

/** PEM of a private key (for planting Secrets; discovery must never read it). */
export function keyPem(issued: Issued): string {
  return issued.key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

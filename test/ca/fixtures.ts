/**
 * Helpers shared by the tests of src/ca/: odd CA certificates, re-signed variants of real
 * certificates (for refusal paths the builders cannot produce), raw DER views, and openssl.
 */
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, webcrypto, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import {
  createCryptoEngine,
  parseCertificateDer,
  type ParsedCertificate,
} from '../../src/asn1/index.js';
import { createCaCertificate, type CaKeyPair } from '../../src/ca/index.js';
import type { TestCa } from '../support/pki.js';

export const SECOND = 1000;
export const HOUR = 3600 * SECOND;
export const DAY = 24 * HOUR;

/** `at` truncated to whole seconds, as X.509 times are. */
export function wholeSeconds(at: Date | number): Date {
  const ms = typeof at === 'number' ? at : at.getTime();
  return new Date(Math.floor(ms / SECOND) * SECOND);
}

/** Options of {@link makeCa}. */
export interface MakeCaOptions {
  readonly issuer?: TestCa;
  readonly key: CaKeyPair;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly pathLength?: number;
  readonly isCa?: boolean;
  readonly organization?: string;
}

/** A CA (or, with `isCa: false`, a non-CA) certificate with its key. */
export async function makeCa(commonName: string, options: MakeCaOptions): Promise<TestCa> {
  const cert = await createCaCertificate({
    commonName,
    subjectKey: options.key,
    notBefore: options.notBefore,
    notAfter: options.notAfter,
    ...(options.organization === undefined ? {} : { organization: options.organization }),
    ...(options.issuer === undefined
      ? {}
      : { issuer: { cert: options.issuer.cert, privateKey: options.issuer.key.privateKey } }),
    ...(options.pathLength === undefined ? {} : { pathLength: options.pathLength }),
    ...(options.isCa === undefined ? {} : { isCa: options.isCa }),
  });
  return { cert, key: options.key };
}

/**
 * Parses `der` with pkijs, lets `edit` change it, and signs it again with `issuerKey` (an EC or
 * RSA private key). The issuer name and AKI are left as they were.
 */
export async function resign(
  der: Buffer,
  issuerKey: KeyObject,
  edit: (cert: pkijs.Certificate) => void,
): Promise<ParsedCertificate> {
  const engine = createCryptoEngine();
  const cert = pkijs.Certificate.fromBER(der);
  edit(cert);
  const curve = issuerKey.asymmetricKeyDetails?.namedCurve;
  const hash = curve === 'secp384r1' ? 'SHA-384' : 'SHA-256';
  const algorithm =
    issuerKey.asymmetricKeyType === 'rsa'
      ? { name: 'RSASSA-PKCS1-v1_5', hash }
      : { name: 'ECDSA', namedCurve: curve === 'secp384r1' ? 'P-384' : 'P-256' };
  const privateKey = await webcrypto.subtle.importKey(
    'pkcs8',
    issuerKey.export({ type: 'pkcs8', format: 'der' }),
    algorithm,
    false,
    ['sign'],
  );
  await cert.sign(privateKey, hash, engine);
  return parseCertificateDer(Buffer.from(cert.toSchema(true).toBER(false)));
}

/** The extension of `cert` with `oid`, or undefined. */
export function extensionOf(cert: pkijs.Certificate, oid: string): pkijs.Extension | undefined {
  return cert.extensions?.find((extension) => extension.extnID === oid);
}

/** The raw DER of each element of a certificate's TBSCertificate, in order (RFC 5280 §4.1). */
export interface TbsElements {
  readonly version: Buffer;
  readonly serial: Buffer;
  readonly signature: Buffer;
  readonly issuer: Buffer;
  readonly validity: Buffer;
  readonly subject: Buffer;
  readonly subjectPublicKeyInfo: Buffer;
  readonly extensions: Buffer;
  /** How many elements the TBSCertificate has. */
  readonly count: number;
}

/** Splits a certificate into the raw bytes of its TBSCertificate fields. */
export function tbsElements(der: Uint8Array): TbsElements {
  const parsed = asn1js.fromBER(der);
  if (parsed.offset === -1) throw new Error('not DER');
  const certificate = parsed.result as asn1js.Sequence;
  const tbs = certificate.valueBlock.value[0] as asn1js.Sequence;
  const raw = tbs.valueBlock.value.map((element) => Buffer.from(element.valueBeforeDecodeView));
  const at = (index: number): Buffer => raw[index] ?? Buffer.alloc(0);
  return {
    version: at(0),
    serial: at(1),
    signature: at(2),
    issuer: at(3),
    validity: at(4),
    subject: at(5),
    subjectPublicKeyInfo: at(6),
    extensions: at(7),
    count: raw.length,
  };
}

/** The outer signatureAlgorithm of a certificate, as raw DER. */
export function outerSignatureAlgorithm(der: Uint8Array): Buffer {
  const certificate = asn1js.fromBER(der).result as asn1js.Sequence;
  return Buffer.from(certificate.valueBlock.value[1]!.valueBeforeDecodeView);
}

/** A workload key pair and its SubjectPublicKeyInfo DER. */
export interface WorkloadKeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly spkiDer: Buffer;
}

/** Generates a workload key (what istio-agent or ztunnel would put into a CSR). */
export function workloadKey(type: 'ec-p256' | 'ec-p384' | 'rsa-2048' = 'ec-p256'): WorkloadKeyPair {
  const pair =
    type === 'rsa-2048'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : generateKeyPairSync('ec', { namedCurve: type === 'ec-p384' ? 'P-384' : 'P-256' });
  return { ...pair, spkiDer: pair.publicKey.export({ type: 'spki', format: 'der' }) };
}

/** The result of one openssl run. */
export interface OpensslResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `openssl` with `args`. */
export function openssl(args: readonly string[]): OpensslResult {
  const result = spawnSync('openssl', args, { encoding: 'utf8' });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** `openssl x509 -noout -text` of a PEM file, failing the test when openssl fails. */
export function opensslText(dir: string, name: string, pem: string): string {
  const path = writePem(dir, name, pem);
  const result = openssl(['x509', '-noout', '-text', '-in', path]);
  if (result.status !== 0) throw new Error(`openssl x509 failed: ${result.stderr}`);
  return result.stdout;
}

/** Writes `pem` into `dir/name` and returns the path. */
export function writePem(dir: string, name: string, pem: string): string {
  const path = join(dir, name);
  writeFileSync(path, pem);
  return path;
}

/**
 * The lines that follow an extension heading in `openssl x509 -text` output, trimmed, e.g.
 * `extensionText(text, 'X509v3 Key Usage')` → `{ critical: true, value: 'Digital Signature, ...' }`.
 */
export function extensionText(
  text: string,
  heading: string,
): { readonly critical: boolean; readonly value: string } | undefined {
  const lines = text.split('\n');
  const index = lines.findIndex((line) => line.trim().startsWith(`${heading}:`));
  if (index === -1) return undefined;
  const header = lines[index]!.trim();
  return { critical: header.endsWith('critical'), value: (lines[index + 1] ?? '').trim() };
}

/** `AB:CD:...` as openssl prints bytes. */
export function colonHex(bytes: Uint8Array): string {
  return [...bytes].map((byte) => byte.toString(16).padStart(2, '0').toUpperCase()).join(':');
}

/**
 * Building PKCS#10 requests in Istio's shapes, for `meshca request`, the benchmark and tests:
 * istio-agent's (subject `O=`, one critical URI SAN; RSA-2048 or ECDSA) and ztunnel's (empty
 * subject, one critical URI SAN, ECDSA P-256). The optional fields exist so that tests can build
 * every kind of non-conforming request the validator must refuse.
 *
 * @module
 */
import { isIPv4 } from 'node:net';
import { webcrypto } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import {
  GENERAL_NAME_DNS,
  GENERAL_NAME_EMAIL,
  GENERAL_NAME_IP,
  GENERAL_NAME_URI,
  OID_AT_COMMON_NAME,
  OID_AT_ORGANIZATION,
  OID_PKCS9_EXTENSION_REQUEST,
  OID_SUBJECT_ALT_NAME,
  PEM_CERTIFICATE_REQUEST,
  buildName,
  createCryptoEngine,
  encodePem,
} from '../asn1/index.js';

/** Key types a workload may generate. */
export type WorkloadKeyType = 'rsa' | 'ec' | 'ec-p384';

/** Istio's two CSR shapes (ISTIO-CONTRACT.md §2.5 and §3). */
export type CsrShape = 'istio-agent' | 'ztunnel';

/** An extension to add verbatim. */
export interface RawExtension {
  readonly oid: string;
  readonly critical: boolean;
  readonly value: Uint8Array;
}

/** What goes into the request; everything beyond `uris` is for negative tests. */
export interface CsrSpec {
  readonly shape?: CsrShape;
  readonly uris?: readonly string[];
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
  readonly emails?: readonly string[];
  readonly commonName?: string;
  /** Replaces the shape's subject with these attributes (type OID → value). */
  readonly subject?: readonly { readonly type: string; readonly value: string }[];
  readonly sanCritical?: boolean;
  readonly extraExtensions?: readonly RawExtension[];
  /** Additional PKCS#9 attributes (type OID → one UTF8String value). */
  readonly extraAttributes?: readonly { readonly type: string; readonly value: string }[];
  readonly hash?: 'SHA-1' | 'SHA-256' | 'SHA-384' | 'SHA-512';
  readonly version?: number;
}

/** A generated key pair with its private key in PKCS#8 PEM (what the workload keeps). */
export interface WorkloadKey {
  readonly keys: webcrypto.CryptoKeyPair;
  readonly privateKeyPem: string;
}

const subtle = webcrypto.subtle;

/** Generates a key as istio-agent or ztunnel would. */
export async function generateWorkloadKey(
  type: WorkloadKeyType,
  rsaBits = 2048,
): Promise<WorkloadKey> {
  const algorithm =
    type === 'rsa'
      ? {
          name: 'RSASSA-PKCS1-v1_5',
          modulusLength: rsaBits,
          publicExponent: new Uint8Array([1, 0, 1]),
          hash: 'SHA-256',
        }
      : { name: 'ECDSA', namedCurve: type === 'ec' ? 'P-256' : 'P-384' };
  const keys = await subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const pkcs8 = await subtle.exportKey('pkcs8', keys.privateKey);
  return { keys, privateKeyPem: encodePem('PRIVATE KEY', new Uint8Array(pkcs8)) };
}

/** Signs a PKCS#10 request for `keys` and returns it as PEM. */
export async function buildCsrPem(keys: webcrypto.CryptoKeyPair, spec: CsrSpec): Promise<string> {
  const engine = createCryptoEngine();
  const csr = new pkijs.CertificationRequest();
  csr.version = spec.version ?? 0;

  const subject =
    spec.subject ?? (spec.shape === 'ztunnel' ? [] : [{ type: OID_AT_ORGANIZATION, value: '' }]);
  csr.subject = buildName([
    ...subject,
    ...(spec.commonName === undefined
      ? []
      : [{ type: OID_AT_COMMON_NAME, value: spec.commonName }]),
  ]);
  await csr.subjectPublicKeyInfo.importKey(keys.publicKey, engine);

  const names = [
    ...(spec.uris ?? []).map((value) => new pkijs.GeneralName({ type: GENERAL_NAME_URI, value })),
    ...(spec.dnsNames ?? []).map(
      (value) => new pkijs.GeneralName({ type: GENERAL_NAME_DNS, value }),
    ),
    ...(spec.emails ?? []).map(
      (value) => new pkijs.GeneralName({ type: GENERAL_NAME_EMAIL, value }),
    ),
    ...(spec.ipAddresses ?? []).map(
      (value) =>
        new pkijs.GeneralName({
          type: GENERAL_NAME_IP,
          value: new asn1js.OctetString({ valueHex: ipBytes(value) }),
        }),
    ),
  ];
  const extensions: pkijs.Extension[] = [];
  if (names.length > 0) {
    extensions.push(
      new pkijs.Extension({
        extnID: OID_SUBJECT_ALT_NAME,
        critical: spec.sanCritical ?? true,
        extnValue: new pkijs.GeneralNames({ names }).toSchema().toBER(false),
      }),
    );
  }
  for (const extra of spec.extraExtensions ?? []) {
    extensions.push(
      new pkijs.Extension({
        extnID: extra.oid,
        critical: extra.critical,
        extnValue: toArrayBuffer(extra.value),
      }),
    );
  }
  const attributes: pkijs.Attribute[] = [];
  if (extensions.length > 0) {
    attributes.push(
      new pkijs.Attribute({
        type: OID_PKCS9_EXTENSION_REQUEST,
        values: [new pkijs.Extensions({ extensions }).toSchema()],
      }),
    );
  }
  for (const { type, value } of spec.extraAttributes ?? []) {
    attributes.push(new pkijs.Attribute({ type, values: [new asn1js.Utf8String({ value })] }));
  }
  if (attributes.length > 0) csr.attributes = attributes;

  const hash = spec.hash ?? defaultHash(keys.publicKey);
  await csr.sign(await keyForHash(keys.privateKey, hash), hash, engine);
  return encodePem(PEM_CERTIFICATE_REQUEST, new Uint8Array(csr.toSchema().toBER(false)));
}

/** Go's default: SHA-384 for P-384, SHA-256 otherwise (contract §2.5). */
function defaultHash(key: webcrypto.CryptoKey): 'SHA-256' | 'SHA-384' {
  const curve = (key.algorithm as webcrypto.EcKeyAlgorithm).namedCurve as string | undefined;
  return curve === 'P-384' ? 'SHA-384' : 'SHA-256';
}

/**
 * WebCrypto binds an RSA key to one hash, and pkijs signs with the key's hash whatever hash it is
 * asked for; re-import the (extractable) key for the requested one so that `spec.hash` holds.
 */
async function keyForHash(key: webcrypto.CryptoKey, hash: string): Promise<webcrypto.CryptoKey> {
  const algorithm = key.algorithm as webcrypto.RsaHashedKeyAlgorithm;
  if (algorithm.name !== 'RSASSA-PKCS1-v1_5' || algorithm.hash.name === hash) return key;
  const pkcs8 = await subtle.exportKey('pkcs8', key);
  return subtle.importKey('pkcs8', pkcs8, { name: algorithm.name, hash }, false, ['sign']);
}

function ipBytes(ip: string): ArrayBuffer {
  if (!isIPv4(ip)) throw new TypeError(`only IPv4 literals are supported here, got ${ip}`);
  return toArrayBuffer(new Uint8Array(ip.split('.').map(Number)));
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return copy.buffer;
}

/**
 * Building CA certificates (roots and intermediates) with pkijs: the development PKI that
 * `meshca serve` creates when nothing is configured, and test fixtures. Never on the hot path.
 *
 * @module
 */
import { generateKeyPairSync, randomBytes, webcrypto, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import {
  OID_AT_COMMON_NAME,
  OID_AT_ORGANIZATION,
  OID_AUTHORITY_KEY_IDENTIFIER,
  OID_BASIC_CONSTRAINTS,
  OID_KEY_USAGE,
  OID_SUBJECT_KEY_IDENTIFIER,
  buildName,
  createCryptoEngine,
  parseCertificateDer,
  type ParsedCertificate,
} from '../asn1/index.js';

/** Key types for CA certificates. */
export type CaKeyType = 'ec-p256' | 'ec-p384' | 'rsa-2048' | 'rsa-3072' | 'rsa-4096';

/** A CA key pair as Node key objects. */
export interface CaKeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

/** Generates a CA key. */
export function generateCaKey(type: CaKeyType): CaKeyPair {
  if (type.startsWith('rsa-')) {
    return generateKeyPairSync('rsa', { modulusLength: Number(type.slice(4)) });
  }
  return generateKeyPairSync('ec', { namedCurve: type === 'ec-p384' ? 'P-384' : 'P-256' });
}

/** What a CA certificate says. */
export interface CaCertificateSpec {
  readonly commonName: string;
  readonly organization?: string;
  readonly subjectKey: CaKeyPair;
  /** Absent for a self-signed root. */
  readonly issuer?: { readonly cert: ParsedCertificate; readonly privateKey: KeyObject };
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** RFC 5280 §4.2.1.9 pathLenConstraint; absent means unconstrained. */
  readonly pathLength?: number;
  /** `false` builds a non-CA certificate (test fixtures for refusal paths). */
  readonly isCa?: boolean;
}

// KeyUsage bits (RFC 5280 §4.2.1.3): digitalSignature(0), keyCertSign(5), cRLSign(6).
const CA_KEY_USAGE = 0x80 | 0x04 | 0x02;
const LEAF_KEY_USAGE = 0x80 | 0x20;

/** Signs a CA certificate as described. */
export async function createCaCertificate(spec: CaCertificateSpec): Promise<ParsedCertificate> {
  const engine = createCryptoEngine();
  const cert = new pkijs.Certificate();
  cert.version = 2;
  const serial = randomBytes(16);
  serial[0] = (serial[0] ?? 0) & 0x7f || 0x01;
  cert.serialNumber = new asn1js.Integer({ valueHex: serial });
  cert.subject = buildName([
    ...(spec.organization === undefined
      ? []
      : [{ type: OID_AT_ORGANIZATION, value: spec.organization }]),
    { type: OID_AT_COMMON_NAME, value: spec.commonName },
  ]);
  const issuerCert = spec.issuer
    ? new pkijs.Certificate({ schema: asn1js.fromBER(spec.issuer.cert.der).result })
    : undefined;
  cert.issuer = issuerCert ? issuerCert.subject : cert.subject;
  cert.notBefore.value = spec.notBefore;
  cert.notAfter.value = spec.notAfter;
  await cert.subjectPublicKeyInfo.importKey(
    await toCryptoKey(spec.subjectKey.publicKey, 'spki'),
    engine,
  );

  const isCa = spec.isCa ?? true;
  const subjectKeyId = new Uint8Array(
    await engine.digest(
      { name: 'SHA-1' },
      cert.subjectPublicKeyInfo.subjectPublicKey.valueBlock.valueHexView,
    ),
  );
  const extensions = [
    new pkijs.Extension({
      extnID: OID_BASIC_CONSTRAINTS,
      critical: true,
      extnValue: new pkijs.BasicConstraints(
        isCa && spec.pathLength !== undefined
          ? { cA: true, pathLenConstraint: spec.pathLength }
          : { cA: isCa },
      )
        .toSchema()
        .toBER(false),
    }),
    new pkijs.Extension({
      extnID: OID_KEY_USAGE,
      critical: true,
      extnValue: new asn1js.BitString({
        valueHex: new Uint8Array([isCa ? CA_KEY_USAGE : LEAF_KEY_USAGE]),
        unusedBits: 1,
      }).toBER(false),
    }),
    new pkijs.Extension({
      extnID: OID_SUBJECT_KEY_IDENTIFIER,
      critical: false,
      extnValue: new asn1js.OctetString({ valueHex: subjectKeyId }).toBER(false),
    }),
  ];
  if (spec.issuer) {
    extensions.push(
      new pkijs.Extension({
        extnID: OID_AUTHORITY_KEY_IDENTIFIER,
        critical: false,
        extnValue: new pkijs.AuthorityKeyIdentifier({
          keyIdentifier: new asn1js.OctetString({ valueHex: spec.issuer.cert.keyIdentifier }),
        })
          .toSchema()
          .toBER(false),
      }),
    );
  }
  cert.extensions = extensions;

  const signingKey = spec.issuer?.privateKey ?? spec.subjectKey.privateKey;
  await cert.sign(await toCryptoKey(signingKey, 'pkcs8'), hashFor(signingKey), engine);
  return parseCertificateDer(Buffer.from(cert.toSchema(true).toBER(false)));
}

/** Go's defaults, which istiod follows: SHA-384 for P-384, SHA-256 otherwise. */
function hashFor(key: KeyObject): string {
  return key.asymmetricKeyDetails?.namedCurve === 'secp384r1' ? 'SHA-384' : 'SHA-256';
}

async function toCryptoKey(key: KeyObject, format: 'spki' | 'pkcs8'): Promise<webcrypto.CryptoKey> {
  const der = key.export({ type: format, format: 'der' });
  const usage: webcrypto.KeyUsage[] = format === 'pkcs8' ? ['sign'] : ['verify'];
  const algorithm =
    key.asymmetricKeyType === 'rsa'
      ? { name: 'RSASSA-PKCS1-v1_5', hash: hashFor(key) }
      : {
          name: 'ECDSA',
          namedCurve: key.asymmetricKeyDetails?.namedCurve === 'secp384r1' ? 'P-384' : 'P-256',
        };
  return webcrypto.subtle.importKey(format, der, algorithm, true, usage);
}

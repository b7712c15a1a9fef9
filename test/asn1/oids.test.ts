/**
 * The named OIDs and tags are checked against an independent source, openssl's object table and
 * encoder, so that a mistyped arc cannot hide behind a test that repeats the constant.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as asn1js from 'asn1js';
import {
  EXTENSION_LABELS,
  GENERAL_NAME_DNS,
  GENERAL_NAME_EMAIL,
  GENERAL_NAME_IP,
  GENERAL_NAME_LABELS,
  GENERAL_NAME_OTHER_NAME,
  GENERAL_NAME_REGISTERED_ID,
  GENERAL_NAME_URI,
  KEY_USAGE_DIGITAL_SIGNATURE,
  KEY_USAGE_KEY_CERT_SIGN,
  KEY_USAGE_KEY_ENCIPHERMENT,
  OID_AT_COMMON_NAME,
  OID_AT_ORGANIZATION,
  OID_AUTHORITY_KEY_IDENTIFIER,
  OID_BASIC_CONSTRAINTS,
  OID_CERTIFICATE_POLICIES,
  OID_CRL_DISTRIBUTION_POINTS,
  OID_CURVE_P256,
  OID_CURVE_P384,
  OID_DSA,
  OID_DSA_WITH_SHA1,
  OID_DSA_WITH_SHA256,
  OID_ED25519,
  OID_ED448,
  OID_ECDSA_WITH_SHA1,
  OID_ECDSA_WITH_SHA224,
  OID_MD2_WITH_RSA,
  OID_MD4_WITH_RSA,
  OID_MD5_WITH_RSA,
  OID_RSASSA_PSS,
  OID_SHA1,
  OID_SHA1_WITH_RSA,
  OID_SHA224,
  OID_SHA224_WITH_RSA,
  OID_SHA256,
  OID_SHA384,
  OID_SHA512,
  OID_EC_PUBLIC_KEY,
  OID_ECDSA_WITH_SHA256,
  OID_ECDSA_WITH_SHA384,
  OID_ECDSA_WITH_SHA512,
  OID_EXT_KEY_USAGE,
  OID_KEY_USAGE,
  OID_KP_CLIENT_AUTH,
  OID_KP_SERVER_AUTH,
  OID_NAME_CONSTRAINTS,
  OID_PKCS9_EXTENSION_REQUEST,
  OID_RSA_ENCRYPTION,
  OID_SHA256_WITH_RSA,
  OID_SHA384_WITH_RSA,
  OID_SHA512_WITH_RSA,
  OID_SUBJECT_ALT_NAME,
  OID_SUBJECT_KEY_IDENTIFIER,
  decodePem,
} from '../../src/asn1/index.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';

afterAll(removeTempDirs);

const openssl = (args: readonly string[]): string =>
  execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** openssl's long name for each of our OIDs. */
const NAMED: readonly (readonly [string, string])[] = [
  [OID_SUBJECT_KEY_IDENTIFIER, 'X509v3 Subject Key Identifier'],
  [OID_KEY_USAGE, 'X509v3 Key Usage'],
  [OID_SUBJECT_ALT_NAME, 'X509v3 Subject Alternative Name'],
  [OID_BASIC_CONSTRAINTS, 'X509v3 Basic Constraints'],
  [OID_NAME_CONSTRAINTS, 'X509v3 Name Constraints'],
  [OID_CRL_DISTRIBUTION_POINTS, 'X509v3 CRL Distribution Points'],
  [OID_CERTIFICATE_POLICIES, 'X509v3 Certificate Policies'],
  [OID_AUTHORITY_KEY_IDENTIFIER, 'X509v3 Authority Key Identifier'],
  [OID_EXT_KEY_USAGE, 'X509v3 Extended Key Usage'],
  [OID_KP_SERVER_AUTH, 'TLS Web Server Authentication'],
  [OID_KP_CLIENT_AUTH, 'TLS Web Client Authentication'],
  [OID_PKCS9_EXTENSION_REQUEST, 'Extension Request'],
  [OID_AT_COMMON_NAME, 'commonName'],
  [OID_AT_ORGANIZATION, 'organizationName'],
  [OID_RSA_ENCRYPTION, 'rsaEncryption'],
  [OID_EC_PUBLIC_KEY, 'id-ecPublicKey'],
  [OID_CURVE_P256, 'prime256v1'],
  [OID_CURVE_P384, 'secp384r1'],
  [OID_SHA256_WITH_RSA, 'sha256WithRSAEncryption'],
  [OID_SHA384_WITH_RSA, 'sha384WithRSAEncryption'],
  [OID_SHA512_WITH_RSA, 'sha512WithRSAEncryption'],
  [OID_ECDSA_WITH_SHA256, 'ecdsa-with-SHA256'],
  [OID_ECDSA_WITH_SHA384, 'ecdsa-with-SHA384'],
  [OID_ECDSA_WITH_SHA512, 'ecdsa-with-SHA512'],
  [OID_DSA, 'dsaEncryption'],
  [OID_ED25519, 'ED25519'],
  [OID_ED448, 'ED448'],
  [OID_MD2_WITH_RSA, 'md2WithRSAEncryption'],
  [OID_MD4_WITH_RSA, 'md4WithRSAEncryption'],
  [OID_MD5_WITH_RSA, 'md5WithRSAEncryption'],
  [OID_SHA1_WITH_RSA, 'sha1WithRSAEncryption'],
  [OID_RSASSA_PSS, 'rsassaPss'],
  [OID_SHA224_WITH_RSA, 'sha224WithRSAEncryption'],
  [OID_ECDSA_WITH_SHA1, 'ecdsa-with-SHA1'],
  [OID_ECDSA_WITH_SHA224, 'ecdsa-with-SHA224'],
  [OID_DSA_WITH_SHA1, 'dsaWithSHA1'],
  [OID_DSA_WITH_SHA256, 'dsa_with_SHA256'],
  [OID_SHA1, 'sha1'],
  [OID_SHA224, 'sha224'],
  [OID_SHA256, 'sha256'],
  [OID_SHA384, 'sha384'],
  [OID_SHA512, 'sha512'],
];

describe('OIDs', () => {
  it('are what openssl calls them', () => {
    const config = join(tempDir('meshca-oids-'), 'oids.cnf');
    writeFileSync(
      config,
      `asn1 = SEQUENCE:oids\n[oids]\n${NAMED.map(([oid], i) => `o${i} = OID:${oid}`).join('\n')}\n`,
    );
    const names = openssl(['asn1parse', '-genconf', config])
      .split('\n')
      .filter((line) => line.includes('OBJECT'))
      .map((line) => line.replace(/^.*OBJECT\s*:/, '').trim());
    expect(names).toEqual(NAMED.map(([, name]) => name));
  });

  it('are all distinct', () => {
    expect(new Set(NAMED.map(([oid]) => oid)).size).toBe(NAMED.length);
  });

  it('label every extension meshca names', () => {
    expect(Object.keys(EXTENSION_LABELS).sort()).toEqual(
      [
        OID_SUBJECT_KEY_IDENTIFIER,
        OID_KEY_USAGE,
        OID_SUBJECT_ALT_NAME,
        OID_BASIC_CONSTRAINTS,
        OID_NAME_CONSTRAINTS,
        OID_CRL_DISTRIBUTION_POINTS,
        OID_CERTIFICATE_POLICIES,
        OID_AUTHORITY_KEY_IDENTIFIER,
        OID_EXT_KEY_USAGE,
      ].sort(),
    );
  });
});

describe('GeneralName tags and keyUsage bits', () => {
  let request: { sanTags: number[]; keyUsage: Uint8Array };

  beforeAll(() => {
    const dir = tempDir('meshca-oids-');
    const keyFile = join(dir, 'key.pem');
    writeFileSync(
      keyFile,
      openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']),
    );
    const pem = openssl([
      'req',
      '-new',
      '-key',
      keyFile,
      '-subj',
      '/',
      '-addext',
      'subjectAltName=otherName:1.2.3.4;UTF8:x,email:a@example.com,DNS:a.example,URI:spiffe://td/ns/a/sa/b,IP:10.0.0.1,RID:1.2.3.4',
      '-addext',
      'keyUsage=digitalSignature,keyEncipherment,keyCertSign',
    ]);
    // CertificationRequest > info > [0] attributes > extensionRequest > SET > Extensions.
    const csr = asn1js.fromBER(decodePem(pem)[0]!.der).result as asn1js.Sequence;
    const info = csr.valueBlock.value[0] as asn1js.Sequence;
    const attributes = info.valueBlock.value[3] as asn1js.Constructed;
    const extensionRequest = attributes.valueBlock.value[0] as asn1js.Sequence;
    const values = extensionRequest.valueBlock.value[1] as asn1js.Set;
    const extensions = (values.valueBlock.value[0] as asn1js.Sequence).valueBlock.value;
    const valueOf = (oid: string): asn1js.AsnType => {
      const extension = extensions.find(
        (e) =>
          ((e as asn1js.Sequence).valueBlock.value[0] as asn1js.ObjectIdentifier).getValue() ===
          oid,
      ) as asn1js.Sequence;
      const octets = extension.valueBlock.value.at(-1) as asn1js.OctetString;
      return asn1js.fromBER(octets.valueBlock.valueHexView).result;
    };
    request = {
      sanTags: (valueOf(OID_SUBJECT_ALT_NAME) as asn1js.Sequence).valueBlock.value.map(
        (name) => name.idBlock.tagNumber,
      ),
      keyUsage: (valueOf(OID_KEY_USAGE) as asn1js.BitString).valueBlock.valueHexView,
    };
  });

  it('match the tags openssl writes', () => {
    expect(request.sanTags).toEqual([
      GENERAL_NAME_OTHER_NAME,
      GENERAL_NAME_EMAIL,
      GENERAL_NAME_DNS,
      GENERAL_NAME_URI,
      GENERAL_NAME_IP,
      GENERAL_NAME_REGISTERED_ID,
    ]);
  });

  it('label every tag 0..8', () => {
    expect(Object.keys(GENERAL_NAME_LABELS).map(Number)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(GENERAL_NAME_LABELS[GENERAL_NAME_URI]).toBe('URI');
  });

  it('number keyUsage bits from the top bit, as openssl does', () => {
    const bit = (n: number): boolean =>
      (((request.keyUsage[n >> 3] ?? 0) >> (7 - (n & 7))) & 1) === 1;
    const set = [0, 1, 2, 3, 4, 5, 6, 7].filter(bit);
    expect(set).toEqual([
      KEY_USAGE_DIGITAL_SIGNATURE,
      KEY_USAGE_KEY_ENCIPHERMENT,
      KEY_USAGE_KEY_CERT_SIGN,
    ]);
  });
});

import { createHash } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import {
  OID_AT_COMMON_NAME,
  OID_AT_ORGANIZATION,
  OID_AUTHORITY_KEY_IDENTIFIER,
  OID_BASIC_CONSTRAINTS,
  OID_ECDSA_WITH_SHA256,
  OID_ECDSA_WITH_SHA384,
  OID_KEY_USAGE,
  OID_SHA256_WITH_RSA,
  OID_SUBJECT_KEY_IDENTIFIER,
  createCryptoEngine,
  type ParsedCertificate,
} from '../../src/asn1/index.js';
import {
  createCaCertificate,
  generateCaKey,
  type CaKeyPair,
  type CaKeyType,
} from '../../src/ca/index.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';
import {
  DAY,
  extensionOf,
  extensionText,
  openssl,
  opensslText,
  wholeSeconds,
  writePem,
} from './fixtures.js';

const NOW = wholeSeconds(Date.now());
const NOT_BEFORE = new Date(NOW.getTime() - 3600_000);
const NOT_AFTER = new Date(NOW.getTime() + 30 * DAY);

afterAll(removeTempDirs);

/** The RDNs of a Name as [[type, value], ...] per RDN, straight from the DER. */
function rdns(nameDer: Buffer): string[][][] {
  const name = asn1js.fromBER(nameDer).result as asn1js.Sequence;
  return name.valueBlock.value.map((rdn) =>
    (rdn as asn1js.Set).valueBlock.value.map((attribute) => {
      const [type, value] = (attribute as asn1js.Sequence).valueBlock.value;
      return [
        (type as asn1js.ObjectIdentifier).valueBlock.toString(),
        (value as asn1js.Utf8String).valueBlock.value,
      ];
    }),
  );
}

/** keyUsage bits, RFC 5280 §4.2.1.3 numbering. */
function keyUsageBits(cert: pkijs.Certificate): number[] {
  const bits = extensionOf(cert, OID_KEY_USAGE)!.parsedValue as asn1js.BitString;
  const bytes = bits.valueBlock.valueHexView;
  const set: number[] = [];
  for (let bit = 0; bit < bytes.length * 8; bit++) {
    if ((bytes[bit >> 3]! & (0x80 >> (bit & 7))) !== 0) set.push(bit);
  }
  return set;
}

describe('generateCaKey', () => {
  it.each([
    ['ec-p256', 'ec', { namedCurve: 'prime256v1' }],
    ['ec-p384', 'ec', { namedCurve: 'secp384r1' }],
    ['rsa-2048', 'rsa', { modulusLength: 2048 }],
  ] as const)('generates %s', (type, keyType, details) => {
    const { privateKey, publicKey } = generateCaKey(type);
    expect(privateKey.type).toBe('private');
    expect(publicKey.type).toBe('public');
    expect(privateKey.asymmetricKeyType).toBe(keyType);
    expect(privateKey.asymmetricKeyDetails).toMatchObject(details);
  });
});

describe('createCaCertificate', () => {
  let rootKey: CaKeyPair;
  let root: ParsedCertificate;
  let rootPkijs: pkijs.Certificate;
  let intermediate: ParsedCertificate;
  let intermediatePkijs: pkijs.Certificate;

  beforeAll(async () => {
    rootKey = generateCaKey('ec-p256');
    root = await createCaCertificate({
      commonName: 'builder root',
      organization: 'meshca tests',
      subjectKey: rootKey,
      notBefore: NOT_BEFORE,
      notAfter: NOT_AFTER,
    });
    intermediate = await createCaCertificate({
      commonName: 'builder intermediate',
      organization: 'meshca tests',
      subjectKey: generateCaKey('ec-p256'),
      issuer: { cert: root, privateKey: rootKey.privateKey },
      notBefore: NOT_BEFORE,
      notAfter: NOT_AFTER,
      pathLength: 0,
    });
    rootPkijs = pkijs.Certificate.fromBER(root.der);
    intermediatePkijs = pkijs.Certificate.fromBER(intermediate.der);
  });

  it('builds a self-signed v3 root with the given validity', () => {
    expect(rootPkijs.version).toBe(2);
    expect(root.selfSigned).toBe(true);
    expect(root.issuerDer).toEqual(root.subjectDer);
    expect(root.notBefore).toEqual(NOT_BEFORE);
    expect(root.notAfter).toEqual(NOT_AFTER);
    const serial = rootPkijs.serialNumber.valueBlock.valueHexView;
    expect(serial).toHaveLength(16);
    expect(serial[0]! & 0x80).toBe(0);
  });

  it.each([
    ['root', () => root],
    ['intermediate', () => intermediate],
  ])('puts one attribute in each RDN, O before CN (%s)', (_label, cert) => {
    const name = cert().subjectDer;
    expect(rdns(name)).toEqual([
      [[OID_AT_ORGANIZATION, 'meshca tests']],
      [[OID_AT_COMMON_NAME, `builder ${_label}`]],
    ]);
    expect(cert().x509.subject).toBe(`O=meshca tests\nCN=builder ${_label}`);
  });

  it('omits O when no organization is given', async () => {
    const bare = await createCaCertificate({
      commonName: 'bare',
      subjectKey: generateCaKey('ec-p256'),
      notBefore: NOT_BEFORE,
      notAfter: NOT_AFTER,
    });
    expect(rdns(bare.subjectDer)).toEqual([[[OID_AT_COMMON_NAME, 'bare']]]);
  });

  it('marks the root CA:TRUE (critical) with no pathLen, and keyCertSign + cRLSign', () => {
    const basic = extensionOf(rootPkijs, OID_BASIC_CONSTRAINTS)!;
    expect(basic.critical).toBe(true);
    expect((basic.parsedValue as pkijs.BasicConstraints).cA).toBe(true);
    expect(root.pathLength).toBeUndefined();
    expect(extensionOf(rootPkijs, OID_KEY_USAGE)!.critical).toBe(true);
    // digitalSignature(0), keyCertSign(5), cRLSign(6).
    expect(keyUsageBits(rootPkijs)).toEqual([0, 5, 6]);
    expect(root.canSignCertificates).toBe(true);
  });

  it('gives the root an SKI (RFC 5280 §4.2.1.2 method 1) and no AKI', () => {
    const ski = extensionOf(rootPkijs, OID_SUBJECT_KEY_IDENTIFIER)!;
    expect(ski.critical).toBe(false);
    const expected = createHash('sha1')
      .update(rootPkijs.subjectPublicKeyInfo.subjectPublicKey.valueBlock.valueHexView)
      .digest();
    expect(Buffer.from((ski.parsedValue as asn1js.OctetString).valueBlock.valueHexView)).toEqual(
      expected,
    );
    expect(root.keyIdentifier).toEqual(expected);
    expect(extensionOf(rootPkijs, OID_AUTHORITY_KEY_IDENTIFIER)).toBeUndefined();
  });

  it("chains the intermediate to the root: issuer bytes, AKI = root SKI, root's signature", async () => {
    expect(intermediate.issuerDer).toEqual(root.subjectDer);
    const aki = extensionOf(intermediatePkijs, OID_AUTHORITY_KEY_IDENTIFIER)!;
    expect(aki.critical).toBe(false);
    const keyIdentifier = (aki.parsedValue as pkijs.AuthorityKeyIdentifier).keyIdentifier!;
    expect(Buffer.from(keyIdentifier.valueBlock.valueHexView)).toEqual(root.keyIdentifier);
    expect(intermediate.keyIdentifier).not.toEqual(root.keyIdentifier);
    expect(intermediate.x509.verify(root.x509.publicKey)).toBe(true);
    expect(intermediate.x509.checkIssued(root.x509)).toBe(true);
    await expect(intermediatePkijs.verify(rootPkijs, createCryptoEngine())).resolves.toBe(true);
  });

  it('writes the requested pathLenConstraint on the intermediate', () => {
    const basic = extensionOf(intermediatePkijs, OID_BASIC_CONSTRAINTS)!;
    expect(basic.critical).toBe(true);
    expect((basic.parsedValue as pkijs.BasicConstraints).cA).toBe(true);
    expect(intermediate.pathLength).toBe(0);
    expect(keyUsageBits(intermediatePkijs)).toEqual([0, 5, 6]);
  });

  it.each([0, 1, 5])('encodes pathLength %i', async (pathLength) => {
    const cert = await createCaCertificate({
      commonName: `pathlen ${pathLength}`,
      subjectKey: generateCaKey('ec-p256'),
      notBefore: NOT_BEFORE,
      notAfter: NOT_AFTER,
      pathLength,
    });
    expect(cert.pathLength).toBe(pathLength);
    expect(cert.isCa).toBe(true);
  });

  it('builds a non-CA certificate when asked: CA:FALSE, no keyCertSign, pathLength ignored', async () => {
    const cert = await createCaCertificate({
      commonName: 'leafish',
      subjectKey: generateCaKey('ec-p256'),
      issuer: { cert: root, privateKey: rootKey.privateKey },
      notBefore: NOT_BEFORE,
      notAfter: NOT_AFTER,
      isCa: false,
      pathLength: 3,
    });
    const parsed = pkijs.Certificate.fromBER(cert.der);
    const basic = extensionOf(parsed, OID_BASIC_CONSTRAINTS)!;
    expect(basic.critical).toBe(true);
    expect((basic.parsedValue as pkijs.BasicConstraints).cA).toBe(false);
    expect(cert.isCa).toBe(false);
    expect(cert.pathLength).toBeUndefined();
    // digitalSignature(0), keyEncipherment(2).
    expect(keyUsageBits(parsed)).toEqual([0, 2]);
    expect(cert.canSignCertificates).toBe(false);
  });

  it.each([
    ['ec-p256', 'ec-p256', OID_ECDSA_WITH_SHA256],
    ['ec-p384', 'ec-p384', OID_ECDSA_WITH_SHA384],
    ['rsa-2048', 'rsa-2048', OID_SHA256_WITH_RSA],
    ['ec-p384', 'ec-p256', OID_ECDSA_WITH_SHA384],
    ['ec-p256', 'ec-p384', OID_ECDSA_WITH_SHA256],
  ] as const)(
    'signs with the algorithm of the issuer key: %s issuer, %s subject',
    async (issuerType: CaKeyType, subjectType: CaKeyType, oid) => {
      const issuerKey = generateCaKey(issuerType);
      const issuer = await createCaCertificate({
        commonName: 'algorithm root',
        subjectKey: issuerKey,
        notBefore: NOT_BEFORE,
        notAfter: NOT_AFTER,
      });
      const child = await createCaCertificate({
        commonName: 'algorithm child',
        subjectKey: generateCaKey(subjectType),
        issuer: { cert: issuer, privateKey: issuerKey.privateKey },
        notBefore: NOT_BEFORE,
        notAfter: NOT_AFTER,
      });
      for (const cert of [issuer, child]) {
        const parsed = pkijs.Certificate.fromBER(cert.der);
        expect(parsed.signatureAlgorithm.algorithmId).toBe(oid);
        expect(parsed.signature.algorithmId).toBe(oid);
      }
      expect(child.x509.verify(issuer.x509.publicKey)).toBe(true);
    },
  );

  it('is read by openssl as intended, and verifies strictly', () => {
    const dir = tempDir();
    const rootText = opensslText(dir, 'root.pem', root.pem);
    const text = opensslText(dir, 'intermediate.pem', intermediate.pem);
    expect(extensionText(rootText, 'X509v3 Basic Constraints')).toEqual({
      critical: true,
      value: 'CA:TRUE',
    });
    expect(extensionText(text, 'X509v3 Basic Constraints')).toEqual({
      critical: true,
      value: 'CA:TRUE, pathlen:0',
    });
    expect(extensionText(text, 'X509v3 Key Usage')).toEqual({
      critical: true,
      value: 'Digital Signature, Certificate Sign, CRL Sign',
    });
    expect(text).toContain('Issuer: O = meshca tests, CN = builder root');
    expect(text).toContain('Subject: O = meshca tests, CN = builder intermediate');
    expect(text).toContain('X509v3 Subject Key Identifier');
    expect(text).toContain('X509v3 Authority Key Identifier');

    const rootPath = writePem(dir, 'root.pem', root.pem);
    const intermediatePath = writePem(dir, 'intermediate.pem', intermediate.pem);
    const result = openssl(['verify', '-x509_strict', '-CAfile', rootPath, intermediatePath]);
    expect(result.stdout.trim()).toBe(`${intermediatePath}: OK`);
    expect(result.status).toBe(0);
  });
});

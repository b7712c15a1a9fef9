import { X509Certificate, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import {
  OID_ECDSA_WITH_SHA256,
  OID_ECDSA_WITH_SHA384,
  OID_ECDSA_WITH_SHA512,
  OID_SHA256_WITH_RSA,
  OID_SUBJECT_ALT_NAME,
  tlv,
} from '../../src/asn1/index.js';
import {
  LeafTemplate,
  assembleCertificate,
  signatureAlgorithmFor,
  type LeafFields,
} from '../../src/ca/leaf-template.js';
import { generateCaKey } from '../../src/ca/index.js';
import { createTestPki, type TestPki } from '../support/pki.js';
import { extensionOf, tbsElements, wholeSeconds, workloadKey } from './fixtures.js';

const NOW = wholeSeconds(Date.now());
const URI = 'spiffe://cluster.local/ns/app/sa/web';

let pki: TestPki;
let rsaPki: TestPki;
let template: LeafTemplate;
let spkiDer: Buffer;

beforeAll(async () => {
  [pki, rsaPki] = await Promise.all([
    createTestPki({ now: NOW, name: 'template' }),
    createTestPki({ now: NOW, keyType: 'rsa-2048', name: 'rsa-2048' }),
  ]);
  template = new LeafTemplate(pki.signing.cert, pki.signing.key.privateKey);
  spkiDer = workloadKey().spkiDer;
});

function leafFields(overrides: Partial<LeafFields> = {}): LeafFields {
  return {
    spkiDer,
    subjectAltNames: [{ type: 'uri', value: URI }],
    notBefore: new Date(NOW.getTime() - 120_000),
    notAfter: new Date(NOW.getTime() + 3_600_000),
    ...overrides,
  };
}

/** Signs a template's TBS the way SigningAuthority does, synchronously. */
function signed(tbs: Buffer, key: KeyObject, t: LeafTemplate = template): Buffer {
  return assembleCertificate(tbs, t.algorithmIdentifier, sign(t.digest, tbs, key));
}

describe('signatureAlgorithmFor', () => {
  it.each([
    ['RSA', () => rsaPki.signing.key.privateKey, 'sha256', OID_SHA256_WITH_RSA, true],
    [
      'ECDSA P-256',
      () => generateCaKey('ec-p256').privateKey,
      'sha256',
      OID_ECDSA_WITH_SHA256,
      false,
    ],
    [
      'ECDSA P-384',
      () => generateCaKey('ec-p384').privateKey,
      'sha384',
      OID_ECDSA_WITH_SHA384,
      false,
    ],
    [
      'ECDSA P-521',
      () => generateKeyPairSync('ec', { namedCurve: 'P-521' }).privateKey,
      'sha512',
      OID_ECDSA_WITH_SHA512,
      false,
    ],
  ])('picks Go’s default for %s', (_label, key, digest, oid, nullParameters) => {
    const algorithm = signatureAlgorithmFor(key());
    expect(algorithm.digest).toBe(digest);
    const parsed = asn1js.fromBER(algorithm.algorithmIdentifier);
    expect(parsed.offset).toBe(algorithm.algorithmIdentifier.length);
    const identifier = new pkijs.AlgorithmIdentifier({ schema: parsed.result });
    expect(identifier.algorithmId).toBe(oid);
    // RFC 4055 §5: RSA has NULL parameters; RFC 5758 §3.2: ECDSA has none.
    const elements = (parsed.result as asn1js.Sequence).valueBlock.value;
    expect(elements).toHaveLength(nullParameters ? 2 : 1);
    if (nullParameters) expect(elements[1]).toBeInstanceOf(asn1js.Null);
  });

  it('refuses other key types with TypeError (a wiring bug, not bad input)', () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    expect(() => signatureAlgorithmFor(privateKey)).toThrow(
      new TypeError('unsupported CA key type ed25519'),
    );
  });
});

describe('LeafTemplate', () => {
  it('builds a TBSCertificate with every field of the profile, in order', () => {
    const { tbs, serialHex } = template.build(leafFields());
    const parsed = asn1js.fromBER(tbs);
    expect(parsed.offset).toBe(tbs.length);
    const elements = (parsed.result as asn1js.Sequence).valueBlock.value;
    // version, serial, signature, issuer, validity, subject, spki, extensions (no unique IDs).
    expect(elements).toHaveLength(8);

    const certificate = signed(tbs, pki.signing.key.privateKey);
    const raw = tbsElements(certificate);
    expect(raw.count).toBe(8);
    expect(raw.version.toString('hex')).toBe('a003020102');
    expect(raw.serial.toString('hex')).toBe(`0210${serialHex}`);
    expect(raw.signature).toEqual(template.algorithmIdentifier);
    expect(raw.issuer).toEqual(pki.signing.cert.subjectDer);
    expect(raw.subject.toString('hex')).toBe('3000');
    expect(raw.subjectPublicKeyInfo).toEqual(spkiDer);
  });

  it('encodes the validity as UTCTime with whole seconds', () => {
    const { tbs } = template.build(leafFields());
    const validity = tbsElements(signed(tbs, pki.signing.key.privateKey)).validity;
    const times = (asn1js.fromBER(validity).result as asn1js.Sequence).valueBlock.value;
    expect(times.map((time) => time.constructor.name)).toEqual(['UTCTime', 'UTCTime']);
    const cert = pkijs.Certificate.fromBER(signed(tbs, pki.signing.key.privateKey));
    expect(cert.notBefore.value).toEqual(leafFields().notBefore);
    expect(cert.notAfter.value).toEqual(leafFields().notAfter);
  });

  it('truncates milliseconds instead of rounding', () => {
    const { tbs } = template.build(
      leafFields({
        notBefore: new Date('2030-01-01T00:00:00.999Z'),
        notAfter: new Date('2030-01-02T00:00:00.500Z'),
      }),
    );
    const cert = pkijs.Certificate.fromBER(signed(tbs, pki.signing.key.privateKey));
    expect(cert.notBefore.value.toISOString()).toBe('2030-01-01T00:00:00.000Z');
    expect(cert.notAfter.value.toISOString()).toBe('2030-01-02T00:00:00.000Z');
  });

  it('switches to GeneralizedTime from 2050 (RFC 5280 §4.1.2.5)', () => {
    const { tbs } = template.build(leafFields({ notAfter: new Date('2050-06-01T12:00:00Z') }));
    const certificate = signed(tbs, pki.signing.key.privateKey);
    const times = (asn1js.fromBER(tbsElements(certificate).validity).result as asn1js.Sequence)
      .valueBlock.value;
    expect(times.map((time) => time.constructor.name)).toEqual(['UTCTime', 'GeneralizedTime']);
    expect(new Date(new X509Certificate(certificate).validTo).toISOString()).toBe(
      '2050-06-01T12:00:00.000Z',
    );
  });

  it('draws positive 16-octet serials with no leading zero octet, all different', () => {
    const version = Buffer.from('a003020102', 'hex');
    const serials = new Set<string>();
    const problems: string[] = [];
    for (let i = 0; i < 500; i++) {
      const { tbs, serialHex } = template.build(leafFields());
      const serial = Buffer.from(serialHex, 'hex');
      if (serial.length !== 16 || serial[0]! < 0x01 || serial[0]! > 0x7f) problems.push(serialHex);
      // INTEGER with 16 content octets, exactly the serial (no sign padding), after the version.
      const at = tbs.indexOf(version) + version.length;
      if (!tbs.subarray(at, at + 18).equals(Buffer.concat([Buffer.from([0x02, 0x10]), serial]))) {
        problems.push(`encoding of ${serialHex}`);
      }
      serials.add(serialHex);
    }
    expect(problems).toEqual([]);
    expect(serials.size).toBe(500);
  });

  it('does not let one build change the bytes returned by an earlier one', () => {
    const first = template.build(leafFields());
    const copy = Buffer.from(first.tbs);
    template.build(leafFields());
    expect(first.tbs).toEqual(copy);
    expect(
      tbsElements(signed(first.tbs, pki.signing.key.privateKey)).serial.subarray(2).toString('hex'),
    ).toBe(first.serialHex);
  });

  it.each([
    ['a URI only', [{ type: 'uri', value: URI }], `URI:${URI}`],
    [
      'URI, DNS and IPv4',
      [
        { type: 'uri', value: URI },
        { type: 'dns', value: 'web.app.svc' },
        { type: 'ip', value: Uint8Array.from([192, 168, 0, 1]) },
      ],
      `URI:${URI}, DNS:web.app.svc, IP Address:192.168.0.1`,
    ],
    [
      'URI and IPv6',
      [
        { type: 'uri', value: URI },
        {
          type: 'ip',
          value: Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, ...new Array<number>(11).fill(0), 1]),
        },
      ],
      `URI:${URI}, IP Address:2001:DB8:0:0:0:0:0:1`,
    ],
  ] as const)('encodes the subjectAltName in the given order: %s', (_label, names, expected) => {
    const { tbs } = template.build(leafFields({ subjectAltNames: names }));
    const certificate = signed(tbs, pki.signing.key.privateKey);
    expect(new X509Certificate(certificate).subjectAltName).toBe(expected);
    const san = extensionOf(pkijs.Certificate.fromBER(certificate), OID_SUBJECT_ALT_NAME)!;
    expect(san.critical).toBe(true);
  });

  it('produces a certificate that verifies with the issuer key', () => {
    const { tbs } = template.build(leafFields());
    const certificate = new X509Certificate(signed(tbs, pki.signing.key.privateKey));
    expect(certificate.verify(pki.signing.cert.x509.publicKey)).toBe(true);
    expect(certificate.checkIssued(pki.signing.cert.x509)).toBe(true);
  });

  it.each(['ec-p384', 'rsa-2048'] as const)('follows a %s issuer key', async (keyType) => {
    const other = keyType === 'rsa-2048' ? rsaPki : await createTestPki({ now: NOW, keyType });
    const t = new LeafTemplate(other.signing.cert, other.signing.key.privateKey);
    expect(t.digest).toBe(keyType === 'ec-p384' ? 'sha384' : 'sha256');
    const { tbs } = t.build(leafFields());
    const certificate = new X509Certificate(signed(tbs, other.signing.key.privateKey, t));
    expect(certificate.verify(other.signing.cert.x509.publicKey)).toBe(true);
  });
});

describe('assembleCertificate', () => {
  it('wraps TBS, algorithm and signature as RFC 5280 §4.1 Certificate', () => {
    const tbs = tlv(0x30, Buffer.from([0x02, 0x01, 0x05]));
    const algorithm = tlv(0x30, Buffer.from([0x06, 0x01, 0x2a]));
    const signature = Buffer.from([0xde, 0xad, 0xbe, 0xef]);
    expect(assembleCertificate(tbs, algorithm, signature).toString('hex')).toBe(
      // SEQUENCE { tbs, algorithm, BIT STRING (0 unused bits) signature }
      '3011' + '3003020105' + '3003' + '06012a' + '030500deadbeef',
    );
  });
});

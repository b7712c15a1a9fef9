import { spawnSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, verify, webcrypto } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import {
  GENERAL_NAME_DNS,
  GENERAL_NAME_EMAIL,
  GENERAL_NAME_IP,
  GENERAL_NAME_URI,
  OID_AT_COMMON_NAME,
  OID_AT_ORGANIZATION,
  OID_ECDSA_WITH_SHA256,
  OID_ECDSA_WITH_SHA384,
  OID_ECDSA_WITH_SHA512,
  OID_KEY_USAGE,
  OID_SHA256_WITH_RSA,
  OID_SHA384_WITH_RSA,
  OID_SHA512_WITH_RSA,
  OID_SUBJECT_ALT_NAME,
} from '../../src/asn1/index.js';
import {
  buildCsrPem,
  generateWorkloadKey,
  parseCsrPem,
  type WorkloadKey,
  type WorkloadKeyType,
} from '../../src/csr/index.js';
import { keyUsageDer, pemDer } from './fixtures.js';

const URI = 'spiffe://cluster.local/ns/default/sa/web';
const OID_SHA1_WITH_RSA = '1.2.840.113549.1.1.5';
const OID_ECDSA_WITH_SHA1 = '1.2.840.10045.4.1';

let rsa: WorkloadKey;
let ec: WorkloadKey;
let ecP384: WorkloadKey;

beforeAll(async () => {
  [rsa, ec, ecP384] = await Promise.all([
    generateWorkloadKey('rsa'),
    generateWorkloadKey('ec'),
    generateWorkloadKey('ec-p384'),
  ]);
});

const keyOf = (type: WorkloadKeyType): WorkloadKey =>
  type === 'rsa' ? rsa : type === 'ec' ? ec : ecP384;

/** The SAN's GeneralNames as [tag, value] pairs (IP addresses as hex). */
function sanNames(value: Buffer): [number, string][] {
  const names = new pkijs.AltName({ schema: asn1js.fromBER(value).result }).altNames;
  return names.map((name) => [
    name.type,
    name.value instanceof asn1js.OctetString
      ? Buffer.from(name.value.valueBlock.valueHexView).toString('hex')
      : String(name.value),
  ]);
}

/** What openssl makes of a request: its subject line, or the verification failure. */
function opensslView(pem: string): { verified: boolean; subject: string } {
  const result = spawnSync(
    'openssl',
    ['req', '-verify', '-noout', '-subject', '-nameopt', 'RFC2253'],
    { input: pem, encoding: 'utf8' },
  );
  return { verified: result.status === 0, subject: result.stdout.trim() };
}

describe('generateWorkloadKey', () => {
  it.each([
    ['rsa', 'rsa', { modulusLength: 2048, publicExponent: 65537n }],
    ['ec', 'ec', { namedCurve: 'prime256v1' }],
    ['ec-p384', 'ec', { namedCurve: 'secp384r1' }],
  ] as const)('%s makes a %s key %o', (type, nodeType, details) => {
    const key = keyOf(type);
    const privateKey = createPrivateKey(key.privateKeyPem);
    expect(key.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(privateKey.asymmetricKeyType).toBe(nodeType);
    expect(privateKey.asymmetricKeyDetails).toMatchObject(details);
    expect(key.keys.privateKey.extractable).toBe(true);
  });

  it('pairs the PKCS#8 PEM with the public key', async () => {
    const spki = Buffer.from(await webcrypto.subtle.exportKey('spki', ec.keys.publicKey));
    const fromPem = createPublicKey(createPrivateKey(ec.privateKeyPem)).export({
      type: 'spki',
      format: 'der',
    });
    expect(fromPem.equals(spki)).toBe(true);
  });

  it('honours rsaBits', async () => {
    const key = await generateWorkloadKey('rsa', 1024);
    expect(createPrivateKey(key.privateKeyPem).asymmetricKeyDetails?.modulusLength).toBe(1024);
  });
});

describe('buildCsrPem', () => {
  it.each([
    ['rsa', OID_SHA256_WITH_RSA],
    ['ec', OID_ECDSA_WITH_SHA256],
    ['ec-p384', OID_ECDSA_WITH_SHA384],
  ] as const)(
    'builds the istio-agent shape for %s, signed as Go would (%s)',
    async (type, algorithm) => {
      const pem = await buildCsrPem(keyOf(type).keys, { uris: [URI] });
      const csr = parseCsrPem(pem);
      expect(pem).toMatch(/^-----BEGIN CERTIFICATE REQUEST-----\n/);
      expect(csr.version).toBe(0);
      expect(csr.subject).toEqual([{ type: OID_AT_ORGANIZATION, value: '' }]);
      expect(csr.signatureAlgorithm).toBe(algorithm);
      expect(csr.otherAttributes).toEqual([]);
      expect(csr.extensions).toHaveLength(1);
      expect(csr.extensions[0]).toMatchObject({ oid: OID_SUBJECT_ALT_NAME, critical: true });
      expect(sanNames(csr.extensions[0]!.value)).toEqual([[GENERAL_NAME_URI, URI]]);
    },
  );

  it('encodes O= as one RDN holding an empty PrintableString, as Go does', async () => {
    const der = pemDer(await buildCsrPem(ec.keys, { uris: [URI] }));
    // SEQUENCE { SET { SEQUENCE { OID 2.5.4.10, PrintableString "" } } }
    expect(der.includes(Buffer.from('300b31093007060355040a1300', 'hex'))).toBe(true);
  });

  it('builds the ztunnel shape: empty subject, critical URI SAN', async () => {
    const csr = parseCsrPem(await buildCsrPem(ec.keys, { shape: 'ztunnel', uris: [URI] }));
    expect(csr.subject).toEqual([]);
    expect(csr.signatureAlgorithm).toBe(OID_ECDSA_WITH_SHA256);
    expect(csr.extensions.map(({ oid, critical }) => ({ oid, critical }))).toEqual([
      { oid: OID_SUBJECT_ALT_NAME, critical: true },
    ]);
  });

  it.each([
    ['istio-agent', 'subject=O='],
    ['ztunnel', 'subject='],
  ] as const)('makes a %s request openssl verifies and reads as "%s"', async (shape, subject) => {
    for (const key of [rsa, ec, ecP384]) {
      const view = opensslView(await buildCsrPem(key.keys, { shape, uris: [URI] }));
      expect(view).toEqual({ verified: true, subject });
    }
  });

  it('signs infoDer with the key it carries', async () => {
    const csr = parseCsrPem(await buildCsrPem(rsa.keys, { uris: [URI] }));
    const publicKey = createPublicKey({ key: csr.spkiDer, format: 'der', type: 'spki' });
    expect(verify('sha256', csr.infoDer, publicKey, csr.signature)).toBe(true);
  });

  it.each([
    ['rsa', 'SHA-1', OID_SHA1_WITH_RSA, 'sha1'],
    ['rsa', 'SHA-384', OID_SHA384_WITH_RSA, 'sha384'],
    ['rsa', 'SHA-512', OID_SHA512_WITH_RSA, 'sha512'],
    ['ec', 'SHA-1', OID_ECDSA_WITH_SHA1, 'sha1'],
    ['ec', 'SHA-512', OID_ECDSA_WITH_SHA512, 'sha512'],
    ['ec-p384', 'SHA-256', OID_ECDSA_WITH_SHA256, 'sha256'],
  ] as const)('signs a %s key with hash %s as %s', async (type, hash, algorithm, digest) => {
    const csr = parseCsrPem(await buildCsrPem(keyOf(type).keys, { uris: [URI], hash }));
    expect(csr.signatureAlgorithm).toBe(algorithm);
    const publicKey = createPublicKey({ key: csr.spkiDer, format: 'der', type: 'spki' });
    expect(verify(digest, csr.infoDer, publicKey, csr.signature)).toBe(true);
  });

  it('puts the SAN names in order: URIs, DNS names, emails, IPv4 addresses', async () => {
    const csr = parseCsrPem(
      await buildCsrPem(ec.keys, {
        uris: [URI],
        dnsNames: ['web.default.svc'],
        emails: ['web@example.com'],
        ipAddresses: ['10.0.0.1'],
      }),
    );
    expect(sanNames(csr.extensions[0]!.value)).toEqual([
      [GENERAL_NAME_URI, URI],
      [GENERAL_NAME_DNS, 'web.default.svc'],
      [GENERAL_NAME_EMAIL, 'web@example.com'],
      [GENERAL_NAME_IP, '0a000001'],
    ]);
  });

  it('refuses an IPv6 literal with a TypeError (a test bug, not input)', async () => {
    await expect(buildCsrPem(ec.keys, { uris: [URI], ipAddresses: ['::1'] })).rejects.toThrow(
      TypeError,
    );
  });

  it('marks the SAN non-critical on request', async () => {
    const csr = parseCsrPem(await buildCsrPem(ec.keys, { uris: [URI], sanCritical: false }));
    expect(csr.extensions[0]).toMatchObject({ oid: OID_SUBJECT_ALT_NAME, critical: false });
  });

  it('omits the extensionRequest when there is no name and no extra extension', async () => {
    const der = pemDer(await buildCsrPem(ec.keys, {}));
    const csr = parseCsrPem(await buildCsrPem(ec.keys, {}));
    expect(csr.extensions).toEqual([]);
    // No PKCS#9 extensionRequest OID (1.2.840.113549.1.9.14) anywhere in the request.
    expect(der.includes(Buffer.from('2a864886f70d01090e', 'hex'))).toBe(false);
  });

  it('appends a CN after the shape subject, and replaces the subject on request', async () => {
    const withCn = parseCsrPem(await buildCsrPem(ec.keys, { uris: [URI], commonName: 'web' }));
    expect(withCn.subject).toEqual([
      { type: OID_AT_ORGANIZATION, value: '' },
      { type: OID_AT_COMMON_NAME, value: 'web' },
    ]);
    const replaced = parseCsrPem(
      await buildCsrPem(ec.keys, { uris: [URI], subject: [{ type: '2.5.4.6', value: 'NL' }] }),
    );
    expect(replaced.subject).toEqual([{ type: '2.5.4.6', value: 'NL' }]);
    expect(opensslView(await buildCsrPem(ec.keys, { uris: [URI], commonName: 'web' }))).toEqual({
      verified: true,
      subject: 'subject=CN=web,O=',
    });
  });

  it('adds extra extensions and attributes verbatim, after the SAN', async () => {
    const value = keyUsageDer(0, 5);
    const csr = parseCsrPem(
      await buildCsrPem(ec.keys, {
        uris: [URI],
        extraExtensions: [{ oid: OID_KEY_USAGE, critical: true, value }],
        extraAttributes: [{ type: '1.2.840.113549.1.9.7', value: 'secret' }],
      }),
    );
    expect(csr.extensions.map((extension) => extension.oid)).toEqual([
      OID_SUBJECT_ALT_NAME,
      OID_KEY_USAGE,
    ]);
    expect(csr.extensions[1]).toEqual({
      oid: OID_KEY_USAGE,
      critical: true,
      value: Buffer.from(value),
    });
    expect(csr.otherAttributes).toEqual(['1.2.840.113549.1.9.7']);
  });

  it('writes the version it is given', async () => {
    const csr = parseCsrPem(await buildCsrPem(ec.keys, { uris: [URI], version: 2 }));
    expect(csr.version).toBe(2);
  });

  it('wraps base64 at 64 columns', async () => {
    const lines = (await buildCsrPem(rsa.keys, { uris: [URI] })).trimEnd().split('\n').slice(1, -1);
    expect(lines.length).toBeGreaterThan(1);
    for (const line of lines.slice(0, -1)) expect(line).toHaveLength(64);
    expect(lines.at(-1)!.length).toBeLessThanOrEqual(64);
  });
});

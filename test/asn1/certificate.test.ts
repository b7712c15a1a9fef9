import { execFileSync } from 'node:child_process';
import { X509Certificate, createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  decodePem,
  encodePem,
  parseCertificateDer,
  parseCertificatesPem,
  type ParsedCertificate,
} from '../../src/asn1/index.js';
import { createCaCertificate, generateCaKey, type CaKeyPair } from '../../src/ca/index.js';
import { createTestPki, type TestPki } from '../support/pki.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING value (an EC point). */
function method1KeyId(publicKey: KeyObject): Buffer {
  const jwk = publicKey.export({ format: 'jwk' });
  const point = Buffer.concat([
    Buffer.from([0x04]),
    Buffer.from(jwk.x!, 'base64url'),
    Buffer.from(jwk.y!, 'base64url'),
  ]);
  return createHash('sha1').update(point).digest();
}

/** A self-signed certificate made by `openssl req -x509` with exactly the extensions given. */
function opensslCertificate(
  key: KeyObject,
  subject: string,
  addext: readonly string[],
  days = 1,
): Buffer {
  const dir = tempDir('meshca-cert-');
  const keyFile = join(dir, 'key.pem');
  const configFile = join(dir, 'openssl.cnf');
  writeFileSync(keyFile, key.export({ type: 'pkcs8', format: 'pem' }));
  // A config without extension sections: `-addext` decides everything.
  writeFileSync(configFile, '[req]\ndistinguished_name = dn\n[dn]\n');
  const pem = execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-new',
      '-key',
      keyFile,
      '-config',
      configFile,
      '-subj',
      subject,
      '-days',
      String(days),
      ...addext.flatMap((extension) => ['-addext', extension]),
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return decodePem(pem)[0]!.der;
}

let pki: TestPki;
let key: CaKeyPair;
let bare: ParsedCertificate;

beforeAll(async () => {
  pki = await createTestPki({ now: new Date() });
  key = generateCaKey('ec-p256');
  bare = parseCertificateDer(opensslCertificate(key.privateKey, '/CN=bare', []));
});

afterAll(removeTempDirs);

describe('parseCertificateDer', () => {
  it('reads a self-signed root', () => {
    const root = parseCertificateDer(pki.root.cert.der);
    expect(root.isCa).toBe(true);
    expect(root.pathLength).toBeUndefined();
    expect(root.canSignCertificates).toBe(true);
    expect(root.selfSigned).toBe(true);
    expect(root.issuerDer.equals(root.subjectDer)).toBe(true);
    expect(root.x509.subject).toBe('O=meshca tests\nCN=test root');
    expect(root.keyIdentifier.equals(method1KeyId(pki.root.key.publicKey))).toBe(true);
  });

  it('reads an intermediate: not self-signed, issuer bytes = the root subject bytes', () => {
    const signing = parseCertificateDer(pki.signing.cert.der);
    expect(signing.isCa).toBe(true);
    expect(signing.selfSigned).toBe(false);
    expect(signing.issuerDer.equals(pki.root.cert.subjectDer)).toBe(true);
    expect(signing.subjectDer.equals(pki.root.cert.subjectDer)).toBe(false);
    expect(signing.x509.checkIssued(pki.root.cert.x509)).toBe(true);
  });

  it('keeps der, pem and the SHA-256 fingerprint consistent', () => {
    const cert = parseCertificateDer(pki.signing.cert.der);
    expect(cert.der).toBe(pki.signing.cert.der);
    expect(cert.pem).toBe(encodePem('CERTIFICATE', cert.der));
    expect(decodePem(cert.pem)).toEqual([{ label: 'CERTIFICATE', der: cert.der }]);
    expect(cert.sha256).toBe(createHash('sha256').update(cert.der).digest('hex'));
    expect(cert.sha256).toBe(cert.x509.fingerprint256.replaceAll(':', '').toLowerCase());
    expect(cert.x509).toBeInstanceOf(X509Certificate);
    // subjectDer is a Name exactly as it occurs in the certificate.
    expect(cert.der.includes(cert.subjectDer)).toBe(true);
    expect(cert.subjectDer[0]).toBe(0x30);
  });

  it('reads notBefore/notAfter', async () => {
    const notBefore = new Date('2030-01-02T03:04:05Z');
    const notAfter = new Date('2049-12-31T23:59:59Z');
    const cert = await createCaCertificate({
      commonName: 'dated',
      subjectKey: key,
      notBefore,
      notAfter,
    });
    expect(parseCertificateDer(cert.der)).toMatchObject({ notBefore, notAfter });
  });

  it('reads a GeneralizedTime notAfter (2050 and later), as openssl reads it', () => {
    const days = Math.ceil((Date.parse('2051-01-01T00:00:00Z') - Date.now()) / 86_400_000);
    const der = opensslCertificate(key.privateKey, '/CN=long', [], days);
    const cert = parseCertificateDer(der);
    const endDate = execFileSync('openssl', ['x509', '-inform', 'DER', '-noout', '-enddate'], {
      input: der,
      encoding: 'utf8',
    });
    expect(cert.notAfter.getTime()).toBe(Date.parse(endDate.trim().replace('notAfter=', '')));
    expect(cert.notAfter.getUTCFullYear()).toBeGreaterThanOrEqual(2051);
    // GeneralizedTime (tag 0x18) with a four-digit year on the wire.
    const year = String(cert.notAfter.getUTCFullYear());
    expect(der.includes(Buffer.concat([Buffer.from([0x18, 15]), Buffer.from(year)]))).toBe(true);
  });

  it.each([0, 1, 3])('reads pathLenConstraint %i', async (pathLength) => {
    const cert = await createCaCertificate({
      commonName: `constrained ${pathLength}`,
      subjectKey: key,
      issuer: { cert: pki.root.cert, privateKey: pki.root.key.privateKey },
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 3_600_000),
      pathLength,
    });
    expect(parseCertificateDer(cert.der)).toMatchObject({ isCa: true, pathLength });
  });

  it('reads a non-CA certificate', async () => {
    const cert = await createCaCertificate({
      commonName: 'leaf',
      subjectKey: key,
      issuer: { cert: pki.signing.cert, privateKey: pki.signing.key.privateKey },
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 3_600_000),
      isCa: false,
    });
    expect(parseCertificateDer(cert.der)).toMatchObject({
      isCa: false,
      pathLength: undefined,
      canSignCertificates: false,
      selfSigned: false,
    });
  });

  it('computes the key identifier (RFC 5280 §4.2.1.2 method 1) when there is no SKI', () => {
    // openssl with an empty config writes a v1 certificate: no extensions at all.
    expect(bare.der.includes(Buffer.from('0603551d0e', 'hex'))).toBe(false); // no SKI OID
    expect(bare.keyIdentifier.equals(method1KeyId(key.publicKey))).toBe(true);
    expect(bare.isCa).toBe(false);
    expect(bare.pathLength).toBeUndefined();
    expect(bare.canSignCertificates).toBeUndefined();
    expect(bare.selfSigned).toBe(true);
  });

  it('uses the SKI as written when there is one, even when not method 1', () => {
    const cert = parseCertificateDer(
      opensslCertificate(key.privateKey, '/CN=ski', [
        'subjectKeyIdentifier=0102030405',
        'basicConstraints=critical,CA:TRUE,pathlen:2',
        'keyUsage=critical,keyCertSign',
      ]),
    );
    expect(cert.keyIdentifier.toString('hex')).toBe('0102030405');
    expect(cert).toMatchObject({ isCa: true, pathLength: 2, canSignCertificates: true });
  });

  it.each([
    ['keyUsage without keyCertSign', ['keyUsage=critical,digitalSignature,cRLSign'], false],
    ['keyUsage with keyCertSign only', ['keyUsage=critical,keyCertSign'], true],
  ])('reads canSignCertificates from %s', (_name, addext, expected) => {
    const cert = parseCertificateDer(opensslCertificate(key.privateKey, '/CN=ku', addext));
    expect(cert.canSignCertificates).toBe(expected);
  });

  it('does not call a self-issued certificate signed by another key self-signed', async () => {
    // Same subject as the root, issued (and signed) by the root: self-issued, not self-signed.
    const cert = await createCaCertificate({
      commonName: 'test root',
      organization: 'meshca tests',
      subjectKey: key,
      issuer: { cert: pki.root.cert, privateKey: pki.root.key.privateKey },
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 3_600_000),
    });
    expect(cert.subjectDer.equals(cert.issuerDer)).toBe(true);
    expect(cert.selfSigned).toBe(false);
  });

  it.each([
    ['garbage', () => Buffer.from('not a certificate')],
    ['an empty buffer', () => Buffer.alloc(0)],
    ['a truncated certificate', () => pki.root.cert.der.subarray(0, 100)],
    [
      'a certificate followed by trailing bytes',
      () => Buffer.concat([pki.root.cert.der, Buffer.from([0, 0])]),
    ],
  ])('throws on %s', (_name, der) => {
    // Node's own errors come from another realm than jest's Error: check the throw, not the class.
    expect(() => parseCertificateDer(der())).toThrow();
  });

  it('names trailing bytes', () => {
    expect(() => parseCertificateDer(Buffer.concat([pki.root.cert.der, Buffer.from([5])]))).toThrow(
      'certificate has trailing bytes after its DER',
    );
  });
});

describe('parseCertificatesPem', () => {
  it("reads every certificate of Istio's cert-chain.pem, in order", () => {
    const certs = parseCertificatesPem(pki.files.certChainPem, 'cert-chain.pem');
    expect(certs.map((cert) => cert.sha256)).toEqual([
      pki.signing.cert.sha256,
      pki.root.cert.sha256,
    ]);
  });

  it('ignores explanatory text around the blocks', () => {
    const text = `# root\nsubject=CN=test root\n${pki.root.cert.pem}\n# end\n`;
    expect(parseCertificatesPem(text, 'root-cert.pem').map((cert) => cert.sha256)).toEqual([
      pki.root.cert.sha256,
    ]);
  });

  const keyPem = (): string =>
    generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();

  it.each([
    ['an empty text', () => '', 'bundle: no certificate found'],
    ['text without PEM', () => 'hello', 'bundle: no certificate found'],
    [
      'a private key as second block',
      () => pki.root.cert.pem + keyPem(),
      'bundle: block 2 is PRIVATE KEY, expected CERTIFICATE',
    ],
    [
      'a certificate block that does not parse',
      () => pki.root.cert.pem + encodePem('CERTIFICATE', Buffer.from('3003020101', 'hex')),
      'bundle: certificate 2 cannot be parsed',
    ],
    [
      'a certificate block with trailing bytes',
      () => encodePem('CERTIFICATE', Buffer.concat([pki.root.cert.der, Buffer.from([0])])),
      'bundle: certificate 1 cannot be parsed',
    ],
    [
      'mismatched BEGIN/END labels',
      () => pki.root.cert.pem.replace('END CERTIFICATE', 'END X509 CRL'),
      'bundle: PEM block BEGIN CERTIFICATE ends with END X509 CRL',
    ],
    [
      'a body that is not base64',
      () => '-----BEGIN CERTIFICATE-----\n#\n-----END CERTIFICATE-----\n',
      'bundle: PEM block CERTIFICATE has a body that is not base64',
    ],
  ])('names the input and the block for %s', (_name, text, message) => {
    let caught: unknown;
    try {
      parseCertificatesPem(text(), 'bundle');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(Error);
    expect((caught as Error).message).toBe(message);
  });

  it('keeps the parse failure as the cause', () => {
    const text = encodePem('CERTIFICATE', Buffer.from('3003020101', 'hex'));
    let caught: unknown;
    try {
      parseCertificatesPem(text, 'bundle');
    } catch (error) {
      caught = error;
    }
    expect((caught as Error).message).toBe('bundle: certificate 1 cannot be parsed');
    expect((caught as Error).cause).toHaveProperty('message', expect.stringMatching(/\S/));
  });
});

/**
 * The fast certificate reader yields exactly what the pkijs-based parser yields, on every shape
 * of certificate we could make (meshca's own CAs and leaves, openssl's v1 certificates, RSA-PSS,
 * Ed25519, SHA-1, pathLen constraints, missing keyUsage or subjectKeyIdentifier), and refuses
 * what is not strict DER, so that callers fall back to the lenient parser.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DerError,
  decodePem,
  parseCertificateDer,
  readCertificateDer,
  type ParsedCertificate,
} from '../../src/asn1/index.js';
import { createCaCertificate, generateCaKey } from '../../src/ca/index.js';
import { createTestPki } from '../support/pki.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';

afterAll(removeTempDirs);

/** Everything but the X509Certificate object, which is compared by its fingerprint. */
function comparable(cert: ParsedCertificate): Record<string, unknown> {
  const { x509, ...rest } = cert;
  return { ...rest, x509: x509.fingerprint256 };
}

function openssl(args: string[], extensions?: string): Buffer {
  const dir = tempDir('meshca-reader-');
  execFileSync(
    'openssl',
    [
      'req',
      '-new',
      '-nodes',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'req.csr'),
      '-subj',
      '/O=reader/CN=made by openssl',
      ...args,
    ],
    { stdio: 'ignore' },
  );
  const x509 = [
    'x509',
    '-req',
    '-in',
    join(dir, 'req.csr'),
    '-signkey',
    join(dir, 'key.pem'),
    '-days',
    '3',
    '-out',
    join(dir, 'cert.pem'),
  ];
  if (extensions !== undefined) {
    writeFileSync(join(dir, 'ext.cnf'), extensions);
    x509.push('-extfile', join(dir, 'ext.cnf'));
  }
  execFileSync(
    'openssl',
    [
      ...x509,
      ...(args.includes('rsa_padding_mode:pss')
        ? ['-sigopt', 'rsa_padding_mode:pss', '-sha256']
        : []),
    ],
    { stdio: 'ignore' },
  );
  return decodePem(readFileSync(join(dir, 'cert.pem'), 'utf8'))[0]!.der;
}

describe('readCertificateDer', () => {
  const shapes: [string, () => Promise<Buffer> | Buffer][] = [
    ['a meshca root (EC)', async () => (await createTestPki({ name: 'reader' })).root.cert.der],
    [
      'a meshca intermediate',
      async () => (await createTestPki({ name: 'reader' })).signing.cert.der,
    ],
    ['an RSA root', async () => (await createTestPki({ keyType: 'rsa-2048' })).root.cert.der],
    [
      'a CA with pathLenConstraint 0',
      async () => {
        const key = generateCaKey('ec-p384');
        const now = Date.now();
        return (
          await createCaCertificate({
            commonName: 'pathlen',
            subjectKey: key,
            notBefore: new Date(now - 1000),
            notAfter: new Date(now + 86_400_000),
            pathLength: 0,
          })
        ).der;
      },
    ],
    [
      'a non-CA certificate',
      async () => {
        const key = generateCaKey('ec-p256');
        const now = Date.now();
        return (
          await createCaCertificate({
            commonName: 'leaf',
            subjectKey: key,
            notBefore: new Date(now - 1000),
            notAfter: new Date(now + 86_400_000),
            isCa: false,
          })
        ).der;
      },
    ],
    [
      'an openssl v1 certificate (no extensions)',
      () => openssl(['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']),
    ],
    [
      'RSA-1024 signed with SHA-1',
      () => openssl(['-newkey', 'rsa:1024', '-sha1'], 'basicConstraints=critical,CA:TRUE\n'),
    ],
    [
      'RSA-PSS',
      () =>
        openssl(
          ['-newkey', 'rsa:2048', '-sigopt', 'rsa_padding_mode:pss'],
          'basicConstraints=CA:TRUE,pathlen:3\nkeyUsage=keyCertSign\n',
        ),
    ],
    [
      'Ed25519',
      () =>
        openssl(
          ['-newkey', 'ed25519'],
          'keyUsage=digitalSignature\nsubjectKeyIdentifier=none\nauthorityKeyIdentifier=none\n',
        ),
    ],
    [
      'a CA without keyUsage or subjectKeyIdentifier',
      () =>
        openssl(
          ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384'],
          'basicConstraints=critical,CA:TRUE\nsubjectKeyIdentifier=none\nauthorityKeyIdentifier=none\n',
        ),
    ],
  ];

  it.each(shapes)('reads %s exactly as parseCertificateDer does', async (_name, make) => {
    const der = await make();
    expect(comparable(readCertificateDer(der))).toEqual(comparable(parseCertificateDer(der)));
  });

  it.each([
    ['trailing bytes', (der: Buffer) => Buffer.concat([der, Buffer.from([0])])],
    [
      'a non-minimal length',
      (der: Buffer) =>
        Buffer.concat([
          Buffer.from([0x30, 0x84]),
          Buffer.alloc(4 - 2),
          der.subarray(2, 4),
          der.subarray(4),
        ]),
    ],
    ['truncation', (der: Buffer) => der.subarray(0, der.length - 10)],
    ['not a certificate', () => Buffer.from([0x30, 0x03, 0x02, 0x01, 0x00])],
  ])('refuses %s', async (_name, mangle) => {
    const der = (await createTestPki({ name: 'mangled' })).root.cert.der;
    expect(() => readCertificateDer(mangle(der))).toThrow(DerError);
  });
});

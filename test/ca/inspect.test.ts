/**
 * Reading found certificates: PEM inventories that never decode private keys, plain-term
 * descriptions checked against certificates made by openssl (RSA-PSS, DSA, Ed25519, SHA-1), and
 * path finding that ignores validity periods.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  NoIssuerFoundError,
  describeCertificate,
  findCertificationPath,
  inventoryPem,
  parseCertificateBlock,
  buildCertificationPath,
} from '../../src/ca/index.js';
import { DAY, makeCert, pem } from '../discovery/fixtures.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';

afterAll(removeTempDirs);

const KEY =
  '-----BEGIN PRIVATE KEY-----\n!!!not base64 and never decoded!!!\n-----END PRIVATE KEY-----\n';

describe('inventoryPem', () => {
  let certPem: string;
  beforeAll(async () => {
    certPem = pem(await makeCert({ cn: 'x' }));
  });

  it.each([
    ['one certificate', () => certPem, 1, 0, 0],
    ['two certificates and a key between them', () => certPem + KEY + certPem, 2, 1, 0],
    ['an RSA key without END', () => `${certPem}-----BEGIN RSA PRIVATE KEY-----\nabc`, 1, 1, 0],
    [
      'a CSR',
      () => '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n',
      0,
      0,
      1,
    ],
    [
      'a certificate that is not base64',
      () => '-----BEGIN CERTIFICATE-----\n%%%%\n-----END CERTIFICATE-----\n',
      0,
      0,
      1,
    ],
    [
      'an empty certificate block',
      () => '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n',
      0,
      0,
      1,
    ],
    ['text', () => 'hello', 0, 0, 0],
  ])('%s', (_name, text, certificates, keys, ignored) => {
    const inventory = inventoryPem(text());
    expect(inventory.certificates).toHaveLength(certificates);
    expect(inventory.privateKeyBlocks).toBe(keys);
    expect(inventory.ignoredBlocks).toBe(ignored);
  });

  it('fingerprints each block as the parsed certificate does', () => {
    const [block] = inventoryPem(certPem).certificates;
    expect(block?.sha256).toBe(parseCertificateBlock(block!).sha256);
  });
});

describe('describeCertificate (openssl-made certificates)', () => {
  const dir = (): string => tempDir('meshca-inspect-');
  const selfSigned = (args: string[], extra: string[] = []): string => {
    const where = dir();
    const out = join(where, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-nodes',
        '-keyout',
        join(where, 'key.pem'),
        '-out',
        out,
        '-subj',
        '/CN=made by openssl',
        '-days',
        '2',
        ...args,
        ...extra,
      ],
      { stdio: 'ignore' },
    );
    return readFileSync(out, 'utf8');
  };
  const describe1 = (text: string) => {
    const [block] = inventoryPem(text).certificates;
    return describeCertificate(parseCertificateBlock(block!));
  };

  it.each([
    [
      'EC P-256, SHA-256',
      ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-sha256'],
      'EC-prime256v1',
      'ecdsa-with-SHA256',
      'SHA-256',
    ],
    [
      'EC P-384, SHA-384',
      ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384', '-sha384'],
      'EC-secp384r1',
      'ecdsa-with-SHA384',
      'SHA-384',
    ],
    [
      'RSA-1024, SHA-1',
      ['-newkey', 'rsa:1024', '-sha1'],
      'RSA-1024',
      'sha1WithRSAEncryption',
      'SHA-1',
    ],
    [
      'RSA-2048, PSS with SHA-256',
      ['-newkey', 'rsa:2048', '-sha256', '-sigopt', 'rsa_padding_mode:pss'],
      'RSA-2048',
      'rsassaPss',
      'SHA-256',
    ],
    ['Ed25519', ['-newkey', 'ed25519'], 'Ed25519', 'ED25519', 'intrinsic'],
  ])('%s', (_name, args, key, signature, hash) => {
    const description = describe1(selfSigned(args));
    expect(description).toMatchObject({
      subject: 'CN=made by openssl',
      issuer: 'CN=made by openssl',
      selfSigned: true,
      signatureAlgorithm: signature,
      signatureHash: hash,
    });
    expect(description.key.label).toBe(key);
    expect(description.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(description.serialNumber).toMatch(/^[0-9A-F]+$/);
  });

  it('calls a self-issued leaf without keyCertSign self-signed', () => {
    const text = selfSigned(
      ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'],
      [
        '-addext',
        'keyUsage=critical,digitalSignature',
        '-addext',
        'basicConstraints=critical,CA:FALSE',
      ],
    );
    const description = describe1(text);
    expect(description.isCa).toBe(false);
    expect(description.selfSigned).toBe(true);
  });
});

describe('findCertificationPath', () => {
  it('anchors a chain whose intermediate expired (expiry is reported on its own)', async () => {
    const now = new Date();
    const root = await makeCert({ cn: 'root' });
    const expired = await makeCert({
      cn: 'expired int',
      issuer: root,
      notBefore: new Date(now.getTime() - 10 * DAY),
      notAfter: new Date(now.getTime() - DAY),
    });
    const leaf = await makeCert({
      cn: 'leaf',
      ca: false,
      issuer: expired,
      notBefore: new Date(now.getTime() - 5 * DAY),
      notAfter: new Date(now.getTime() - 2 * DAY),
    });
    const path = findCertificationPath(leaf.cert, [expired.cert], [root.cert]);
    expect(path.anchor.sha256).toBe(root.cert.sha256);
    expect(() => buildCertificationPath(leaf.cert, [expired.cert], [root.cert], now)).toThrow(
      /expired/,
    );
  });

  it('says where the path stops', async () => {
    const root = await makeCert({ cn: 'root' });
    const stranger = await makeCert({ cn: 'stranger' });
    const intermediate = await makeCert({ cn: 'int', issuer: stranger });
    const leaf = await makeCert({ cn: 'leaf', ca: false, issuer: intermediate });
    let thrown: unknown;
    try {
      findCertificationPath(leaf.cert, [intermediate.cert], [root.cert]);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(NoIssuerFoundError);
    expect((thrown as NoIssuerFoundError).certificate.sha256).toBe(intermediate.cert.sha256);
  });
});

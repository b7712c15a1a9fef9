import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CACERTS_FILES,
  CaMaterialError,
  generateCaKey,
  loadCaDirectory,
  loadCaMaterial,
  type CaMaterial,
  type CaMaterialSource,
} from '../../src/ca/index.js';
import { OID_KEY_USAGE } from '../../src/asn1/index.js';
import { createTestPki, legacyKeyPem, writeTestPki, type TestPki } from '../support/pki.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { DAY, HOUR, makeCa, openssl, resign, writePem } from './fixtures.js';

const NOW = new Date();

let pki: TestPki; // EC P-256: root → signing
let rsaPki: TestPki; // RSA-2048: root → signing
let p384Pki: TestPki; // EC P-384: root → signing
let deepPki: TestPki; // root → middle 1 → signing
let deeperPki: TestPki; // root → middle 1 → middle 2 → signing
let otherPki: TestPki; // an unrelated hierarchy

beforeAll(async () => {
  [pki, rsaPki, p384Pki, deepPki, deeperPki, otherPki] = await Promise.all([
    createTestPki({ now: NOW }),
    createTestPki({ now: NOW, keyType: 'rsa-2048', name: 'rsa' }),
    createTestPki({ now: NOW, keyType: 'ec-p384', name: 'p384' }),
    createTestPki({ now: NOW, extraIntermediates: 1, name: 'deep' }),
    createTestPki({ now: NOW, extraIntermediates: 2, name: 'deeper' }),
    createTestPki({ now: NOW, name: 'other' }),
  ]);
});

afterAll(removeTempDirs);

const pkcs8 = (p: TestPki): string => p.files.caKeyPem;

/** The error `loadCaMaterial` throws for `source`, asserting that it is a CaMaterialError. */
function refusal(source: CaMaterialSource, at = NOW): CaMaterialError {
  try {
    loadCaMaterial(source, at);
  } catch (error) {
    expect(error).toBeInstanceOf(CaMaterialError);
    return error as CaMaterialError;
  }
  throw new Error('loadCaMaterial accepted the bundle');
}

function spkiOf(material: CaMaterial): Buffer {
  return createPublicKey(material.signingKey).export({ type: 'spki', format: 'der' });
}

describe('loadCaMaterial: valid bundles', () => {
  it('loads the conventional bundle (cert-chain = ca-cert + root) and leaves the root out of the intermediates', () => {
    const material = loadCaMaterial(pki.files, NOW);

    expect(material.signingCert.sha256).toBe(pki.signing.cert.sha256);
    expect(material.intermediates.map((cert) => cert.sha256)).toEqual([pki.signing.cert.sha256]);
    expect(material.trustBundle.fingerprints).toEqual([pki.root.cert.sha256]);
    expect(material.trustBundle.pem).toBe(pki.root.cert.pem);
    expect(spkiOf(material)).toEqual(
      pki.signing.cert.x509.publicKey.export({ type: 'spki', format: 'der' }),
    );
    // The signing certificate expires before the root here.
    expect(material.notAfter).toEqual(pki.signing.cert.notAfter);
  });

  it.each([
    ['the signing certificate', 'signing', 30 * DAY, 3650 * DAY],
    ['the root', 'root', 400 * DAY, 60 * DAY],
  ] as const)(
    'takes notAfter from the earliest certificate of the path: %s',
    async (_label, earliest, signingLifetimeMs, rootLifetimeMs) => {
      const local = await createTestPki({ now: NOW, signingLifetimeMs, rootLifetimeMs });
      const material = loadCaMaterial(local.files, NOW);
      expect(material.notAfter).toEqual(local[earliest].cert.notAfter);
    },
  );

  it('takes notAfter from a middle intermediate when it expires first', async () => {
    // The middle intermediate of createTestPki lives 1000 days; make signing and root outlive it.
    const local = await createTestPki({
      now: NOW,
      extraIntermediates: 1,
      signingLifetimeMs: 2000 * DAY,
    });
    const material = loadCaMaterial(local.files, NOW);
    expect(material.notAfter).toEqual(local.middle[0]!.cert.notAfter);
    expect(material.notAfter < local.signing.cert.notAfter).toBe(true);
    expect(material.notAfter < local.root.cert.notAfter).toBe(true);
  });

  it.each([
    ['PKCS#8 EC (PRIVATE KEY)', () => pki, (p: TestPki) => pkcs8(p), 'PRIVATE KEY'],
    ['SEC1 (EC PRIVATE KEY)', () => pki, (p: TestPki) => legacyKeyPem(pkcs8(p)), 'EC PRIVATE KEY'],
    ['PKCS#8 RSA (PRIVATE KEY)', () => rsaPki, (p: TestPki) => pkcs8(p), 'PRIVATE KEY'],
    [
      'PKCS#1 (RSA PRIVATE KEY)',
      () => rsaPki,
      (p: TestPki) => legacyKeyPem(pkcs8(p)),
      'RSA PRIVATE KEY',
    ],
  ])('reads ca-key.pem as %s', (_label, which, keyPem, label) => {
    const p = which();
    const caKeyPem = keyPem(p);
    expect(caKeyPem).toContain(`-----BEGIN ${label}-----`);

    const material = loadCaMaterial({ ...p.files, caKeyPem }, NOW);

    expect(spkiOf(material)).toEqual(
      p.signing.key.publicKey.export({ type: 'spki', format: 'der' }),
    );
    expect(material.signingKey.type).toBe('private');
  });

  it.each([
    ['RSA', () => rsaPki, 'rsa', undefined],
    ['ECDSA P-384', () => p384Pki, 'ec', 'secp384r1'],
    ['ECDSA P-256', () => pki, 'ec', 'prime256v1'],
  ])('loads a %s CA', (_label, which, keyType, curve) => {
    const p = which();
    const material = loadCaMaterial(p.files, NOW);
    expect(material.signingKey.asymmetricKeyType).toBe(keyType);
    expect(material.signingKey.asymmetricKeyDetails?.namedCurve).toBe(curve);
    expect(material.intermediates.map((cert) => cert.sha256)).toEqual([p.signing.cert.sha256]);
    expect(material.trustBundle.fingerprints).toEqual([p.root.cert.sha256]);
  });

  it('accepts several roots in root-cert.pem and keeps them all in the trust bundle', () => {
    const material = loadCaMaterial(
      { ...pki.files, rootCertPem: otherPki.root.cert.pem + pki.root.cert.pem },
      NOW,
    );
    expect([...material.trustBundle.fingerprints].sort()).toEqual(
      [otherPki.root.cert.sha256, pki.root.cert.sha256].sort(),
    );
    expect(material.intermediates.map((cert) => cert.sha256)).toEqual([pki.signing.cert.sha256]);
  });

  it.each([
    ['absent', undefined],
    ['empty', ''],
    ['only whitespace', '\n  \n'],
    ['the signing certificate alone', 'signing'],
  ] as const)(
    'accepts cert-chain.pem %s when the signing certificate is issued by a root',
    (_label, chain) => {
      const certChainPem = chain === 'signing' ? pki.signing.cert.pem : chain;
      const material = loadCaMaterial({ ...pki.files, certChainPem }, NOW);
      expect(material.intermediates.map((cert) => cert.sha256)).toEqual([pki.signing.cert.sha256]);
      expect(material.trustBundle.fingerprints).toEqual([pki.root.cert.sha256]);
    },
  );

  it.each([
    ['no cert-chain.pem', undefined],
    ['cert-chain.pem holding the root', 'root'],
  ] as const)('accepts a signing certificate that is itself the root (%s)', (_label, chain) => {
    const material = loadCaMaterial(
      {
        caCertPem: pki.root.cert.pem,
        caKeyPem: pki.root.key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        certChainPem: chain === 'root' ? pki.root.cert.pem : chain,
        rootCertPem: pki.root.cert.pem,
      },
      NOW,
    );
    expect(material.signingCert.sha256).toBe(pki.root.cert.sha256);
    expect(material.intermediates).toEqual([]);
    expect(material.notAfter).toEqual(pki.root.cert.notAfter);
  });

  it('builds a path through two intermediates, in issuer order, without the root', () => {
    const material = loadCaMaterial(deepPki.files, NOW);
    expect(material.intermediates.map((cert) => cert.sha256)).toEqual([
      deepPki.signing.cert.sha256,
      deepPki.middle[0]!.cert.sha256,
    ]);
  });

  it('builds a path through three intermediates', () => {
    const material = loadCaMaterial(deeperPki.files, NOW);
    expect(material.intermediates.map((cert) => cert.sha256)).toEqual([
      deeperPki.signing.cert.sha256,
      deeperPki.middle[1]!.cert.sha256,
      deeperPki.middle[0]!.cert.sha256,
    ]);
  });

  it('does not depend on the order of cert-chain.pem', () => {
    const shuffled = [deeperPki.root, deeperPki.middle[0]!, deeperPki.signing, deeperPki.middle[1]!]
      .map((ca) => ca.cert.pem)
      .join('');
    const material = loadCaMaterial({ ...deeperPki.files, certChainPem: shuffled }, NOW);
    expect(material.intermediates.map((cert) => cert.sha256)).toEqual([
      deeperPki.signing.cert.sha256,
      deeperPki.middle[1]!.cert.sha256,
      deeperPki.middle[0]!.cert.sha256,
    ]);
  });

  it('takes intermediates that follow the signing certificate in ca-cert.pem', () => {
    const material = loadCaMaterial(
      {
        ...deepPki.files,
        caCertPem: deepPki.signing.cert.pem + deepPki.middle[0]!.cert.pem,
        certChainPem: undefined,
      },
      NOW,
    );
    expect(material.signingCert.sha256).toBe(deepPki.signing.cert.sha256);
    expect(material.intermediates.map((cert) => cert.sha256)).toEqual([
      deepPki.signing.cert.sha256,
      deepPki.middle[0]!.cert.sha256,
    ]);
  });

  it('accepts pathLenConstraints that the path respects exactly', async () => {
    // RFC 5280 §4.2.1.9: root → middle → signing → leaf has two intermediates below the root,
    // one below the middle and none below the signing certificate.
    const lifetime = {
      notBefore: new Date(NOW.getTime() - HOUR),
      notAfter: new Date(NOW.getTime() + 10 * DAY),
    };
    const root = await makeCa('pathlen 2 root', {
      key: generateCaKey('ec-p256'),
      ...lifetime,
      pathLength: 2,
    });
    const middle = await makeCa('middle', {
      issuer: root,
      key: generateCaKey('ec-p256'),
      ...lifetime,
      pathLength: 1,
    });
    const signingKey = generateCaKey('ec-p256');
    const signing = await makeCa('signing', {
      issuer: middle,
      key: signingKey,
      ...lifetime,
      pathLength: 0,
    });
    const material = loadCaMaterial(
      {
        caCertPem: signing.cert.pem,
        caKeyPem: signingKey.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        certChainPem: middle.cert.pem,
        rootCertPem: root.cert.pem,
      },
      NOW,
    );
    expect(material.intermediates.map((cert) => cert.sha256)).toEqual([
      signing.cert.sha256,
      middle.cert.sha256,
    ]);
  });
});

describe('loadCaMaterial: refusals', () => {
  it('refuses a key that does not match the certificate', () => {
    const error = refusal({ ...pki.files, caKeyPem: otherPki.files.caKeyPem });
    expect(error.message).toBe('ca-key.pem does not match the public key of ca-cert.pem');
  });

  it.each([
    [
      'an encrypted PKCS#8 key',
      () =>
        pki.signing.key.privateKey
          .export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' })
          .toString(),
    ],
    [
      'an encrypted PKCS#1 key',
      () =>
        rsaPki.signing.key.privateKey
          .export({ type: 'pkcs1', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' })
          .toString(),
    ],
    ['garbage', () => 'this is not a key\n'],
    [
      'a PEM block whose body is not a key',
      () => '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n',
    ],
    ['a certificate', () => pki.signing.cert.pem],
    ['an empty file', () => ''],
  ])('refuses %s in ca-key.pem', (_label, keyPem) => {
    const error = refusal({ ...pki.files, caKeyPem: keyPem() });
    expect(error.message).toBe(
      'ca-key.pem: not a readable unencrypted PKCS#1, SEC1 or PKCS#8 private key',
    );
    // Node's own error, kept for the logs.
    expect((error.cause as { message?: unknown }).message).toEqual(expect.any(String));
  });

  it('refuses a signing certificate that is not a CA', async () => {
    const key = generateCaKey('ec-p256');
    const leaf = await makeCa('not a ca', {
      issuer: pki.root,
      key,
      notBefore: new Date(NOW.getTime() - HOUR),
      notAfter: new Date(NOW.getTime() + DAY),
      isCa: false,
    });
    const error = refusal({
      ...pki.files,
      caCertPem: leaf.cert.pem,
      caKeyPem: key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      certChainPem: undefined,
    });
    expect(error.message).toBe(
      'ca-cert.pem: "CN=not a ca" is not a CA (basicConstraints CA:TRUE is required)',
    );
  });

  it('refuses a signing certificate whose keyUsage lacks keyCertSign', async () => {
    const withoutCertSign = await resign(pki.signing.cert.der, pki.root.key.privateKey, (cert) => {
      const keyUsage = cert.extensions!.find((extension) => extension.extnID === OID_KEY_USAGE)!;
      const index = cert.extensions!.indexOf(keyUsage);
      cert.extensions![index] = new pkijs.Extension({
        extnID: OID_KEY_USAGE,
        critical: true,
        // digitalSignature only.
        extnValue: new asn1js.BitString({
          valueHex: new Uint8Array([0x80]),
          unusedBits: 7,
        }).toBER(false),
      });
    });
    expect(withoutCertSign.isCa).toBe(true);
    const error = refusal({
      ...pki.files,
      caCertPem: withoutCertSign.pem,
      certChainPem: undefined,
    });
    expect(error.message).toBe('ca-cert.pem: keyUsage does not include keyCertSign');
  });

  it.each([
    [
      'root-cert.pem holds another hierarchy',
      () => ({ ...pki.files, rootCertPem: otherPki.root.cert.pem }),
      // cert-chain.pem leads up to the old root, which nothing in root-cert.pem issued.
      /^ca-cert\.pem does not chain to a root in root-cert\.pem: no issuer found for "O=meshca tests, CN=test root"/,
    ],
    [
      'cert-chain.pem lacks the middle intermediate',
      () => ({ ...deepPki.files, certChainPem: deepPki.signing.cert.pem + deepPki.root.cert.pem }),
      /^ca-cert\.pem does not chain to a root in root-cert\.pem: no issuer found for "CN=deep signing intermediate"/,
    ],
    [
      'cert-chain.pem belongs to another hierarchy',
      () => ({ ...deepPki.files, certChainPem: deeperPki.files.certChainPem }),
      /^ca-cert\.pem does not chain to a root in root-cert\.pem: no issuer found/,
    ],
  ])('refuses a chain that does not reach a root: %s', (_label, source, message) => {
    expect(refusal(source()).message).toMatch(message);
  });

  it('refuses an expired signing certificate', async () => {
    const key = generateCaKey('ec-p256');
    const expired = await makeCa('expired signing', {
      issuer: pki.root,
      key,
      notBefore: new Date(NOW.getTime() - 10 * DAY),
      notAfter: new Date(NOW.getTime() - DAY),
    });
    const error = refusal({
      caCertPem: expired.cert.pem,
      caKeyPem: key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      certChainPem: undefined,
      rootCertPem: pki.root.cert.pem,
    });
    expect(error.message).toBe(
      `ca-cert.pem does not chain to a root in root-cert.pem: "CN=expired signing" expired at ${expired.cert.notAfter.toISOString()}`,
    );
  });

  it('refuses material checked at a time after the signing certificate expires', () => {
    const later = new Date(pki.signing.cert.notAfter.getTime() + 1000);
    expect(refusal(pki.files, later).message).toMatch(
      /^ca-cert\.pem does not chain to a root in root-cert\.pem: "CN=test signing intermediate" expired at /,
    );
  });

  it('refuses material checked before the signing certificate is valid', () => {
    const earlier = new Date(pki.signing.cert.notBefore.getTime() - 1000);
    expect(refusal(pki.files, earlier).message).toMatch(
      /^ca-cert\.pem does not chain to a root in root-cert\.pem: "CN=test signing intermediate" is not valid before /,
    );
  });

  it('refuses a root that is not a CA', async () => {
    const notCa = await makeCa('self-signed leaf', {
      key: generateCaKey('ec-p256'),
      notBefore: new Date(NOW.getTime() - HOUR),
      notAfter: new Date(NOW.getTime() + DAY),
      isCa: false,
    });
    const error = refusal({ ...pki.files, rootCertPem: pki.root.cert.pem + notCa.cert.pem });
    expect(error.message).toBe('root-cert.pem: "CN=self-signed leaf" is not a CA');
  });

  it.each([
    ['ca-cert.pem', { caCertPem: '' }, 'ca-cert.pem: no certificate found'],
    ['root-cert.pem', { rootCertPem: '' }, 'root-cert.pem: no certificate found'],
    ['ca-cert.pem (whitespace only)', { caCertPem: '\n\n' }, 'ca-cert.pem: no certificate found'],
  ])('refuses an empty %s', (_label, change, message) => {
    expect(refusal({ ...pki.files, ...change }).message).toBe(message);
  });

  it.each([
    [
      'ca-cert.pem holding a private key',
      () => ({ caCertPem: pki.files.caKeyPem }),
      'ca-cert.pem: block 1 is PRIVATE KEY, expected CERTIFICATE',
    ],
    [
      'cert-chain.pem with a private key after the certificates',
      () => ({ certChainPem: pki.files.certChainPem + pki.files.caKeyPem }),
      'cert-chain.pem: block 3 is PRIVATE KEY, expected CERTIFICATE',
    ],
    [
      'root-cert.pem holding a CSR-labelled block',
      () => ({
        rootCertPem: pki.root.cert.pem.replaceAll('CERTIFICATE', 'CERTIFICATE REQUEST'),
      }),
      'root-cert.pem: block 1 is CERTIFICATE REQUEST, expected CERTIFICATE',
    ],
  ])('refuses a non-CERTIFICATE PEM block: %s', (_label, change, message) => {
    expect(refusal({ ...pki.files, ...change() }).message).toBe(message);
  });

  it.each([
    ['ca-cert.pem', 'caCertPem', 'not base64', '%%%%\n-----END CERTIFICATE-----'],
    ['cert-chain.pem', 'certChainPem', 'not base64', '%%%%\n-----END CERTIFICATE-----'],
    ['root-cert.pem', 'rootCertPem', 'not base64', '%%%%\n-----END CERTIFICATE-----'],
    ['cert-chain.pem', 'certChainPem', 'ends with END', 'AAAA\n-----END PRIVATE KEY-----'],
  ] as const)('names %s when a CERTIFICATE block is malformed (%s)', (file, field, rule, rest) => {
    const broken = `-----BEGIN CERTIFICATE-----\n${rest}\n`;
    const error = refusal({ ...pki.files, [field]: broken });
    expect(error.message.startsWith(`${file}: `)).toBe(true);
    expect(error.message).toContain(rule);
  });

  it('names the file when a CERTIFICATE block is not a certificate', () => {
    const notDer = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
    expect(refusal({ ...pki.files, caCertPem: notDer }).message).toBe(
      'ca-cert.pem: certificate 1 cannot be parsed',
    );
  });

  it.each([
    ['the root allows no intermediate', 0, 0, 'pathlen 0 root', 0, 1],
    ['the root allows one intermediate, the path has two', 1, 1, 'pathlen 1 root', 1, 2],
    ['the middle allows none below it', undefined, 0, 'middle', 0, 1],
  ])(
    'refuses a path that violates pathLenConstraint: %s',
    async (_label, rootPathLength, middlePathLength, offender, allowed, actual) => {
      const lifetime = {
        notBefore: new Date(NOW.getTime() - HOUR),
        notAfter: new Date(NOW.getTime() + 10 * DAY),
      };
      const root = await makeCa(rootPathLength === 1 ? 'pathlen 1 root' : 'pathlen 0 root', {
        key: generateCaKey('ec-p256'),
        ...lifetime,
        ...(rootPathLength === undefined ? {} : { pathLength: rootPathLength }),
      });
      // With a root pathLength of 0 the signing certificate sits right under the root.
      const middle =
        rootPathLength === 0
          ? undefined
          : await makeCa('middle', {
              issuer: root,
              key: generateCaKey('ec-p256'),
              ...lifetime,
              pathLength: middlePathLength,
            });
      const signingKey = generateCaKey('ec-p256');
      const signing = await makeCa('signing', {
        issuer: middle ?? root,
        key: signingKey,
        ...lifetime,
      });
      const error = refusal({
        caCertPem: signing.cert.pem,
        caKeyPem: signingKey.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        certChainPem: middle?.cert.pem,
        rootCertPem: root.cert.pem,
      });
      expect(error.message).toBe(
        `ca-cert.pem does not chain to a root in root-cert.pem: "CN=${offender}" allows ${allowed} intermediates below it, the path has ${actual}`,
      );
    },
  );

  it('refuses an Ed25519 CA key (Istio signs with RSA or ECDSA)', () => {
    const dir = tempDir();
    const { privateKey } = generateKeyPairSync('ed25519');
    const keyPath = writePem(
      dir,
      'ed.key',
      privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    );
    const certPath = join(dir, 'ed.pem');
    const made = openssl([
      'req',
      '-x509',
      '-key',
      keyPath,
      '-out',
      certPath,
      '-days',
      '2',
      '-subj',
      '/CN=ed25519 ca',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    expect(made.status).toBe(0);
    const certPem = openssl(['x509', '-in', certPath]).stdout;

    const error = refusal({
      caCertPem: certPem,
      caKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      certChainPem: undefined,
      rootCertPem: certPem,
    });
    expect(error.message).toBe(
      'ca-key.pem: ed25519 keys are not supported for signing; use RSA or ECDSA',
    );
  });
});

describe('loadCaDirectory', () => {
  it('loads a cacerts directory', async () => {
    const dir = tempDir();
    await writeTestPki(dir, deepPki);
    const material = await loadCaDirectory(dir, NOW);
    expect(material.signingCert.sha256).toBe(deepPki.signing.cert.sha256);
    expect(material.intermediates.map((cert) => cert.sha256)).toEqual([
      deepPki.signing.cert.sha256,
      deepPki.middle[0]!.cert.sha256,
    ]);
    expect(material.trustBundle.fingerprints).toEqual([deepPki.root.cert.sha256]);
  });

  it('loads a directory without cert-chain.pem when the signing certificate is issued by the root', async () => {
    const dir = tempDir();
    await writeTestPki(dir, pki);
    rmSync(join(dir, CACERTS_FILES.chain));
    const material = await loadCaDirectory(dir, NOW);
    expect(material.intermediates.map((cert) => cert.sha256)).toEqual([pki.signing.cert.sha256]);
  });

  it('loads a directory with a legacy-format key and several roots', async () => {
    const dir = tempDir();
    await writeTestPki(dir, rsaPki, rsaPki.root.cert.pem + otherPki.root.cert.pem);
    writeFileSync(join(dir, CACERTS_FILES.key), legacyKeyPem(pkcs8(rsaPki)));
    const material = await loadCaDirectory(dir, NOW);
    expect(material.signingKey.asymmetricKeyType).toBe('rsa');
    expect(material.trustBundle.roots).toHaveLength(2);
  });

  it.each([CACERTS_FILES.cert, CACERTS_FILES.key, CACERTS_FILES.roots])(
    'refuses a directory without %s, naming the file',
    async (file) => {
      const dir = tempDir();
      await writeTestPki(dir, pki);
      rmSync(join(dir, file));
      const load = loadCaDirectory(dir, NOW);
      await expect(load).rejects.toBeInstanceOf(CaMaterialError);
      await expect(load).rejects.toThrow(`cannot read ${join(dir, file)}: ENOENT`);
    },
  );

  it('refuses a ca-key.pem other users can read, naming the file and the fix', async () => {
    const dir = tempDir();
    await writeTestPki(dir, pki);
    const keyPath = join(dir, CACERTS_FILES.key);
    chmodSync(keyPath, 0o644);
    const load = loadCaDirectory(dir, NOW);
    await expect(load).rejects.toBeInstanceOf(CaMaterialError);
    await expect(load).rejects.toThrow(
      `private key file ${keyPath} has mode 0644: other users may read or change it; run "chmod 600 ${keyPath}"`,
    );
    chmodSync(keyPath, 0o440);
    const material = await loadCaDirectory(dir, NOW);
    expect(material.signingCert.sha256).toBe(pki.signing.cert.sha256);
  });

  it('refuses a path that is not a directory', async () => {
    const dir = tempDir();
    const file = join(dir, 'plain-file');
    writeFileSync(file, 'x');
    // All four reads fail; whichever fails first is reported.
    await expect(loadCaDirectory(file, NOW)).rejects.toThrow(
      new RegExp(`^cannot read ${file}/[a-z-]+\\.pem: ENOTDIR`),
    );
  });

  it('refuses a required file that is a directory', async () => {
    const dir = tempDir();
    await writeTestPki(dir, pki);
    rmSync(join(dir, CACERTS_FILES.chain));
    mkdirSync(join(dir, CACERTS_FILES.chain));
    // cert-chain.pem is optional only when absent; a directory in its place is an error.
    await expect(loadCaDirectory(dir, NOW)).rejects.toThrow(
      `cannot read ${join(dir, CACERTS_FILES.chain)}: EISDIR`,
    );
  });

  it.each([
    [CACERTS_FILES.cert, 'ca-cert.pem: no certificate found'],
    [
      CACERTS_FILES.key,
      'ca-key.pem: not a readable unencrypted PKCS#1, SEC1 or PKCS#8 private key',
    ],
    [CACERTS_FILES.roots, 'root-cert.pem: no certificate found'],
  ])('refuses an empty %s', async (file, message) => {
    const dir = tempDir();
    await writeTestPki(dir, pki);
    writeFileSync(join(dir, file), '');
    const load = loadCaDirectory(dir, NOW);
    await expect(load).rejects.toBeInstanceOf(CaMaterialError);
    await expect(load).rejects.toHaveProperty('message', message);
  });

  it('accepts an empty cert-chain.pem when the signing certificate is issued by the root', async () => {
    const dir = tempDir();
    await writeTestPki(dir, pki);
    writeFileSync(join(dir, CACERTS_FILES.chain), '');
    const material = await loadCaDirectory(dir, NOW);
    expect(material.intermediates.map((cert) => cert.sha256)).toEqual([pki.signing.cert.sha256]);
  });
});

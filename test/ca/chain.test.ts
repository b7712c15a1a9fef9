import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import {
  OID_BASIC_CONSTRAINTS,
  OID_KEY_USAGE,
  parseCertificateDer,
  type ParsedCertificate,
} from '../../src/asn1/index.js';
import {
  SigningAuthority,
  buildCertificationPath,
  describe as describeCert,
  generateCaKey,
  issuedBy,
} from '../../src/ca/index.js';
import { createTestPki, type TestCa, type TestPki } from '../support/pki.js';
import { DAY, HOUR, makeCa, resign, wholeSeconds, workloadKey } from './fixtures.js';

const NOW = wholeSeconds(Date.now());
const VALID = {
  notBefore: new Date(NOW.getTime() - HOUR),
  notAfter: new Date(NOW.getTime() + 30 * DAY),
};

let pki: TestPki; // root → middle 1 → signing
let other: TestPki;
let leaf: ParsedCertificate; // issued by pki.signing, empty subject

beforeAll(async () => {
  [pki, other] = await Promise.all([
    createTestPki({ now: NOW, extraIntermediates: 1, name: 'chain' }),
    createTestPki({ now: NOW, name: 'other' }),
  ]);
  const authority = new SigningAuthority(pki.material(NOW), { verifyIssued: true });
  const issued = await authority.issue({
    spkiDer: workloadKey().spkiDer,
    subjectAltNames: [{ type: 'uri', value: 'spiffe://cluster.local/ns/default/sa/default' }],
    notBefore: new Date(NOW.getTime() - 2 * 60 * 1000),
    notAfter: new Date(NOW.getTime() + HOUR),
  });
  leaf = parseCertificateDer(issued.der);
});

const sha = (certs: readonly ParsedCertificate[]): string[] => certs.map((cert) => cert.sha256);

describe('issuedBy', () => {
  it.each([
    ['signing ← middle', () => pki.signing.cert, () => pki.middle[0]!.cert, true],
    ['middle ← root', () => pki.middle[0]!.cert, () => pki.root.cert, true],
    ['root ← root (self-signed)', () => pki.root.cert, () => pki.root.cert, true],
    ['leaf ← signing', () => leaf, () => pki.signing.cert, true],
    ['signing ← root (skips a level)', () => pki.signing.cert, () => pki.root.cert, false],
    ['middle ← signing (reversed)', () => pki.middle[0]!.cert, () => pki.signing.cert, false],
    ['signing ← other root', () => pki.signing.cert, () => other.root.cert, false],
  ])('%s: %p', (_label, child, parent, expected) => {
    expect(issuedBy(child(), parent())).toBe(expected);
  });

  it('refuses a parent with the right name but another key', async () => {
    const impostor = await makeCa('chain middle 1', {
      issuer: pki.root,
      key: generateCaKey('ec-p256'),
      ...VALID,
    });
    expect(impostor.cert.subjectDer).toEqual(pki.middle[0]!.cert.subjectDer);
    expect(issuedBy(pki.signing.cert, impostor.cert)).toBe(false);
  });
});

describe('buildCertificationPath: valid paths', () => {
  it.each([
    [
      'signing certificate through the middle intermediate',
      () => pki.signing.cert,
      () => [pki.middle[0]!.cert],
      () => [pki.signing.cert, pki.middle[0]!.cert],
    ],
    [
      'leaf through both intermediates',
      () => leaf,
      () => [pki.middle[0]!.cert, pki.signing.cert],
      () => [leaf, pki.signing.cert, pki.middle[0]!.cert],
    ],
    [
      'middle intermediate directly under the root',
      () => pki.middle[0]!.cert,
      () => [],
      () => [pki.middle[0]!.cert],
    ],
    ['the root itself (empty path)', () => pki.root.cert, () => [], () => []],
    [
      'a pool with unrelated certificates, the start itself and the root',
      () => leaf,
      () => [
        other.signing.cert,
        pki.root.cert,
        leaf,
        other.root.cert,
        pki.signing.cert,
        pki.middle[0]!.cert,
      ],
      () => [leaf, pki.signing.cert, pki.middle[0]!.cert],
    ],
  ])('%s', (_label, start, pool, expectedPath) => {
    const path = buildCertificationPath(start(), pool(), [other.root.cert, pki.root.cert], NOW);
    expect(sha(path.path)).toEqual(sha(expectedPath()));
    expect(path.anchor.sha256).toBe(pki.root.cert.sha256);
  });

  it('accepts the exact validity bounds', () => {
    const start = pki.signing.cert;
    for (const at of [start.notBefore, start.notAfter]) {
      expect(buildCertificationPath(start, [pki.middle[0]!.cert], [pki.root.cert], at).anchor).toBe(
        pki.root.cert,
      );
    }
  });
});

describe('buildCertificationPath: refusals', () => {
  it.each([
    [
      'no intermediate in the pool',
      () => buildCertificationPath(pki.signing.cert, [], [pki.root.cert], NOW),
      () => 'no issuer found for "CN=chain signing intermediate" among the intermediates and roots',
    ],
    [
      'the wrong roots',
      () => buildCertificationPath(pki.signing.cert, [pki.middle[0]!.cert], [other.root.cert], NOW),
      () => 'no issuer found for "CN=chain middle 1" among the intermediates and roots',
    ],
    [
      'a leaf with an empty subject and no issuer',
      () => buildCertificationPath(leaf, [], [pki.root.cert], NOW),
      () =>
        `no issuer found for "serial ${leaf.x509.serialNumber}" among the intermediates and roots`,
    ],
    [
      'the start expired',
      () =>
        buildCertificationPath(
          pki.signing.cert,
          [pki.middle[0]!.cert],
          [pki.root.cert],
          new Date(pki.signing.cert.notAfter.getTime() + 1000),
        ),
      () => `"CN=chain signing intermediate" expired at ${pki.signing.cert.notAfter.toISOString()}`,
    ],
    [
      'the start not yet valid',
      () =>
        buildCertificationPath(
          pki.signing.cert,
          [pki.middle[0]!.cert],
          [pki.root.cert],
          new Date(pki.signing.cert.notBefore.getTime() - 1000),
        ),
      () =>
        `"CN=chain signing intermediate" is not valid before ${pki.signing.cert.notBefore.toISOString()}`,
    ],
  ])('%s', (_label, build, message) => {
    expect(build).toThrow(message());
  });

  /** root → middle → signing with the given lifetimes and constraints. */
  async function hierarchy(options: {
    root?: { notBefore: Date; notAfter: Date; pathLength?: number };
    middle?: { notBefore: Date; notAfter: Date; pathLength?: number; isCa?: boolean };
    signing?: { pathLength?: number };
  }): Promise<{ root: TestCa; middle: TestCa; signing: TestCa }> {
    const root = await makeCa('h root', {
      key: generateCaKey('ec-p256'),
      ...VALID,
      ...options.root,
    });
    const middle = await makeCa('h middle', {
      issuer: root,
      key: generateCaKey('ec-p256'),
      ...VALID,
      ...options.middle,
    });
    const signing = await makeCa('h signing', {
      issuer: middle,
      key: generateCaKey('ec-p256'),
      ...VALID,
      ...options.signing,
    });
    return { root, middle, signing };
  }

  it('refuses an expired intermediate in the middle of the path', async () => {
    const { root, middle, signing } = await hierarchy({
      middle: {
        notBefore: new Date(NOW.getTime() - 10 * DAY),
        notAfter: new Date(NOW.getTime() - DAY),
      },
    });
    expect(() => buildCertificationPath(signing.cert, [middle.cert], [root.cert], NOW)).toThrow(
      `"CN=h middle" expired at ${middle.cert.notAfter.toISOString()}`,
    );
  });

  it('refuses an expired anchor', async () => {
    const { root, middle, signing } = await hierarchy({
      root: {
        notBefore: new Date(NOW.getTime() - 10 * DAY),
        notAfter: new Date(NOW.getTime() - DAY),
      },
    });
    expect(() => buildCertificationPath(signing.cert, [middle.cert], [root.cert], NOW)).toThrow(
      `"CN=h root" expired at ${root.cert.notAfter.toISOString()}`,
    );
  });

  it('refuses an anchor that is not yet valid', async () => {
    const { root, middle, signing } = await hierarchy({
      root: {
        notBefore: new Date(NOW.getTime() + DAY),
        notAfter: new Date(NOW.getTime() + 10 * DAY),
      },
    });
    expect(() => buildCertificationPath(signing.cert, [middle.cert], [root.cert], NOW)).toThrow(
      `"CN=h root" is not valid before ${root.cert.notBefore.toISOString()}`,
    );
  });

  it('refuses an issuer that is not a CA (basicConstraints CA:FALSE, keyUsage keyCertSign)', async () => {
    const { root, middle, signing } = await hierarchy({});
    const notCa = await resign(middle.cert.der, root.key.privateKey, (cert) => {
      const index = cert.extensions!.findIndex(
        (extension) => extension.extnID === OID_BASIC_CONSTRAINTS,
      );
      cert.extensions![index] = new pkijs.Extension({
        extnID: OID_BASIC_CONSTRAINTS,
        critical: true,
        extnValue: new pkijs.BasicConstraints({ cA: false }).toSchema().toBER(false),
      });
    });
    expect(notCa.isCa).toBe(false);
    expect(notCa.canSignCertificates).toBe(true);
    expect(() => buildCertificationPath(signing.cert, [notCa], [root.cert], NOW)).toThrow(
      '"CN=h middle" issues certificates but is not a CA',
    );
  });

  it('refuses an anchor that is not a CA', async () => {
    const { root, middle, signing } = await hierarchy({});
    const rootNotCa = await resign(root.cert.der, root.key.privateKey, (cert) => {
      cert.extensions = cert.extensions!.filter(
        (extension) => extension.extnID !== OID_BASIC_CONSTRAINTS,
      );
    });
    expect(rootNotCa.isCa).toBe(false);
    expect(() => buildCertificationPath(signing.cert, [middle.cert], [rootNotCa], NOW)).toThrow(
      '"CN=h root" issues certificates but is not a CA',
    );
  });

  it.each([
    ['a non-CA certificate (keyUsage digitalSignature, keyEncipherment)', 'builder'],
    ['a CA whose keyUsage lacks keyCertSign', 'resigned'],
  ] as const)('does not take %s as an issuer', async (_label, variant) => {
    // OpenSSL's issuer check (X509_check_issued, behind issuedBy) already rejects an issuer whose
    // keyUsage lacks keyCertSign, so no path is found through it.
    const { root, middle, signing } =
      variant === 'builder'
        ? await hierarchy({ middle: { ...VALID, isCa: false } })
        : await hierarchy({});
    const issuer =
      variant === 'builder'
        ? middle.cert
        : await resign(middle.cert.der, root.key.privateKey, (cert) => {
            const index = cert.extensions!.findIndex(
              (extension) => extension.extnID === OID_KEY_USAGE,
            );
            cert.extensions![index] = new pkijs.Extension({
              extnID: OID_KEY_USAGE,
              critical: true,
              // cRLSign only.
              extnValue: new asn1js.BitString({
                valueHex: new Uint8Array([0x02]),
                unusedBits: 1,
              }).toBER(false),
            });
          });
    expect(issuer.canSignCertificates).toBe(false);
    expect(issuedBy(signing.cert, issuer)).toBe(false);
    expect(() => buildCertificationPath(signing.cert, [issuer], [root.cert], NOW)).toThrow(
      'no issuer found for "CN=h signing" among the intermediates and roots',
    );
  });

  it.each([
    // [label, root pathLen, middle pathLen, start, offender, allowed, actual]
    ['root 0, CA start two levels below', 0, undefined, 'signing', 'h root', 0, 2],
    ['root 1, CA start two levels below', 1, undefined, 'signing', 'h root', 1, 2],
    ['middle 0, CA start below it', undefined, 0, 'signing', 'h middle', 0, 1],
    ['middle 0, leaf two levels below', undefined, 0, 'leaf', 'h middle', 0, 1],
    ['root 1, leaf three levels below', 1, undefined, 'leaf', 'h root', 1, 2],
  ] as const)(
    'refuses a pathLenConstraint violation: %s',
    async (_label, rootLength, middleLength, startKind, offender, allowed, actual) => {
      const { root, middle, signing } = await hierarchy({
        root: { ...VALID, ...(rootLength === undefined ? {} : { pathLength: rootLength }) },
        middle: { ...VALID, ...(middleLength === undefined ? {} : { pathLength: middleLength }) },
      });
      const pool = [middle.cert];
      let start = signing.cert;
      if (startKind === 'leaf') {
        start = (
          await makeCa('h leaf', {
            issuer: signing,
            key: generateCaKey('ec-p256'),
            ...VALID,
            isCa: false,
          })
        ).cert;
        pool.push(signing.cert);
      }
      expect(() => buildCertificationPath(start, pool, [root.cert], NOW)).toThrow(
        `"CN=${offender}" allows ${allowed} intermediates below it, the path has ${actual}`,
      );
    },
  );

  it.each([
    ['root 2, middle 1, signing 0 with a leaf', 2, 1, 0, 'leaf'],
    ['root 1, middle 0 with a CA start', 1, 0, undefined, 'middle'],
    ['signing 0 with a leaf directly below', undefined, undefined, 0, 'leaf'],
  ] as const)(
    'accepts pathLenConstraints that are met exactly: %s',
    async (_label, rootLength, middleLength, signingLength, startKind) => {
      const { root, middle, signing } = await hierarchy({
        root: { ...VALID, ...(rootLength === undefined ? {} : { pathLength: rootLength }) },
        middle: { ...VALID, ...(middleLength === undefined ? {} : { pathLength: middleLength }) },
        signing: signingLength === undefined ? {} : { pathLength: signingLength },
      });
      const start =
        startKind === 'leaf'
          ? (
              await makeCa('h leaf', {
                issuer: signing,
                key: generateCaKey('ec-p256'),
                ...VALID,
                isCa: false,
              })
            ).cert
          : middle.cert;
      const path = buildCertificationPath(start, [signing.cert, middle.cert], [root.cert], NOW);
      expect(path.anchor.sha256).toBe(root.cert.sha256);
      expect(path.path[0]!.sha256).toBe(start.sha256);
    },
  );

  it('refuses a path longer than 8 certificates', async () => {
    let parent: TestCa = await makeCa('long root', { key: generateCaKey('ec-p256'), ...VALID });
    const root = parent;
    const chain: ParsedCertificate[] = [];
    for (let i = 1; i <= 10; i++) {
      parent = await makeCa(`long ${i}`, {
        issuer: parent,
        key: generateCaKey('ec-p256'),
        ...VALID,
      });
      chain.push(parent.cert);
    }
    const start = chain.pop()!;
    expect(() => buildCertificationPath(start, chain, [root.cert], NOW)).toThrow(
      'certification path is longer than 8',
    );
    // Nine certificates below the root are still followed.
    const shorter = chain.pop()!;
    expect(buildCertificationPath(shorter, chain, [root.cert], NOW).path).toHaveLength(9);
  });
});

describe('describe', () => {
  it.each([
    ['a subject with O and CN', () => pki.root.cert, 'O=meshca tests, CN=chain root'],
    ['a subject with only CN', () => pki.signing.cert, 'CN=chain signing intermediate'],
  ])('prints %s on one line', (_label, cert, expected) => {
    expect(describeCert(cert())).toBe(expected);
  });

  it('prints the serial number for an empty subject', () => {
    expect(leaf.subjectDer.toString('hex')).toBe('3000');
    expect(describeCert(leaf)).toBe(`serial ${leaf.x509.serialNumber}`);
    expect(describeCert(leaf)).toMatch(/^serial [0-9A-F]{32}$/);
  });
});

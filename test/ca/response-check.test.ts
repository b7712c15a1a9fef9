import {
  OID_EXT_KEY_USAGE,
  OID_KP_SERVER_AUTH,
  parseCertificateDer,
} from '../../src/asn1/index.js';
import type { ParsedCertificate } from '../../src/asn1/index.js';
import * as pkijs from 'pkijs';
import {
  SigningAuthority,
  checkCertificateChain,
  loadCaMaterial,
  type ChainExpectations,
  type IssuedCertificate,
  type SubjectAltName,
} from '../../src/ca/index.js';
import { createTestPki, type TestPki } from '../support/pki.js';
import { HOUR, resign, wholeSeconds, workloadKey, type WorkloadKeyPair } from './fixtures.js';

const NOW = wholeSeconds(Date.now());
const URI = 'spiffe://cluster.local/ns/shop/sa/cart';

let pki: TestPki; // root → middle → signing
let other: TestPki;
let key: WorkloadKeyPair;
let issued: IssuedCertificate;
let leaf: ParsedCertificate;
let good: string[]; // [leaf, signing, middle, bundle]
let expected: ChainExpectations;

async function issue(
  authority: SigningAuthority,
  names: readonly SubjectAltName[] = [{ type: 'uri', value: URI }],
): Promise<IssuedCertificate> {
  return authority.issue({
    spkiDer: key.spkiDer,
    subjectAltNames: names,
    notBefore: new Date(NOW.getTime() - 120_000),
    notAfter: new Date(NOW.getTime() + HOUR),
  });
}

beforeAll(async () => {
  [pki, other] = await Promise.all([
    createTestPki({ now: NOW, extraIntermediates: 1, name: 'response' }),
    createTestPki({ now: NOW, extraIntermediates: 1, name: 'other' }),
  ]);
  key = workloadKey();
  issued = await issue(new SigningAuthority(pki.material(NOW), { verifyIssued: true }));
  leaf = parseCertificateDer(issued.der);
  good = [issued.pem, ...issued.intermediatePems, issued.trustBundle.pem];
  expected = { uri: URI, spkiDer: key.spkiDer, at: NOW };
});

describe('checkCertificateChain accepts', () => {
  it('a response of leaf, two intermediates and the bundle', () => {
    expect(good).toHaveLength(4);
    const checked = checkCertificateChain(good, expected);
    expect(checked.leaf.sha256).toBe(leaf.sha256);
    expect(checked.intermediates.map((cert) => cert.sha256)).toEqual([
      pki.signing.cert.sha256,
      pki.middle[0]!.cert.sha256,
    ]);
    expect(checked.roots.map((cert) => cert.sha256)).toEqual([pki.root.cert.sha256]);
    expect(checked.anchor.sha256).toBe(pki.root.cert.sha256);
    expect(checked.uri).toBe(URI);
  });

  it('intermediates in any order, since the path is rebuilt', () => {
    const [first, a, b, bundle] = good;
    const checked = checkCertificateChain([first!, b!, a!, bundle!], expected);
    expect(checked.anchor.sha256).toBe(pki.root.cert.sha256);
  });

  it('a bundle of several roots in the last element', () => {
    const checked = checkCertificateChain(
      [...good.slice(0, -1), other.root.cert.pem + pki.root.cert.pem],
      expected,
    );
    expect(checked.roots).toHaveLength(2);
    expect(checked.anchor.sha256).toBe(pki.root.cert.sha256);
  });

  it('the minimal two elements: a leaf signed by the root itself', async () => {
    const rootMaterial = loadCaMaterial(
      {
        caCertPem: pki.root.cert.pem,
        caKeyPem: pki.root.key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        certChainPem: undefined,
        rootCertPem: pki.root.cert.pem,
      },
      NOW,
    );
    const direct = await issue(new SigningAuthority(rootMaterial, { verifyIssued: true }));
    expect(direct.intermediatePems).toEqual([]);
    const checked = checkCertificateChain([direct.pem, direct.trustBundle.pem], expected);
    expect(checked.intermediates).toEqual([]);
    expect(checked.anchor.sha256).toBe(pki.root.cert.sha256);
  });

  it('a leaf whose first URI SAN follows a DNS name', async () => {
    const authority = new SigningAuthority(pki.material(NOW), { verifyIssued: true });
    const mixed = await issue(authority, [
      { type: 'dns', value: 'cart.shop.svc' },
      { type: 'uri', value: URI },
      { type: 'uri', value: 'spiffe://cluster.local/ns/shop/sa/other' },
    ]);
    const checked = checkCertificateChain(
      [mixed.pem, ...mixed.intermediatePems, mixed.trustBundle.pem],
      expected,
    );
    expect(checked.uri).toBe(URI);
  });
});

describe('checkCertificateChain refuses', () => {
  /** The error a response causes; fails the test if it is accepted. */
  function refusal(chain: readonly string[], expectations = expected): Error {
    try {
      checkCertificateChain(chain, expectations);
    } catch (error) {
      expect(error).toBeInstanceOf(Error);
      return error as Error;
    }
    throw new Error('the response was accepted');
  }

  it.each([
    ['no element', () => [], 'cert_chain has 0 element(s); Istio needs at least 2'],
    ['only the leaf', () => [good[0]!], 'cert_chain has 1 element(s); Istio needs at least 2'],
    [
      'everything concatenated into one element',
      () => [good.join('')],
      'cert_chain has 1 element(s); Istio needs at least 2',
    ],
  ])('fewer than 2 elements: %s', (_label, chain, message) => {
    expect(refusal(chain()).message).toBe(message);
  });

  it.each([0, 1, 2, 3])('element %i without a trailing newline', (index) => {
    const chain = good.map((element, i) => (i === index ? element.trimEnd() : element));
    expect(refusal(chain).message).toBe(`cert_chain[${index}] does not end with a newline`);
  });

  it.each([
    ['two intermediates in one element', () => [good[0]!, good[1]! + good[2]!, good[3]!], 1],
    ['the leaf and its issuer in one element', () => [good[0]! + good[1]!, good[2]!, good[3]!], 0],
  ])('an element with several certificates: %s', (_label, chain, index) => {
    expect(refusal(chain()).message).toBe(`cert_chain[${index}] must hold exactly one certificate`);
  });

  it('an empty intermediate element', () => {
    expect(refusal([good[0]!, '\n', good[3]!]).message).toBe('cert_chain[1]: no certificate found');
  });

  it('the root among the intermediates (istio/istio#43654)', () => {
    expect(refusal([...good.slice(0, 3), pki.root.cert.pem, good[3]!]).message).toBe(
      'a root appears among the intermediates',
    );
  });

  it.each([
    ['a private key after the bundle', 3, () => good[3]! + pki.files.caKeyPem],
    ['a private key as the leaf', 0, () => pki.files.caKeyPem],
  ])('a non-CERTIFICATE block: %s', (_label, index, element) => {
    const chain = [...good];
    chain[index] = element();
    expect(refusal(chain).message).toMatch(
      new RegExp(`^cert_chain\\[${index}\\]: block \\d is PRIVATE KEY, expected CERTIFICATE$`),
    );
  });

  it("a leaf whose key is not the requester's", () => {
    expect(refusal(good, { ...expected, spkiDer: workloadKey().spkiDer }).message).toBe(
      "the leaf's public key is not the requester's",
    );
  });

  it('a leaf for another identity', () => {
    const wrong = 'spiffe://cluster.local/ns/shop/sa/checkout';
    expect(refusal(good, { ...expected, uri: wrong }).message).toBe(
      `the leaf's first URI SAN is ${URI}, expected ${wrong}`,
    );
  });

  it('a leaf without a URI SAN', async () => {
    const authority = new SigningAuthority(pki.material(NOW), { verifyIssued: true });
    const dnsOnly = await issue(authority, [{ type: 'dns', value: 'cart.shop.svc' }]);
    expect(refusal([dnsOnly.pem, ...good.slice(1)]).message).toBe(
      `the leaf's first URI SAN is missing, expected ${URI}`,
    );
  });

  it('a CA certificate in the leaf position', () => {
    const asCa = [pki.signing.cert.pem, pki.middle[0]!.cert.pem, good[3]!];
    const signingSpki = pki.signing.cert.x509.publicKey.export({ type: 'spki', format: 'der' });
    expect(refusal(asCa, { ...expected, spkiDer: signingSpki }).message).toBe(
      'the leaf is a CA certificate',
    );
  });

  it.each([
    ['no extKeyUsage at all', undefined],
    ['serverAuth only', [OID_KP_SERVER_AUTH]],
  ])('a leaf with %s', async (_label, purposes) => {
    const changed = await resign(leaf.der, pki.signing.key.privateKey, (cert) => {
      const rest = cert.extensions!.filter((extension) => extension.extnID !== OID_EXT_KEY_USAGE);
      cert.extensions =
        purposes === undefined
          ? rest
          : [
              ...rest,
              new pkijs.Extension({
                extnID: OID_EXT_KEY_USAGE,
                critical: false,
                extnValue: new pkijs.ExtKeyUsage({ keyPurposes: purposes }).toSchema().toBER(false),
              }),
            ];
    });
    expect(refusal([changed.pem, ...good.slice(1)]).message).toBe(
      'the leaf lacks serverAuth or clientAuth',
    );
  });

  it('a chain that does not reach the bundle', () => {
    expect(refusal([...good.slice(0, 3), other.root.cert.pem]).message).toBe(
      'no issuer found for "CN=response middle 1" among the intermediates and roots',
    );
  });

  it("a leaf from another CA in front of this CA's intermediates", async () => {
    const foreignAuthority = new SigningAuthority(other.material(NOW), { verifyIssued: true });
    const foreign = parseCertificateDer((await issue(foreignAuthority)).der);
    expect(refusal([foreign.pem, ...good.slice(1)]).message).toBe(
      `no issuer found for "serial ${foreign.x509.serialNumber}" among the intermediates and roots`,
    );
  });

  it('an intermediate that is not on the path', () => {
    const extra = [...good.slice(0, 3), other.middle[0]!.cert.pem, good[3]!];
    expect(refusal(extra).message).toBe(
      'the intermediates do not form the path from the leaf to a root',
    );
  });

  it('a missing intermediate', () => {
    expect(refusal([good[0]!, good[1]!, good[3]!]).message).toBe(
      'no issuer found for "CN=response signing intermediate" among the intermediates and roots',
    );
  });

  it('a leaf that has expired at the time of the check', () => {
    expect(refusal(good, { ...expected, at: new Date(NOW.getTime() + 2 * HOUR) }).message).toMatch(
      /^"serial [0-9A-F]+" expired at /,
    );
  });
});

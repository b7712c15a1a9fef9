import { X509Certificate } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import {
  GENERAL_NAME_DNS,
  GENERAL_NAME_IP,
  GENERAL_NAME_URI,
  OID_AUTHORITY_KEY_IDENTIFIER,
  OID_BASIC_CONSTRAINTS,
  OID_ECDSA_WITH_SHA256,
  OID_ECDSA_WITH_SHA384,
  OID_EXT_KEY_USAGE,
  OID_KEY_USAGE,
  OID_KP_CLIENT_AUTH,
  OID_KP_SERVER_AUTH,
  OID_SHA256_WITH_RSA,
  OID_SUBJECT_ALT_NAME,
  OID_SUBJECT_KEY_IDENTIFIER,
  PEM_CERTIFICATE,
  createCryptoEngine,
  encodePem,
} from '../../src/asn1/index.js';
import {
  CertificateAuthority,
  SigningAuthority,
  type CaKeyType,
  type CaMaterial,
  type IssuedCertificate,
  type LeafFields,
  type SigningAuthority as SigningAuthorityType,
} from '../../src/ca/index.js';
import { InternalError, MeshCaError, UnavailableError } from '../../src/errors.js';
import { createTestPki, type TestPki } from '../support/pki.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';
import {
  HOUR,
  colonHex,
  extensionOf,
  extensionText,
  openssl,
  opensslText,
  outerSignatureAlgorithm,
  tbsElements,
  wholeSeconds,
  workloadKey,
  writePem,
  type WorkloadKeyPair,
} from './fixtures.js';

const NOW = wholeSeconds(Date.now());
const SPIFFE_ID = 'spiffe://cluster.local/ns/default/sa/default';
const SERVING_DNS = 'meshca.istio-system.svc';
const SERVING_IP = Uint8Array.from([10, 1, 2, 3]);

afterAll(removeTempDirs);

/** The fields of one leaf: istiod's window (2 minutes backdated), whole seconds. */
function fields(
  key: WorkloadKeyPair,
  subjectAltNames: LeafFields['subjectAltNames'] = [{ type: 'uri', value: SPIFFE_ID }],
): LeafFields {
  return {
    spkiDer: key.spkiDer,
    subjectAltNames,
    notBefore: new Date(NOW.getTime() - 2 * 60 * 1000),
    notAfter: new Date(NOW.getTime() + HOUR),
  };
}

/** Writes root, chain and leaf, and runs `openssl verify` on them. */
function opensslVerify(
  dir: string,
  issued: IssuedCertificate,
  extra: readonly string[] = [],
): ReturnType<typeof openssl> {
  const root = writePem(dir, 'root.pem', issued.trustBundle.pem);
  const chain = writePem(dir, 'chain.pem', issued.intermediatePems.join(''));
  const leaf = writePem(dir, 'leaf.pem', issued.pem);
  return openssl(['verify', ...extra, '-CAfile', root, '-untrusted', chain, leaf]);
}

const PROFILES = [
  {
    keyType: 'ec-p256',
    signatureOid: OID_ECDSA_WITH_SHA256,
    opensslName: 'ecdsa-with-SHA256',
  },
  {
    keyType: 'ec-p384',
    signatureOid: OID_ECDSA_WITH_SHA384,
    opensslName: 'ecdsa-with-SHA384',
  },
  {
    keyType: 'rsa-2048',
    signatureOid: OID_SHA256_WITH_RSA,
    opensslName: 'sha256WithRSAEncryption',
  },
] as const satisfies readonly { keyType: CaKeyType; signatureOid: string; opensslName: string }[];

describe.each(PROFILES)(
  'a certificate issued by a $keyType CA (istiod profile, ISTIO-CONTRACT §4.4)',
  ({ keyType, signatureOid, opensslName }) => {
    let pki: TestPki;
    let material: CaMaterial;
    let key: WorkloadKeyPair;
    let workload: IssuedCertificate;
    let serving: IssuedCertificate;
    let x509: X509Certificate;
    let cert: pkijs.Certificate;
    let text: string;
    let servingText: string;
    let dir: string;

    beforeAll(async () => {
      pki = await createTestPki({ now: NOW, keyType, name: keyType });
      material = pki.material(NOW);
      key = workloadKey();
      const authority = new SigningAuthority(material, { verifyIssued: true });
      workload = await authority.issue(fields(key));
      serving = await authority.issue(
        fields(key, [
          { type: 'uri', value: SPIFFE_ID },
          { type: 'dns', value: SERVING_DNS },
          { type: 'ip', value: SERVING_IP },
        ]),
      );
      x509 = new X509Certificate(workload.der);
      cert = pkijs.Certificate.fromBER(workload.der);
      dir = tempDir();
      text = opensslText(dir, 'workload.pem', workload.pem);
      servingText = opensslText(dir, 'serving.pem', serving.pem);
    });

    it('is version 3', () => {
      expect(cert.version).toBe(2);
      expect(tbsElements(workload.der).version.toString('hex')).toBe('a003020102');
      expect(text).toContain('Version: 3 (0x2)');
    });

    it('has a positive serial of 16 octets, random per certificate', () => {
      const serial = Buffer.from(cert.serialNumber.valueBlock.valueHexView);
      // 128 random bits at most (istiod: [0, 2^128)); ours always fills all 16 octets.
      expect(serial).toHaveLength(16);
      expect(serial[0]! & 0x80).toBe(0);
      expect(serial[0]).not.toBe(0);
      expect(serial.toString('hex')).toBe(workload.serialHex);
      expect(x509.serialNumber.toLowerCase()).toBe(workload.serialHex);
      expect(text).toContain(colonHex(serial).toLowerCase());
      expect(serving.serialHex).not.toBe(workload.serialHex);
    });

    it("has the signing certificate's subject bytes as its issuer", () => {
      expect(tbsElements(workload.der).issuer).toEqual(pki.signing.cert.subjectDer);
      expect(Buffer.from(cert.issuer.valueBeforeDecode)).toEqual(pki.signing.cert.subjectDer);
      expect(x509.issuer).toBe(pki.signing.cert.x509.subject);
      expect(x509.checkIssued(pki.signing.cert.x509)).toBe(true);
    });

    it('has an empty subject', () => {
      expect(tbsElements(workload.der).subject.toString('hex')).toBe('3000');
      expect(cert.subject.typesAndValues).toHaveLength(0);
      expect(x509.subject || '').toBe('');
      expect(text).toMatch(/\n\s+Subject: ?\n/);
    });

    it('has exactly the requested validity (whole seconds)', () => {
      const { notBefore, notAfter } = fields(key);
      expect(cert.notBefore.value.getTime()).toBe(notBefore.getTime());
      expect(cert.notAfter.value.getTime()).toBe(notAfter.getTime());
      expect(new Date(x509.validFrom).getTime()).toBe(notBefore.getTime());
      expect(new Date(x509.validTo).getTime()).toBe(notAfter.getTime());
      expect(workload.notBefore).toEqual(notBefore);
      expect(workload.notAfter).toEqual(notAfter);
    });

    it('carries the given SubjectPublicKeyInfo byte for byte', () => {
      expect(tbsElements(workload.der).subjectPublicKeyInfo).toEqual(key.spkiDer);
      expect(x509.publicKey.export({ type: 'spki', format: 'der' })).toEqual(key.spkiDer);
    });

    it('has exactly keyUsage, extKeyUsage, basicConstraints, authorityKeyIdentifier and subjectAltName', () => {
      expect(cert.extensions?.map((extension) => [extension.extnID, extension.critical])).toEqual([
        [OID_KEY_USAGE, true],
        [OID_EXT_KEY_USAGE, false],
        [OID_BASIC_CONSTRAINTS, true],
        [OID_AUTHORITY_KEY_IDENTIFIER, false],
        [OID_SUBJECT_ALT_NAME, true],
      ]);
      expect(extensionOf(cert, OID_SUBJECT_KEY_IDENTIFIER)).toBeUndefined();
      expect(text).not.toContain('Subject Key Identifier');
    });

    it('has a critical keyUsage of exactly digitalSignature and keyEncipherment', () => {
      const keyUsage = extensionOf(cert, OID_KEY_USAGE)!.parsedValue as asn1js.BitString;
      // Bits 0 and 2 (RFC 5280 §4.2.1.3), minimal DER: 5 unused bits.
      expect(Buffer.from(keyUsage.valueBlock.valueHexView).toString('hex')).toBe('a0');
      expect(keyUsage.valueBlock.unusedBits).toBe(5);
      expect(extensionText(text, 'X509v3 Key Usage')).toEqual({
        critical: true,
        value: 'Digital Signature, Key Encipherment',
      });
    });

    it('has a non-critical extKeyUsage of serverAuth and clientAuth', () => {
      const eku = extensionOf(cert, OID_EXT_KEY_USAGE)!.parsedValue as pkijs.ExtKeyUsage;
      expect(eku.keyPurposes).toEqual([OID_KP_SERVER_AUTH, OID_KP_CLIENT_AUTH]);
      expect(x509.keyUsage).toEqual([OID_KP_SERVER_AUTH, OID_KP_CLIENT_AUTH]);
      expect(extensionText(text, 'X509v3 Extended Key Usage')).toEqual({
        critical: false,
        value: 'TLS Web Server Authentication, TLS Web Client Authentication',
      });
    });

    it('has a critical basicConstraints of CA:FALSE', () => {
      const basic = extensionOf(cert, OID_BASIC_CONSTRAINTS)!.parsedValue as pkijs.BasicConstraints;
      expect(basic.cA).toBe(false);
      expect(basic.pathLenConstraint).toBeUndefined();
      expect(x509.ca).toBe(false);
      expect(extensionText(text, 'X509v3 Basic Constraints')).toEqual({
        critical: true,
        value: 'CA:FALSE',
      });
    });

    it("has an authorityKeyIdentifier equal to the issuer's key identifier", () => {
      const aki = extensionOf(cert, OID_AUTHORITY_KEY_IDENTIFIER)!
        .parsedValue as pkijs.AuthorityKeyIdentifier;
      const keyIdentifier = Buffer.from(aki.keyIdentifier!.valueBlock.valueHexView);
      expect(keyIdentifier).toEqual(pki.signing.cert.keyIdentifier);
      // ... which is the signing certificate's own subjectKeyIdentifier extension.
      const issuer = pkijs.Certificate.fromBER(pki.signing.cert.der);
      const ski = extensionOf(issuer, OID_SUBJECT_KEY_IDENTIFIER)!
        .parsedValue as asn1js.OctetString;
      expect(keyIdentifier).toEqual(Buffer.from(ski.valueBlock.valueHexView));
      expect(aki.authorityCertIssuer).toBeUndefined();
      expect(aki.authorityCertSerialNumber).toBeUndefined();
      expect(extensionText(text, 'X509v3 Authority Key Identifier')?.value).toContain(
        colonHex(keyIdentifier),
      );
    });

    it('has a critical subjectAltName with only the SPIFFE URI for a workload', () => {
      const san = extensionOf(cert, OID_SUBJECT_ALT_NAME)!.parsedValue as pkijs.AltName;
      expect(san.altNames.map((name) => [name.type, name.value as unknown])).toEqual([
        [GENERAL_NAME_URI, SPIFFE_ID],
      ]);
      expect(x509.subjectAltName).toBe(`URI:${SPIFFE_ID}`);
      expect(extensionText(text, 'X509v3 Subject Alternative Name')).toEqual({
        critical: true,
        value: `URI:${SPIFFE_ID}`,
      });
    });

    it('has the URI first, then DNS and IP entries, for the serving profile', () => {
      const servingCert = pkijs.Certificate.fromBER(serving.der);
      const san = extensionOf(servingCert, OID_SUBJECT_ALT_NAME)!.parsedValue as pkijs.AltName;
      expect(san.altNames.map((name) => name.type)).toEqual([
        GENERAL_NAME_URI,
        GENERAL_NAME_DNS,
        GENERAL_NAME_IP,
      ]);
      expect(san.altNames[0]!.value).toBe(SPIFFE_ID);
      expect(san.altNames[1]!.value).toBe(SERVING_DNS);
      const ip = san.altNames[2]!.value as asn1js.OctetString;
      expect(Buffer.from(ip.valueBlock.valueHexView)).toEqual(Buffer.from(SERVING_IP));
      expect(new X509Certificate(serving.der).subjectAltName).toBe(
        `URI:${SPIFFE_ID}, DNS:${SERVING_DNS}, IP Address:10.1.2.3`,
      );
      expect(extensionText(servingText, 'X509v3 Subject Alternative Name')).toEqual({
        critical: true,
        value: `URI:${SPIFFE_ID}, DNS:${SERVING_DNS}, IP Address:10.1.2.3`,
      });
    });

    it(`is signed with ${opensslName}, following the CA key`, () => {
      expect(cert.signatureAlgorithm.algorithmId).toBe(signatureOid);
      expect(cert.signature.algorithmId).toBe(signatureOid);
      const outer = outerSignatureAlgorithm(workload.der);
      expect(tbsElements(workload.der).signature).toEqual(outer);
      const parameters = (asn1js.fromBER(outer).result as asn1js.Sequence).valueBlock.value.slice(
        1,
      );
      if (keyType === 'rsa-2048') {
        // RFC 4055 §5: NULL parameters.
        expect(parameters.map((value) => value.constructor.name)).toEqual(['Null']);
      } else {
        // RFC 5758 §3.2: no parameters.
        expect(parameters).toHaveLength(0);
      }
      expect(text).toContain(`Signature Algorithm: ${opensslName}`);
    });

    it("verifies with the issuer's key and not with another", async () => {
      expect(x509.verify(pki.signing.cert.x509.publicKey)).toBe(true);
      expect(x509.verify(pki.root.cert.x509.publicKey)).toBe(false);
      const issuer = pkijs.Certificate.fromBER(pki.signing.cert.der);
      await expect(cert.verify(issuer, createCryptoEngine())).resolves.toBe(true);
    });

    it.each([
      ['default purpose', []],
      ['as a TLS client, strict', ['-x509_strict', '-purpose', 'sslclient']],
      ['as a TLS server, strict', ['-x509_strict', '-purpose', 'sslserver']],
    ])('passes openssl verify against the root through the chain (%s)', (_label, extra) => {
      for (const issued of [workload, serving]) {
        const result = opensslVerify(dir, issued, extra);
        expect(result.stderr).toBe('');
        expect(result.stdout.trim()).toBe(`${dir}/leaf.pem: OK`);
        expect(result.status).toBe(0);
      }
    });

    it('fails openssl verify without the intermediate (the check is meaningful)', () => {
      const root = writePem(dir, 'root-only.pem', workload.trustBundle.pem);
      const leaf = writePem(dir, 'leaf-only.pem', workload.pem);
      const result = openssl(['verify', '-CAfile', root, leaf]);
      expect(result.status).not.toBe(0);
      expect(result.stdout + result.stderr).toContain('unable to get local issuer certificate');
    });

    it('returns PEM, chain, bundle and fingerprint of its authority', () => {
      expect(workload.pem).toBe(encodePem(PEM_CERTIFICATE, workload.der));
      expect(workload.pem.endsWith('-----END CERTIFICATE-----\n')).toBe(true);
      expect(workload.intermediatePems).toEqual([pki.signing.cert.pem]);
      expect(workload.trustBundle).toBe(material.trustBundle);
      expect(workload.trustBundle.pem).toBe(pki.root.cert.pem);
      expect(workload.issuerFingerprint).toBe(pki.signing.cert.sha256);
    });
  },
);

describe('SigningAuthority.issue', () => {
  let pki: TestPki;
  let deepPki: TestPki;
  let material: CaMaterial;
  let authority: SigningAuthorityType;
  let key: WorkloadKeyPair;

  beforeAll(async () => {
    [pki, deepPki] = await Promise.all([
      createTestPki({ now: NOW, signingLifetimeMs: 2 * HOUR, name: 'short' }),
      createTestPki({ now: NOW, extraIntermediates: 1, name: 'deep' }),
    ]);
    material = pki.material(NOW);
    authority = new SigningAuthority(material, { verifyIssued: true });
    key = workloadKey();
  });

  it('gives every certificate its own serial', async () => {
    const serials = new Set<string>();
    for (let i = 0; i < 20; i++) serials.add((await authority.issue(fields(key))).serialHex);
    expect(serials.size).toBe(20);
  });

  it('issues up to the exact end of the CA lifetime', async () => {
    const issued = await authority.issue({ ...fields(key), notAfter: material.notAfter });
    expect(new Date(new X509Certificate(issued.der).validTo)).toEqual(material.notAfter);
  });

  it.each([
    [
      'one second past the CA lifetime',
      () => new Date(material.notAfter.getTime() + 1000),
      undefined,
      'ERR_CA_EXPIRED',
    ],
    [
      'a year past the CA lifetime',
      () => new Date(material.notAfter.getTime() + 365 * 24 * HOUR),
      undefined,
      'ERR_CA_EXPIRED',
    ],
    [
      'an empty window (notBefore = notAfter)',
      () => new Date(NOW.getTime()),
      () => new Date(NOW.getTime()),
      'ERR_VALIDITY_EMPTY',
    ],
    [
      'an inverted window',
      () => new Date(NOW.getTime()),
      () => new Date(NOW.getTime() + 1000),
      'ERR_VALIDITY_EMPTY',
    ],
  ])('refuses %s with an InternalError', async (_label, notAfter, notBefore, code) => {
    const request = {
      ...fields(key),
      notAfter: notAfter(),
      ...(notBefore === undefined ? {} : { notBefore: notBefore() }),
    };
    const error: unknown = await authority.issue(request).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(InternalError);
    expect(error).toMatchObject({ code, kind: 'internal' });
    expect((error as Error).message).toContain(material.notAfter.toISOString());
  });

  it('returns every intermediate, in issuer order, and openssl verifies the chain', async () => {
    const deep = new SigningAuthority(deepPki.material(NOW), { verifyIssued: true });
    const issued = await deep.issue(fields(key));
    expect(issued.intermediatePems).toEqual([
      deepPki.signing.cert.pem,
      deepPki.middle[0]!.cert.pem,
    ]);
    const result = opensslVerify(tempDir(), issued, ['-x509_strict']);
    expect(result.stdout.trim()).toMatch(/leaf\.pem: OK$/);
    expect(result.status).toBe(0);
  });

  it('accepts an RSA workload key and embeds it unchanged', async () => {
    const rsa = workloadKey('rsa-2048');
    const issued = await authority.issue(fields(rsa));
    expect(tbsElements(issued.der).subjectPublicKeyInfo).toEqual(rsa.spkiDer);
  });

  it('detects a signature that does not verify when verifyIssued is on', async () => {
    // Material whose key is not the signing certificate's: loadCaMaterial refuses this, so the
    // post-sign check is the last line of defence against such a wiring bug.
    const mismatched: CaMaterial = { ...material, signingKey: deepPki.signing.key.privateKey };
    const checked = new SigningAuthority(mismatched, { verifyIssued: true });
    const error: unknown = await checked.issue(fields(key)).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(InternalError);
    expect(error).toMatchObject({ code: 'ERR_SIGNING_FAILED', kind: 'internal' });

    const unchecked = new SigningAuthority(mismatched, { verifyIssued: false });
    const issued = await unchecked.issue(fields(key));
    expect(new X509Certificate(issued.der).verify(pki.signing.cert.x509.publicKey)).toBe(false);
  });
});

describe('CertificateAuthority', () => {
  let first: TestPki;
  let second: TestPki;
  let key: WorkloadKeyPair;

  beforeAll(async () => {
    [first, second] = await Promise.all([
      createTestPki({ now: NOW, name: 'first' }),
      createTestPki({ now: NOW, name: 'second' }),
    ]);
    key = workloadKey();
  });

  it('is not ready and throws UnavailableError ERR_CA_NOT_READY before install', () => {
    const ca = new CertificateAuthority({ verifyIssued: true });
    expect(ca.ready).toBe(false);
    let error: unknown;
    try {
      ca.current();
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(UnavailableError);
    expect(error).toBeInstanceOf(MeshCaError);
    expect(error).toMatchObject({ code: 'ERR_CA_NOT_READY', kind: 'unavailable' });
  });

  it('serves the installed authority and notifies every listener', () => {
    const ca = new CertificateAuthority({ verifyIssued: true });
    const seenA: SigningAuthorityType[] = [];
    const seenB: SigningAuthorityType[] = [];
    ca.onChange((authority) => seenA.push(authority));
    ca.onChange((authority) => seenB.push(authority));

    const installed = ca.install(first.material(NOW));

    expect(ca.ready).toBe(true);
    expect(ca.current()).toBe(installed);
    expect(installed.material.signingCert.sha256).toBe(first.signing.cert.sha256);
    expect(seenA).toEqual([installed]);
    expect(seenB).toEqual([installed]);
  });

  it('stops notifying a listener after it unsubscribes', () => {
    const ca = new CertificateAuthority({ verifyIssued: true });
    const kept: SigningAuthorityType[] = [];
    const dropped: SigningAuthorityType[] = [];
    ca.onChange((authority) => kept.push(authority));
    const unsubscribe = ca.onChange((authority) => dropped.push(authority));

    const one = ca.install(first.material(NOW));
    unsubscribe();
    const two = ca.install(second.material(NOW));
    unsubscribe(); // a second call is harmless

    expect(dropped).toEqual([one]);
    expect(kept).toEqual([one, two]);
    expect(ca.current()).toBe(two);
  });

  it('lets a request that took the old authority finish with the old chain and bundle', async () => {
    const ca = new CertificateAuthority({ verifyIssued: true });
    ca.install(first.material(NOW));
    const old = ca.current();
    const pending = old.issue(fields(key));

    ca.install(second.material(NOW));
    const fromOld = await pending;
    const fromOldLater = await old.issue(fields(key));
    const fromNew = await ca.current().issue(fields(key));

    for (const issued of [fromOld, fromOldLater]) {
      expect(issued.intermediatePems).toEqual([first.signing.cert.pem]);
      expect(issued.trustBundle.pem).toBe(first.root.cert.pem);
      expect(issued.issuerFingerprint).toBe(first.signing.cert.sha256);
      expect(new X509Certificate(issued.der).verify(first.signing.cert.x509.publicKey)).toBe(true);
    }
    expect(fromNew.intermediatePems).toEqual([second.signing.cert.pem]);
    expect(fromNew.trustBundle.pem).toBe(second.root.cert.pem);
    expect(new X509Certificate(fromNew.der).verify(second.signing.cert.x509.publicKey)).toBe(true);
  });
});

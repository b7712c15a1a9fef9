import { webcrypto } from 'node:crypto';
import {
  KEY_USAGE_DIGITAL_SIGNATURE,
  KEY_USAGE_KEY_CERT_SIGN,
  KEY_USAGE_KEY_ENCIPHERMENT,
  OID_BASIC_CONSTRAINTS,
  OID_ECDSA_WITH_SHA256,
  OID_ECDSA_WITH_SHA384,
  OID_EXT_KEY_USAGE,
  OID_KEY_USAGE,
  OID_KP_CLIENT_AUTH,
  OID_KP_SERVER_AUTH,
  OID_SHA256_WITH_RSA,
  OID_SHA512_WITH_RSA,
  OID_SUBJECT_ALT_NAME,
  OID_SUBJECT_KEY_IDENTIFIER,
  encodePem,
} from '../../src/asn1/index.js';
import {
  CsrValidator,
  DEFAULT_KEY_POLICY,
  MAX_CSR_PEM_BYTES,
  buildCsrPem,
  generateWorkloadKey,
  parseCsrPem,
  type CsrSpec,
  type WorkloadKey,
} from '../../src/csr/index.js';
import { InvalidRequestError, PermissionDeniedError } from '../../src/errors.js';
import { workloadSpiffeId } from '../../src/identity/index.js';
import { createTestPki } from '../support/pki.js';
import { removeTempDirs } from '../support/tmp.js';
import {
  assembleCsrPem,
  csrPem,
  expectRefusal,
  extKeyUsageDer,
  keyUsageDer,
  opensslCsr,
  opensslKey,
  pemDer,
  tamperSignature,
  type ExpectedRefusal,
} from './fixtures.js';

const IDENTITY = workloadSpiffeId('cluster.local', 'default', 'web');
const URI = IDENTITY.uri;
const OID_AT_ORGANIZATIONAL_UNIT = '2.5.4.11';
const OID_AT_COUNTRY = '2.5.4.6';
const OID_PKCS9_CHALLENGE_PASSWORD = '1.2.840.113549.1.9.7';
const OID_KP_CODE_SIGNING = '1.3.6.1.5.5.7.3.3';

let rsa2048: WorkloadKey;
let rsa3072: WorkloadKey;
let ecP256: WorkloadKey;
let ecP384: WorkloadKey;
let rsa1024: WorkloadKey;
let ecP521: webcrypto.CryptoKeyPair;
let certificatePem: string;

beforeAll(async () => {
  [rsa2048, rsa3072, ecP256, ecP384, rsa1024, ecP521] = await Promise.all([
    generateWorkloadKey('rsa'),
    generateWorkloadKey('rsa', 3072),
    generateWorkloadKey('ec'),
    generateWorkloadKey('ec-p384'),
    generateWorkloadKey('rsa', 1024),
    webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-521' }, true, ['sign', 'verify']),
  ]);
  certificatePem = (await createTestPki()).root.cert.pem;
});

afterAll(removeTempDirs);

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const validator = new CsrValidator(DEFAULT_KEY_POLICY);

/** An istio-agent CSR for the caller's identity, plus `spec`, signed by `key` (P-256 default). */
const agentCsr = (spec: CsrSpec = {}, key: WorkloadKey = ecP256): Promise<string> =>
  buildCsrPem(key.keys, { uris: [URI], ...spec });

describe('CsrValidator accepts', () => {
  interface AcceptedCase {
    readonly name: string;
    readonly csr: () => Promise<string> | string;
    readonly key: { algorithm: 'RSA' | 'EC'; bits: number; curve: string | undefined };
    /** The signature algorithm the request really carries. */
    readonly signedWith: string;
  }
  const RSA_2048 = { algorithm: 'RSA', bits: 2048, curve: undefined } as const;
  const RSA_3072 = { algorithm: 'RSA', bits: 3072, curve: undefined } as const;
  const P256 = { algorithm: 'EC', bits: 256, curve: 'P-256' } as const;
  const P384 = { algorithm: 'EC', bits: 384, curve: 'P-384' } as const;

  const cases: AcceptedCase[] = [
    {
      name: 'istio-agent RSA-2048',
      csr: () => agentCsr({}, rsa2048),
      key: RSA_2048,
      signedWith: OID_SHA256_WITH_RSA,
    },
    {
      name: 'istio-agent RSA-3072',
      csr: () => agentCsr({}, rsa3072),
      key: RSA_3072,
      signedWith: OID_SHA256_WITH_RSA,
    },
    {
      name: 'istio-agent ECDSA P-256',
      csr: () => agentCsr(),
      key: P256,
      signedWith: OID_ECDSA_WITH_SHA256,
    },
    {
      name: 'istio-agent ECDSA P-384 (SHA-384)',
      csr: () => agentCsr({}, ecP384),
      key: P384,
      signedWith: OID_ECDSA_WITH_SHA384,
    },
    {
      name: 'ztunnel (empty subject, P-256)',
      csr: () => agentCsr({ shape: 'ztunnel' }),
      key: P256,
      signedWith: OID_ECDSA_WITH_SHA256,
    },
    {
      name: 'a non-critical SAN',
      csr: () => agentCsr({ sanCritical: false }),
      key: P256,
      signedWith: OID_ECDSA_WITH_SHA256,
    },
    {
      name: 'RSA signed with SHA-512 (stronger than Go uses)',
      csr: () => agentCsr({ hash: 'SHA-512' }, rsa2048),
      key: RSA_2048,
      signedWith: OID_SHA512_WITH_RSA,
    },
    {
      name: 'P-256 signed with SHA-384',
      csr: () => agentCsr({ hash: 'SHA-384' }),
      key: P256,
      signedWith: OID_ECDSA_WITH_SHA384,
    },
    {
      name: 'keyUsage digitalSignature + keyEncipherment',
      csr: () =>
        agentCsr({
          extraExtensions: [
            {
              oid: OID_KEY_USAGE,
              critical: true,
              value: keyUsageDer(KEY_USAGE_DIGITAL_SIGNATURE, KEY_USAGE_KEY_ENCIPHERMENT),
            },
          ],
        }),
      key: P256,
      signedWith: OID_ECDSA_WITH_SHA256,
    },
    {
      name: 'extKeyUsage serverAuth + clientAuth',
      csr: () =>
        agentCsr({
          extraExtensions: [
            {
              oid: OID_EXT_KEY_USAGE,
              critical: false,
              value: extKeyUsageDer(OID_KP_SERVER_AUTH, OID_KP_CLIENT_AUTH),
            },
          ],
        }),
      key: P256,
      signedWith: OID_ECDSA_WITH_SHA256,
    },
    {
      name: 'the legacy NEW CERTIFICATE REQUEST label',
      csr: async () =>
        encodePem('NEW CERTIFICATE REQUEST', pemDer(await agentCsr({ shape: 'ztunnel' }))),
      key: P256,
      signedWith: OID_ECDSA_WITH_SHA256,
    },
    {
      name: 'CRLF line endings and explanatory text around the block (RFC 7468 §5.2)',
      csr: async () =>
        `Certificate request for web\r\n${(await agentCsr()).replaceAll('\n', '\r\n')}trailer\r\n`,
      key: P256,
      signedWith: OID_ECDSA_WITH_SHA256,
    },
    {
      // openssl skips an empty O ("No value provided for subject name attribute"), so this is
      // the RSA-2048 request with openssl's encoding and an empty subject.
      name: 'openssl req -subj "/O=" with RSA-2048 and a critical URI SAN',
      csr: () => opensslCsr(rsa2048.privateKeyPem, '/O=', [`subjectAltName=critical,URI:${URI}`]),
      key: RSA_2048,
      signedWith: OID_SHA256_WITH_RSA,
    },
    {
      name: 'openssl req with ECDSA P-256, empty subject and a critical URI SAN',
      csr: () => opensslCsr(ecP256.privateKeyPem, '/', [`subjectAltName=critical,URI:${URI}`]),
      key: P256,
      signedWith: OID_ECDSA_WITH_SHA256,
    },
  ];

  it.each(cases)('$name', async ({ csr, key, signedWith }) => {
    const pem = await csr();
    const validated = await validator.validate(pem, IDENTITY);
    const parsed = parseCsrPem(pem);
    expect(parsed.signatureAlgorithm).toBe(signedWith);
    expect(validated.identity).toBe(IDENTITY);
    expect(validated.key).toEqual(key);
    // Only the policy-relevant facts leave the validator, never the KeyObject.
    expect(Object.keys(validated.key).sort()).toEqual(['algorithm', 'bits', 'curve']);
    expect(validated.spkiDer.equals(parsed.spkiDer)).toBe(true);
    expect(validated.sha256).toBe(parsed.sha256);
  });

  it('pins the shape openssl gives "/O=": an empty subject', async () => {
    const pem = opensslCsr(rsa2048.privateKeyPem, '/O=', [`subjectAltName=critical,URI:${URI}`]);
    const parsed = parseCsrPem(pem);
    expect(parsed.subject).toEqual([]);
    expect(parsed.signatureAlgorithm).toBe(OID_SHA256_WITH_RSA);
    expect(parsed.extensions.map(({ oid, critical }) => ({ oid, critical }))).toEqual([
      { oid: OID_SUBJECT_ALT_NAME, critical: true },
    ]);
    await expect(validator.validate(pem, IDENTITY)).resolves.toMatchObject({ identity: IDENTITY });
  });

  it('accepts a CSR of exactly the size limit', async () => {
    const pem = await agentCsr();
    const padded = 'x'.repeat(MAX_CSR_PEM_BYTES - pem.length - 1) + '\n' + pem;
    expect(Buffer.byteLength(padded)).toBe(MAX_CSR_PEM_BYTES);
    await expect(validator.validate(padded, IDENTITY)).resolves.toMatchObject({
      identity: IDENTITY,
    });
  });
});

describe('CsrValidator refuses', () => {
  interface RefusedCase extends ExpectedRefusal {
    readonly name: string;
    readonly csr: () => Promise<string> | string;
  }
  const invalid = (
    code: ExpectedRefusal['code'],
    message: RegExp,
  ): Pick<RefusedCase, 'errorClass' | 'code' | 'message'> => ({
    errorClass: InvalidRequestError,
    code,
    message,
  });
  const notOwned = (uri: string): Pick<RefusedCase, 'errorClass' | 'code' | 'message'> => ({
    errorClass: PermissionDeniedError,
    code: 'ERR_CSR_IDENTITY_NOT_OWNED',
    message: new RegExp(
      `asks for ${escapeRegExp(uri)} but the caller may only receive ${escapeRegExp(URI)}`,
    ),
  });

  const cases: RefusedCase[] = [
    // Framing (contract §11 C 17).
    { name: 'an empty csr', csr: () => '', ...invalid('ERR_CSR_MISSING', /carries no CSR/) },
    {
      name: 'a whitespace-only csr',
      csr: () => ' \n\t\n',
      ...invalid('ERR_CSR_MISSING', /carries no CSR/),
    },
    {
      name: 'a csr above 64 KiB',
      csr: async () => 'x'.repeat(MAX_CSR_PEM_BYTES) + (await agentCsr()),
      ...invalid('ERR_CSR_TOO_LARGE', /exceeds 65536 bytes/),
    },
    {
      name: 'a csr above 64 KiB of UTF-8 but below 64 Ki characters',
      csr: async () => '\u20ac'.repeat(MAX_CSR_PEM_BYTES / 2) + '\n' + (await agentCsr()),
      ...invalid('ERR_CSR_TOO_LARGE', /exceeds 65536 bytes/),
    },
    {
      name: 'text that is not PEM',
      csr: () => 'not a certificate request',
      ...invalid('ERR_CSR_PEM', /holds no PEM block/),
    },
    {
      name: 'base64 DER without the PEM armour',
      csr: async () => pemDer(await agentCsr()).toString('base64'),
      ...invalid('ERR_CSR_PEM', /holds no PEM block/),
    },
    {
      name: 'a PEM body that is not base64',
      csr: () =>
        '-----BEGIN CERTIFICATE REQUEST-----\nnot*base64!\n-----END CERTIFICATE REQUEST-----\n',
      ...invalid('ERR_CSR_PEM', /not valid PEM: .*not base64/),
    },
    {
      name: 'two PEM blocks',
      csr: async () => (await agentCsr()) + (await agentCsr()),
      ...invalid('ERR_CSR_PEM', /exactly one PEM block/),
    },
    {
      name: 'a CERTIFICATE block instead of a request',
      csr: () => certificatePem,
      ...invalid('ERR_CSR_PEM', /block is CERTIFICATE, expected CERTIFICATE REQUEST/),
    },
    {
      name: 'a certificate relabelled as a request',
      csr: () => csrPem(pemDer(certificatePem)),
      ...invalid('ERR_CSR_DER', /does not match RFC 2986/),
    },
    {
      name: 'garbage DER (a truncated SEQUENCE)',
      csr: () => csrPem(Buffer.from([0x30, 0x82, 0x01, 0x00, 0x02, 0x01])),
      ...invalid('ERR_CSR_DER', /not a valid PKCS#10 request/),
    },
    {
      name: 'DER that is a lone INTEGER',
      csr: () => csrPem(Buffer.from([0x02, 0x01, 0x05])),
      ...invalid('ERR_CSR_DER', /does not match RFC 2986/),
    },
    {
      name: 'trailing bytes after the DER',
      csr: async () => csrPem(Buffer.concat([pemDer(await agentCsr()), Buffer.from([0, 0])])),
      ...invalid('ERR_CSR_DER', /trailing bytes/),
    },
    // Structure (RFC 2986 §4; contract §2.5, §3).
    {
      name: 'version 1 (only v1 = 0 exists)',
      csr: () => agentCsr({ version: 1 }),
      ...invalid('ERR_CSR_VERSION', /version is 1, expected 0/),
    },
    {
      name: 'a CN in the subject',
      csr: () => agentCsr({ commonName: 'web.default' }),
      ...invalid('ERR_CSR_SUBJECT_CN', /common name/),
    },
    {
      name: 'a CN alone in the subject (ztunnel shape)',
      csr: () => agentCsr({ shape: 'ztunnel', commonName: URI }),
      ...invalid('ERR_CSR_SUBJECT_CN', /common name/),
    },
    {
      name: 'an OU in the subject',
      csr: () => agentCsr({ subject: [{ type: OID_AT_ORGANIZATIONAL_UNIT, value: 'mesh' }] }),
      ...invalid('ERR_CSR_SUBJECT_ATTRIBUTE', /attribute 2\.5\.4\.11; only an empty subject or O=/),
    },
    {
      name: 'C next to O= in the subject',
      csr: () =>
        agentCsr({
          subject: [
            { type: '2.5.4.10', value: '' },
            { type: OID_AT_COUNTRY, value: 'NL' },
          ],
        }),
      ...invalid('ERR_CSR_SUBJECT_ATTRIBUTE', /attribute 2\.5\.4\.6;/),
    },
    {
      name: 'a challengePassword attribute',
      csr: () =>
        agentCsr({ extraAttributes: [{ type: OID_PKCS9_CHALLENGE_PASSWORD, value: 'secret' }] }),
      ...invalid(
        'ERR_CSR_ATTRIBUTE',
        /attribute 1\.2\.840\.113549\.1\.9\.7; only extensionRequest is allowed/,
      ),
    },
    // Extensions (contract §11 C 16).
    {
      name: 'basicConstraints CA:TRUE',
      csr: () =>
        agentCsr({
          extraExtensions: [
            { oid: OID_BASIC_CONSTRAINTS, critical: true, value: Buffer.from('30030101ff', 'hex') },
          ],
        }),
      ...invalid('ERR_CSR_EXTENSION_FORBIDDEN', /extension basicConstraints; only subjectAltName/),
    },
    {
      name: 'basicConstraints CA:FALSE (still not the workload’s to ask)',
      csr: () =>
        agentCsr({
          extraExtensions: [
            { oid: OID_BASIC_CONSTRAINTS, critical: true, value: Buffer.from('3000', 'hex') },
          ],
        }),
      ...invalid('ERR_CSR_EXTENSION_FORBIDDEN', /extension basicConstraints;/),
    },
    {
      name: 'a subjectKeyIdentifier',
      csr: () =>
        agentCsr({
          extraExtensions: [
            {
              oid: OID_SUBJECT_KEY_IDENTIFIER,
              critical: false,
              value: Buffer.concat([Buffer.from([0x04, 20]), Buffer.alloc(20, 7)]),
            },
          ],
        }),
      ...invalid('ERR_CSR_EXTENSION_FORBIDDEN', /extension subjectKeyIdentifier;/),
    },
    {
      name: 'an extension unknown to meshca, named by OID',
      csr: () =>
        agentCsr({
          extraExtensions: [
            { oid: '1.3.6.1.4.1.99999.1', critical: false, value: Buffer.from('0500', 'hex') },
          ],
        }),
      ...invalid('ERR_CSR_EXTENSION_FORBIDDEN', /extension 1\.3\.6\.1\.4\.1\.99999\.1;/),
    },
    {
      name: 'a duplicate keyUsage',
      csr: () =>
        agentCsr({
          extraExtensions: [
            { oid: OID_KEY_USAGE, critical: true, value: keyUsageDer(KEY_USAGE_DIGITAL_SIGNATURE) },
            { oid: OID_KEY_USAGE, critical: true, value: keyUsageDer(KEY_USAGE_DIGITAL_SIGNATURE) },
          ],
        }),
      ...invalid('ERR_CSR_EXTENSION_DUPLICATE', /keyUsage more than once/),
    },
    {
      name: 'a duplicate subjectAltName with the same URI',
      csr: async () => {
        const [san] = parseCsrPem(await agentCsr()).extensions;
        return agentCsr({ extraExtensions: [san!] });
      },
      ...invalid('ERR_CSR_EXTENSION_DUPLICATE', /subjectAltName more than once/),
    },
    {
      name: 'keyUsage with keyCertSign',
      csr: () =>
        agentCsr({
          extraExtensions: [
            {
              oid: OID_KEY_USAGE,
              critical: true,
              value: keyUsageDer(KEY_USAGE_DIGITAL_SIGNATURE, KEY_USAGE_KEY_CERT_SIGN),
            },
          ],
        }),
      ...invalid('ERR_CSR_KEY_USAGE', /keyUsage requests bit 5; only digitalSignature/),
    },
    {
      name: 'extKeyUsage codeSigning',
      csr: () =>
        agentCsr({
          extraExtensions: [
            {
              oid: OID_EXT_KEY_USAGE,
              critical: false,
              value: extKeyUsageDer(OID_KP_SERVER_AUTH, OID_KP_CODE_SIGNING),
            },
          ],
        }),
      ...invalid(
        'ERR_CSR_EXT_KEY_USAGE',
        /extKeyUsage requests 1\.3\.6\.1\.5\.5\.7\.3\.3; only serverAuth and clientAuth/,
      ),
    },
    // Subject alternative names.
    {
      name: 'a DNS SAN next to the URI',
      csr: () => agentCsr({ dnsNames: ['web.default.svc'] }),
      ...invalid('ERR_CSR_SAN_FORBIDDEN_TYPE', /holds a DNS name; only one URI/),
    },
    {
      name: 'an IP SAN next to the URI',
      csr: () => agentCsr({ ipAddresses: ['10.0.0.1'] }),
      ...invalid('ERR_CSR_SAN_FORBIDDEN_TYPE', /holds a IP name/),
    },
    {
      name: 'an email SAN next to the URI',
      csr: () => agentCsr({ emails: ['web@example.com'] }),
      ...invalid('ERR_CSR_SAN_FORBIDDEN_TYPE', /holds a email \(rfc822Name\) name/),
    },
    {
      name: 'a DNS SAN only (openssl)',
      csr: () => opensslCsr(ecP256.privateKeyPem, '/', ['subjectAltName=critical,DNS:web']),
      ...invalid('ERR_CSR_SAN_FORBIDDEN_TYPE', /holds a DNS name/),
    },
    {
      name: 'two URIs',
      csr: () => agentCsr({ uris: [URI, 'spiffe://cluster.local/ns/default/sa/other'] }),
      ...invalid('ERR_CSR_SAN_COUNT', /holds 2 URIs; exactly one SPIFFE ID/),
    },
    {
      name: 'no SAN at all',
      csr: () => agentCsr({ uris: [] }),
      ...invalid('ERR_CSR_SAN_MISSING', /no subjectAltName/),
    },
    {
      name: 'no SAN but a keyUsage',
      csr: () =>
        agentCsr({
          uris: [],
          extraExtensions: [
            { oid: OID_KEY_USAGE, critical: true, value: keyUsageDer(KEY_USAGE_DIGITAL_SIGNATURE) },
          ],
        }),
      ...invalid('ERR_CSR_SAN_MISSING', /no subjectAltName/),
    },
    // Keys and signatures.
    {
      name: 'an RSA-1024 key',
      csr: () => agentCsr({}, rsa1024),
      ...invalid('ERR_CSR_KEY_SIZE', /RSA key has 1024 bits; allowed: 2048 to 8192/),
    },
    {
      name: 'an ECDSA P-521 key',
      csr: () => buildCsrPem(ecP521, { uris: [URI], hash: 'SHA-512' }),
      ...invalid('ERR_CSR_KEY_CURVE', /curve secp521r1; allowed: P-256, P-384/),
    },
    {
      name: 'an Ed25519 key (openssl)',
      csr: () =>
        opensslCsr(opensslKey(['-algorithm', 'ed25519']), '/', [
          `subjectAltName=critical,URI:${URI}`,
        ]),
      ...invalid('ERR_CSR_KEY_ALGORITHM', /key algorithm ed25519 is not allowed/),
    },
    {
      name: 'a SHA-1 RSA signature',
      csr: () => agentCsr({ hash: 'SHA-1' }, rsa2048),
      ...invalid(
        'ERR_CSR_SIGNATURE_ALGORITHM',
        /algorithm 1\.2\.840\.113549\.1\.1\.5 is not allowed; use SHA-256 or stronger/,
      ),
    },
    {
      name: 'a SHA-1 ECDSA signature',
      csr: () => agentCsr({ hash: 'SHA-1' }),
      ...invalid('ERR_CSR_SIGNATURE_ALGORITHM', /algorithm 1\.2\.840\.10045\.4\.1 is not allowed/),
    },
    {
      name: 'an RSA signature algorithm on an ECDSA key',
      csr: async () => {
        const csr = parseCsrPem(await agentCsr());
        return assembleCsrPem(csr.infoDer, OID_SHA256_WITH_RSA, csr.signature);
      },
      ...invalid(
        'ERR_CSR_SIGNATURE_ALGORITHM',
        /1\.2\.840\.113549\.1\.1\.11 does not match its EC key/,
      ),
    },
    {
      name: 'an ECDSA signature algorithm on an RSA key',
      csr: async () => {
        const csr = parseCsrPem(await agentCsr({}, rsa2048));
        return assembleCsrPem(csr.infoDer, OID_ECDSA_WITH_SHA256, csr.signature);
      },
      ...invalid('ERR_CSR_SIGNATURE_ALGORITHM', /does not match its RSA key/),
    },
    {
      name: 'a tampered RSA signature',
      csr: async () => tamperSignature(await agentCsr({}, rsa2048)),
      ...invalid('ERR_CSR_SIGNATURE', /does not verify with its own public key/),
    },
    {
      name: 'a tampered ECDSA signature',
      csr: async () => tamperSignature(await agentCsr()),
      ...invalid('ERR_CSR_SIGNATURE', /does not verify with its own public key/),
    },
    {
      name: 'a signature made by another key',
      csr: async () => {
        const mine = parseCsrPem(await agentCsr());
        const theirs = parseCsrPem(await agentCsr({}, ecP384));
        return assembleCsrPem(mine.infoDer, OID_ECDSA_WITH_SHA256, theirs.signature);
      },
      ...invalid('ERR_CSR_SIGNATURE', /does not verify/),
    },
    // Identity (contract §11 C 15): the caller asks for an identity it does not own.
    {
      name: 'a URI for another namespace',
      csr: () => agentCsr({ uris: ['spiffe://cluster.local/ns/kube-system/sa/web'] }),
      ...notOwned('spiffe://cluster.local/ns/kube-system/sa/web'),
    },
    {
      name: 'a URI for another service account',
      csr: () => agentCsr({ uris: ['spiffe://cluster.local/ns/default/sa/admin'] }),
      ...notOwned('spiffe://cluster.local/ns/default/sa/admin'),
    },
    {
      name: 'a URI in another trust domain',
      csr: () => agentCsr({ uris: ['spiffe://evil.example/ns/default/sa/web'] }),
      ...notOwned('spiffe://evil.example/ns/default/sa/web'),
    },
    {
      name: 'the own URI with an upper-case trust domain',
      csr: () => agentCsr({ uris: ['spiffe://Cluster.local/ns/default/sa/web'] }),
      ...notOwned('spiffe://Cluster.local/ns/default/sa/web'),
    },
    {
      name: 'the own URI with a trailing slash',
      csr: () => agentCsr({ uris: [`${URI}/`] }),
      ...notOwned(`${URI}/`),
    },
    {
      name: 'a URI that is not a SPIFFE ID',
      csr: () => agentCsr({ uris: ['https://web.default.svc'] }),
      ...notOwned('https://web.default.svc'),
    },
  ];

  it.each(cases)('$name', async ({ csr, ...expected }) => {
    const pem = await csr();
    await expectRefusal(() => validator.validate(pem, IDENTITY), expected);
  });

  it('bounds a long foreign URI in the message', async () => {
    const uri = `spiffe://cluster.local/ns/default/sa/${'a'.repeat(300)}`;
    const error = await expectRefusal(
      async () => validator.validate(await agentCsr({ uris: [uri] }), IDENTITY),
      {
        ...notOwned(uri),
        message: /asks for spiffe:\/\/cluster\.local\/ns\/default\/sa\/a+… but/,
      },
    );
    expect(error.message).toContain(`${uri.slice(0, 100)}…`);
    expect(error.message).not.toContain(uri.slice(0, 101));
  });

  it('checks the signature last: a tampered CSR with a CN reports the CN', async () => {
    const pem = tamperSignature(await agentCsr({ commonName: 'web' }));
    await expectRefusal(() => validator.validate(pem, IDENTITY), {
      errorClass: InvalidRequestError,
      code: 'ERR_CSR_SUBJECT_CN',
      message: /common name/,
    });
  });

  it('checks ownership before the signature: a tampered foreign CSR is denied', async () => {
    const foreign = 'spiffe://cluster.local/ns/default/sa/admin';
    const pem = tamperSignature(await agentCsr({ uris: [foreign] }));
    await expectRefusal(() => validator.validate(pem, IDENTITY), notOwned(foreign));
  });
});

describe('CsrValidator key policy', () => {
  it.each([
    {
      name: 'P-384 when only P-256 is allowed',
      policy: { ...DEFAULT_KEY_POLICY, allowedCurves: ['P-256'] as const },
      key: () => ecP384,
      refusal: { code: 'ERR_CSR_KEY_CURVE', message: /curve P-384; allowed: P-256$/ },
    },
    {
      name: 'RSA-2048 when the minimum is 3072',
      policy: { ...DEFAULT_KEY_POLICY, minRsaBits: 3072 },
      key: () => rsa2048,
      refusal: { code: 'ERR_CSR_KEY_SIZE', message: /2048 bits; allowed: 3072 to 8192/ },
    },
    {
      name: 'RSA-3072 when the maximum is 2048',
      policy: { ...DEFAULT_KEY_POLICY, maxRsaBits: 2048 },
      key: () => rsa3072,
      refusal: { code: 'ERR_CSR_KEY_SIZE', message: /3072 bits; allowed: 2048 to 2048/ },
    },
  ] as const)('refuses $name', async ({ policy, key, refusal }) => {
    const pem = await agentCsr({}, key());
    await expectRefusal(() => new CsrValidator(policy).validate(pem, IDENTITY), {
      errorClass: InvalidRequestError,
      ...refusal,
    });
  });

  it('accepts what a narrowed policy still allows', async () => {
    const policy = { minRsaBits: 3072, maxRsaBits: 3072, allowedCurves: ['P-384' as const] };
    const strict = new CsrValidator(policy);
    await expect(strict.validate(await agentCsr({}, rsa3072), IDENTITY)).resolves.toMatchObject({
      key: { algorithm: 'RSA', bits: 3072 },
    });
    await expect(strict.validate(await agentCsr({}, ecP384), IDENTITY)).resolves.toMatchObject({
      key: { algorithm: 'EC', curve: 'P-384' },
    });
  });
});

import { createHash, createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import * as asn1js from 'asn1js';
import {
  OID_AT_ORGANIZATION,
  OID_ECDSA_WITH_SHA256,
  OID_PKCS9_EXTENSION_REQUEST,
  OID_SUBJECT_ALT_NAME,
  TAG_BIT_STRING,
  TAG_INTEGER,
  TAG_SEQUENCE,
  encodePem,
  tlv,
} from '../../src/asn1/index.js';
import {
  MAX_CSR_PEM_BYTES,
  buildCsrPem,
  generateWorkloadKey,
  parseCsrDer,
  parseCsrPem,
  type WorkloadKey,
} from '../../src/csr/index.js';
import { InvalidRequestError } from '../../src/errors.js';
import { removeTempDirs } from '../support/tmp.js';
import { assembleCsrPem, csrPem, expectRefusal, opensslCsr, pemDer } from './fixtures.js';

const URI = 'spiffe://cluster.local/ns/default/sa/web';
const OID_PKCS9_CHALLENGE_PASSWORD = '1.2.840.113549.1.9.7';
const OID_PKCS9_UNSTRUCTURED_NAME = '1.2.840.113549.1.9.2';

/** Splits a DER TLV into its header length and value (X.690 §8.1.3 definite lengths). */
function splitTlv(der: Uint8Array): { header: number; value: Buffer } {
  const first = der[1] ?? 0;
  const header = first < 0x80 ? 2 : 2 + (first & 0x7f);
  let length = first;
  if (first >= 0x80) {
    length = 0;
    for (let i = 2; i < header; i++) length = length * 256 + (der[i] ?? 0);
  }
  return { header, value: Buffer.from(der.subarray(header, header + length)) };
}

let ec: WorkloadKey;

beforeAll(async () => {
  ec = await generateWorkloadKey('ec');
});

afterAll(removeTempDirs);

describe('parseCsrPem reads', () => {
  it('every field of an istio-agent request', async () => {
    const pem = await buildCsrPem(ec.keys, { uris: [URI] });
    const der = pemDer(pem);
    const csr = parseCsrPem(pem);

    expect(csr.version).toBe(0);
    expect(csr.subject).toEqual([{ type: OID_AT_ORGANIZATION, value: '' }]);
    expect(csr.signatureAlgorithm).toBe(OID_ECDSA_WITH_SHA256);
    expect(csr.otherAttributes).toEqual([]);
    // extnValue's OCTET STRING holds GeneralNames ::= SEQUENCE { [6] IA5String }.
    expect(csr.extensions).toEqual([
      { oid: OID_SUBJECT_ALT_NAME, critical: true, value: tlv(0x30, tlv(0x86, Buffer.from(URI))) },
    ]);
    expect(csr.sha256).toBe(createHash('sha256').update(der).digest('hex'));
    expect(csr.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('the key as the SubjectPublicKeyInfo of the workload key', async () => {
    const csr = parseCsrPem(await buildCsrPem(ec.keys, { uris: [URI] }));
    const expected = createPublicKey(createPrivateKey(ec.privateKeyPem)).export({
      type: 'spki',
      format: 'der',
    });
    expect(csr.spkiDer.equals(expected)).toBe(true);
  });

  it('infoDer as the first element of the request, byte for byte, and the signature over it', async () => {
    const der = pemDer(await buildCsrPem(ec.keys, { uris: [URI] }));
    const csr = parseCsrDer(der);
    const { header, value } = splitTlv(der);
    expect(der.subarray(header, header + csr.infoDer.length).equals(csr.infoDer)).toBe(true);
    expect(splitTlv(csr.infoDer).value.length + splitTlv(csr.infoDer).header).toBe(
      csr.infoDer.length,
    );
    // The signature BIT STRING closes the request.
    expect(value.subarray(value.length - csr.signature.length).equals(csr.signature)).toBe(true);
    expect(verify('sha256', csr.infoDer, createPrivateKey(ec.privateKeyPem), csr.signature)).toBe(
      true,
    );
  });

  it('an empty subject (ztunnel) as no attributes', async () => {
    const csr = parseCsrPem(await buildCsrPem(ec.keys, { shape: 'ztunnel', uris: [URI] }));
    expect(csr.subject).toEqual([]);
  });

  it('subject values of every string type, in order', async () => {
    const csr = parseCsrPem(
      await buildCsrPem(ec.keys, {
        uris: [URI],
        subject: [
          { type: OID_AT_ORGANIZATION, value: 'Acme' },
          { type: OID_AT_ORGANIZATION, value: 'Ünïcode & Co' },
        ],
        commonName: 'web',
      }),
    );
    expect(csr.subject).toEqual([
      { type: OID_AT_ORGANIZATION, value: 'Acme' },
      { type: OID_AT_ORGANIZATION, value: 'Ünïcode & Co' },
      { type: '2.5.4.3', value: 'web' },
    ]);
  });

  it('a subject value that is not a string as U+FFFD', () => {
    const spki = createPublicKey(createPrivateKey(ec.privateKeyPem)).export({
      type: 'spki',
      format: 'der',
    });
    const organization = new asn1js.ObjectIdentifier({ value: OID_AT_ORGANIZATION }).toBER(false);
    const name = tlv(
      TAG_SEQUENCE,
      tlv(
        0x31,
        tlv(TAG_SEQUENCE, new Uint8Array(organization), tlv(TAG_INTEGER, Buffer.from([5]))),
      ),
    );
    const info = tlv(
      TAG_SEQUENCE,
      tlv(TAG_INTEGER, Buffer.from([0])),
      name,
      spki,
      Buffer.from([0xa0, 0x00]),
    );
    const csr = parseCsrPem(assembleCsrPem(info, OID_ECDSA_WITH_SHA256, Buffer.alloc(8)));
    expect(csr.subject).toEqual([{ type: OID_AT_ORGANIZATION, value: '\uFFFD' }]);
  });

  it('attributes other than extensionRequest by OID, in order', async () => {
    const csr = parseCsrPem(
      await buildCsrPem(ec.keys, {
        uris: [URI],
        extraAttributes: [
          { type: OID_PKCS9_CHALLENGE_PASSWORD, value: 'secret' },
          { type: OID_PKCS9_UNSTRUCTURED_NAME, value: 'web' },
        ],
      }),
    );
    expect(csr.otherAttributes).toEqual([
      OID_PKCS9_CHALLENGE_PASSWORD,
      OID_PKCS9_UNSTRUCTURED_NAME,
    ]);
    expect(csr.extensions.map((extension) => extension.oid)).toEqual([OID_SUBJECT_ALT_NAME]);
  });

  it('no extensions when the request has no extensionRequest', async () => {
    const csr = parseCsrPem(await buildCsrPem(ec.keys, {}));
    expect(csr.extensions).toEqual([]);
    expect(csr.otherAttributes).toEqual([]);
  });

  it('an openssl request like its own', () => {
    const pem = opensslCsr(ec.privateKeyPem, '/', [`subjectAltName=critical,URI:${URI}`]);
    const csr = parseCsrPem(pem);
    expect(csr.version).toBe(0);
    expect(csr.subject).toEqual([]);
    expect(csr.signatureAlgorithm).toBe(OID_ECDSA_WITH_SHA256);
    expect(csr.extensions).toEqual([
      { oid: OID_SUBJECT_ALT_NAME, critical: true, value: tlv(0x30, tlv(0x86, Buffer.from(URI))) },
    ]);
  });

  it.each([
    ['CRLF line endings', (pem: string) => pem.replaceAll('\n', '\r\n')],
    ['explanatory text around the block', (pem: string) => `Subject: web\n${pem}\nend\n`],
    [
      'one base64 line',
      (pem: string) =>
        `-----BEGIN CERTIFICATE REQUEST-----\n${pemDer(pem).toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`,
    ],
    ['the legacy label', (pem: string) => encodePem('NEW CERTIFICATE REQUEST', pemDer(pem))],
  ])('the same DER (same sha256) through %s', async (_name, rewrap) => {
    const pem = await buildCsrPem(ec.keys, { uris: [URI] });
    const rewrapped = rewrap(pem);
    expect(rewrapped).not.toBe(pem);
    expect(parseCsrPem(rewrapped).sha256).toBe(parseCsrPem(pem).sha256);
  });

  it('a different sha256 for each request', async () => {
    const a = parseCsrPem(await buildCsrPem(ec.keys, { uris: [URI] }));
    const b = parseCsrPem(await buildCsrPem(ec.keys, { uris: [`${URI}x`] }));
    expect(a.sha256).not.toBe(b.sha256);
  });
});

describe('parseCsrPem size limit', () => {
  it('counts the limit inclusively', async () => {
    const pem = await buildCsrPem(ec.keys, { uris: [URI] });
    const pad = (bytes: number): string => ' '.repeat(bytes - pem.length) + pem;
    expect(parseCsrPem(pad(MAX_CSR_PEM_BYTES)).version).toBe(0);
    await expectRefusal(() => parseCsrPem(pad(MAX_CSR_PEM_BYTES + 1)), {
      errorClass: InvalidRequestError,
      code: 'ERR_CSR_TOO_LARGE',
      message: /CSR exceeds 65536 bytes/,
    });
  });

  it('counts UTF-8 bytes, not characters', async () => {
    const pem = await buildCsrPem(ec.keys, { uris: [URI] });
    // Two-byte characters: fewer than 64 Ki characters, more than 64 KiB.
    const text = `${'é'.repeat(Math.ceil((MAX_CSR_PEM_BYTES - pem.length) / 2))}\n${pem}`;
    expect(text.length).toBeLessThan(MAX_CSR_PEM_BYTES);
    expect(Buffer.byteLength(text)).toBeGreaterThan(MAX_CSR_PEM_BYTES);
    await expectRefusal(() => parseCsrPem(text), {
      errorClass: InvalidRequestError,
      code: 'ERR_CSR_TOO_LARGE',
      message: /exceeds/,
    });
  });
});

describe('parseCsrPem refuses', () => {
  const invalid = (code: 'ERR_CSR_MISSING' | 'ERR_CSR_PEM' | 'ERR_CSR_DER', message: RegExp) => ({
    errorClass: InvalidRequestError,
    code,
    message,
  });

  it.each([
    { name: 'an empty string', pem: () => '', ...invalid('ERR_CSR_MISSING', /carries no CSR/) },
    { name: 'only whitespace', pem: () => '\r\n  ', ...invalid('ERR_CSR_MISSING', /no CSR/) },
    { name: 'plain text', pem: () => 'hello', ...invalid('ERR_CSR_PEM', /holds no PEM block/) },
    {
      name: 'a BEGIN line without END',
      pem: () => '-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n',
      ...invalid('ERR_CSR_PEM', /holds no PEM block/),
    },
    {
      name: 'mismatched BEGIN/END labels',
      pem: () => '-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE-----\n',
      ...invalid(
        'ERR_CSR_PEM',
        /not valid PEM: PEM block BEGIN CERTIFICATE REQUEST ends with END CERTIFICATE/,
      ),
    },
    {
      name: 'a body with a stray character',
      pem: () => '-----BEGIN CERTIFICATE REQUEST-----\nMII$\n-----END CERTIFICATE REQUEST-----\n',
      ...invalid('ERR_CSR_PEM', /CERTIFICATE REQUEST has a body that is not base64/),
    },
    {
      name: 'a PRIVATE KEY block',
      pem: () => ec.privateKeyPem,
      ...invalid('ERR_CSR_PEM', /block is PRIVATE KEY, expected CERTIFICATE REQUEST/),
    },
    {
      name: 'two request blocks',
      pem: async () => {
        const pem = await buildCsrPem(ec.keys, { uris: [URI] });
        return pem + pem;
      },
      ...invalid('ERR_CSR_PEM', /exactly one PEM block/),
    },
    {
      name: 'an empty body',
      pem: () => csrPem(Buffer.alloc(0)),
      ...invalid('ERR_CSR_DER', /not a valid PKCS#10 request/),
    },
    {
      name: 'a DER length running past the end',
      pem: () => csrPem(Buffer.from([0x30, 0x10, 0x02, 0x01, 0x00])),
      ...invalid('ERR_CSR_DER', /not a valid PKCS#10 request/),
    },
    {
      name: 'trailing bytes after the request',
      pem: async () =>
        csrPem(
          Buffer.concat([pemDer(await buildCsrPem(ec.keys, { uris: [URI] })), Buffer.from([5])]),
        ),
      ...invalid('ERR_CSR_DER', /trailing bytes after the request/),
    },
    {
      name: 'a SEQUENCE that is not a request',
      pem: () => csrPem(tlv(TAG_SEQUENCE, tlv(TAG_INTEGER, Buffer.from([1])))),
      ...invalid('ERR_CSR_DER', /structure does not match RFC 2986/),
    },
    {
      name: 'a request whose signature is not a BIT STRING',
      pem: async () => {
        const csr = parseCsrPem(await buildCsrPem(ec.keys, { uris: [URI] }));
        const algorithm = new asn1js.Sequence({
          value: [new asn1js.ObjectIdentifier({ value: OID_ECDSA_WITH_SHA256 })],
        }).toBER(false);
        return csrPem(
          tlv(TAG_SEQUENCE, csr.infoDer, new Uint8Array(algorithm), tlv(0x04, csr.signature)),
        );
      },
      ...invalid('ERR_CSR_DER', /structure does not match RFC 2986/),
    },
    {
      name: 'two extensionRequest attributes',
      pem: () =>
        buildCsrPem(ec.keys, {
          uris: [URI],
          extraAttributes: [{ type: OID_PKCS9_EXTENSION_REQUEST, value: 'again' }],
        }),
      ...invalid('ERR_CSR_DER', /extensionRequest must appear once with one value/),
    },
    {
      name: 'an extensionRequest that holds no extensions',
      pem: () =>
        buildCsrPem(ec.keys, {
          extraAttributes: [{ type: OID_PKCS9_EXTENSION_REQUEST, value: 'not extensions' }],
        }),
      ...invalid('ERR_CSR_DER', /extensionRequest is not a list of extensions/),
    },
  ])('$name', async ({ pem, ...expected }) => {
    const text = await pem();
    await expectRefusal(() => parseCsrPem(text), expected);
  });

  it('names the element that broke the structure, and keeps the reader error as the cause', async () => {
    const error = await expectRefusal(
      () => parseCsrDer(tlv(TAG_SEQUENCE, tlv(TAG_BIT_STRING, Buffer.from([0])))),
      {
        errorClass: InvalidRequestError,
        code: 'ERR_CSR_DER',
        message:
          /^CSR is not a valid PKCS#10 request: structure does not match RFC 2986 \(certificationRequestInfo: expected tag 0x30, found 0x3\)$/,
      },
    );
    expect(error.cause).toBeInstanceOf(Error);
  });

  it('a SubjectPublicKeyInfo with a non-minimal (BER, not DER) length', async () => {
    // A key that is not DER must not be copied into a certificate: Go's x509 would refuse it.
    const privateKey = createPrivateKey(ec.privateKeyPem);
    const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
    const { value: spkiBody } = splitTlv(spki);
    const longSpki = Buffer.concat([Buffer.from([0x30, 0x81, spkiBody.length]), spkiBody]);
    const info = tlv(
      TAG_SEQUENCE,
      tlv(TAG_INTEGER, Buffer.from([0])),
      tlv(TAG_SEQUENCE),
      longSpki,
      Buffer.from([0xa0, 0x00]),
    );
    await expectRefusal(
      () =>
        parseCsrPem(assembleCsrPem(info, OID_ECDSA_WITH_SHA256, sign('sha256', info, privateKey))),
      { errorClass: InvalidRequestError, code: 'ERR_CSR_DER', message: /not minimally encoded/ },
    );
  });
});

/**
 * Messages that name a rule quote the client's value short, wherever it sits in the CSR: an OID
 * with 20,000 arcs (~40 KB as text) once came back whole in the status message, which gRPC C-core
 * clients (Envoy, Python) and tonic (ztunnel) refuse past 8 KiB of metadata, so they saw
 * RESOURCE_EXHAUSTED instead of INVALID_ARGUMENT.
 */
import {
  OID_EC_PUBLIC_KEY,
  OID_EXT_KEY_USAGE,
  TAG_BIT_STRING,
  TAG_SEQUENCE,
  tlv,
} from '../../src/asn1/index.js';
import { CsrValidator, DEFAULT_KEY_POLICY } from '../../src/csr/index.js';
import { MeshCaError, type MeshCaErrorCode } from '../../src/errors.js';
import { workloadSpiffeId } from '../../src/identity/index.js';
import {
  attribute,
  extension,
  forgeCsr,
  forgeKey,
  hugeOid,
  name,
  oid,
  sanExtension,
} from '../support/csr-forge.js';

const IDENTITY = workloadSpiffeId('cluster.local', 'default', 'web');
const ARCS = 20_000;
/** A quoted value is at most 48 characters (100 for a URI); the rest of a message is ours. */
const MAX_MESSAGE_CHARS = 300;

const key = forgeKey();
const huge = hugeOid(ARCS);
const utf8 = (text: string): Buffer => tlv(0x0c, Buffer.from(text, 'utf8'));

const CASES: readonly (readonly [string, () => string, MeshCaErrorCode, RegExp])[] = [
  [
    'extension OID',
    () =>
      forgeCsr(key, IDENTITY.uri, {
        extensions: [sanExtension([IDENTITY.uri]), extension(huge, Buffer.from([5, 0]))],
      }),
    'ERR_CSR_EXTENSION_FORBIDDEN',
    /^CSR requests extension 1\.1\.2\.3\.4\.5.*…; only subjectAltName, keyUsage and extKeyUsage are allowed$/,
  ],
  [
    'extKeyUsage purpose',
    () =>
      forgeCsr(key, IDENTITY.uri, {
        extensions: [
          sanExtension([IDENTITY.uri]),
          extension(oid(OID_EXT_KEY_USAGE), tlv(TAG_SEQUENCE, huge)),
        ],
      }),
    'ERR_CSR_EXT_KEY_USAGE',
    /^CSR extKeyUsage requests 1\.1\.2\.3\..*…; only serverAuth and clientAuth are allowed$/,
  ],
  [
    'subject attribute type',
    () => forgeCsr(key, IDENTITY.uri, { subject: name([[huge, utf8('x')]]) }),
    'ERR_CSR_SUBJECT_ATTRIBUTE',
    /^CSR subject has attribute 1\.1\.2\.3\..*…; only an empty subject or O= is allowed$/,
  ],
  [
    'request attribute type',
    () => forgeCsr(key, IDENTITY.uri, { attributes: [attribute(huge, utf8('x'))] }),
    'ERR_CSR_ATTRIBUTE',
    /^CSR carries attribute 1\.1\.2\.3\..*…; only extensionRequest is allowed$/,
  ],
  [
    'signature algorithm',
    () => forgeCsr(key, IDENTITY.uri, { signatureAlgorithm: tlv(TAG_SEQUENCE, huge) }),
    'ERR_CSR_SIGNATURE_ALGORITHM',
    /^CSR signature algorithm 1\.1\.2\.3\..*… is not allowed; use SHA-256 or stronger/,
  ],
  [
    'public key algorithm',
    () =>
      forgeCsr(key, IDENTITY.uri, {
        spki: tlv(TAG_SEQUENCE, tlv(TAG_SEQUENCE, huge), tlv(TAG_BIT_STRING, Buffer.from([0, 1]))),
      }),
    'ERR_CSR_KEY_ALGORITHM',
    /^CSR key algorithm 1\.1\.2\.3\..*… is not allowed; use RSA or ECDSA$/,
  ],
  [
    'EC curve',
    () =>
      forgeCsr(key, IDENTITY.uri, {
        spki: tlv(
          TAG_SEQUENCE,
          tlv(TAG_SEQUENCE, oid(OID_EC_PUBLIC_KEY), huge),
          tlv(TAG_BIT_STRING, Buffer.from([0, 4, 1, 2])),
        ),
      }),
    'ERR_CSR_KEY_CURVE',
    /^CSR ECDSA key uses curve 1\.1\.2\.3\..*…; allowed: P-256, P-384$/,
  ],
  [
    'SAN URI of another identity',
    () => forgeCsr(key, `spiffe://cluster.local/ns/default/sa/${'a'.repeat(30_000)}`),
    'ERR_CSR_IDENTITY_NOT_OWNED',
    /^CSR asks for spiffe:\/\/cluster\.local\/ns\/default\/sa\/a+… but the caller may only receive spiffe:\/\/cluster\.local\/ns\/default\/sa\/web$/,
  ],
  [
    'PEM END label',
    () => `-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END ${'X'.repeat(40_000)}-----\n`,
    'ERR_CSR_PEM',
    /^CSR is not valid PEM: PEM block BEGIN CERTIFICATE REQUEST ends with END X+…$/,
  ],
];

describe('client input quoted in CSR refusals', () => {
  const validator = new CsrValidator(DEFAULT_KEY_POLICY);

  it.each(CASES)(
    'a %s is quoted short, and the message still names the rule',
    async (_name, csr, code, message) => {
      const pem = csr();
      let caught: unknown;
      try {
        await validator.validate(pem, IDENTITY);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(MeshCaError);
      const error = caught as MeshCaError;
      expect(error.code).toBe(code);
      expect(error.message).toMatch(message);
      expect(error.message.length).toBeLessThan(MAX_MESSAGE_CHARS);
      expect(error.clientMessage).toBe(error.message);
    },
  );
});

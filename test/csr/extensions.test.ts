import {
  KEY_USAGE_DIGITAL_SIGNATURE,
  KEY_USAGE_KEY_ENCIPHERMENT,
  OID_AUTHORITY_KEY_IDENTIFIER,
  OID_BASIC_CONSTRAINTS,
  OID_CERTIFICATE_POLICIES,
  OID_CRL_DISTRIBUTION_POINTS,
  OID_EXT_KEY_USAGE,
  OID_KEY_USAGE,
  OID_KP_CLIENT_AUTH,
  OID_KP_SERVER_AUTH,
  OID_NAME_CONSTRAINTS,
  OID_SUBJECT_ALT_NAME,
  OID_SUBJECT_KEY_IDENTIFIER,
  tlv,
} from '../../src/asn1/index.js';
import { checkExtensions } from '../../src/csr/extensions.js';
import type { CsrExtension } from '../../src/csr/index.js';
import { InvalidRequestError, type MeshCaErrorCode } from '../../src/errors.js';
import { expectRefusal, extKeyUsageDer, keyUsageDer } from './fixtures.js';

const URI = 'spiffe://cluster.local/ns/default/sa/web';

const ext = (oid: string, value: Uint8Array, critical = false): CsrExtension => ({
  oid,
  critical,
  value: Buffer.from(value),
});
/** GeneralNames ::= SEQUENCE OF GeneralName, from already-tagged names. */
const generalNames = (...names: Buffer[]): Buffer => tlv(0x30, ...names);
const uriName = (uri: string): Buffer => tlv(0x86, Buffer.from(uri));
const san = (...names: Buffer[]): CsrExtension =>
  ext(OID_SUBJECT_ALT_NAME, generalNames(...names), true);

describe('checkExtensions accepts', () => {
  it.each([
    { name: 'a critical SAN with one URI', extensions: [san(uriName(URI))] },
    {
      name: 'a non-critical SAN with one URI',
      extensions: [ext(OID_SUBJECT_ALT_NAME, generalNames(uriName(URI)))],
    },
    {
      name: 'keyUsage and extKeyUsage before the SAN',
      extensions: [
        ext(
          OID_KEY_USAGE,
          keyUsageDer(KEY_USAGE_DIGITAL_SIGNATURE, KEY_USAGE_KEY_ENCIPHERMENT),
          true,
        ),
        ext(OID_EXT_KEY_USAGE, extKeyUsageDer(OID_KP_CLIENT_AUTH, OID_KP_SERVER_AUTH), true),
        san(uriName(URI)),
      ],
    },
    {
      name: 'keyUsage digitalSignature alone',
      extensions: [san(uriName(URI)), ext(OID_KEY_USAGE, keyUsageDer(KEY_USAGE_DIGITAL_SIGNATURE))],
    },
    {
      name: 'keyUsage with no bit set',
      extensions: [san(uriName(URI)), ext(OID_KEY_USAGE, keyUsageDer())],
    },
    {
      name: 'extKeyUsage clientAuth alone',
      extensions: [san(uriName(URI)), ext(OID_EXT_KEY_USAGE, extKeyUsageDer(OID_KP_CLIENT_AUTH))],
    },
  ])('$name and returns the URI', ({ extensions }) => {
    expect(checkExtensions(extensions)).toEqual([URI]);
  });

  it('returns the URI verbatim, not normalized', () => {
    const uri = 'spiffe://Cluster.Local/ns/x/../sa/y';
    expect(checkExtensions([san(uriName(uri))])).toEqual([uri]);
  });
});

describe('checkExtensions refuses', () => {
  const refusal = (code: MeshCaErrorCode, message: RegExp) => ({
    errorClass: InvalidRequestError,
    code,
    message,
  });

  it.each([
    {
      name: 'no extension at all',
      extensions: [],
      ...refusal(
        'ERR_CSR_SAN_MISSING',
        /no subjectAltName; it must request exactly one SPIFFE URI/,
      ),
    },
    {
      name: 'a SAN with no names',
      extensions: [san()],
      ...refusal('ERR_CSR_SAN_COUNT', /holds 0 URIs/),
    },
    {
      name: 'a SAN with three URIs',
      extensions: [san(uriName(URI), uriName(`${URI}2`), uriName(`${URI}3`))],
      ...refusal('ERR_CSR_SAN_COUNT', /holds 3 URIs/),
    },
    {
      name: 'a SAN with a DNS name after the URI',
      extensions: [san(uriName(URI), tlv(0x82, Buffer.from('web.default.svc')))],
      ...refusal('ERR_CSR_SAN_FORBIDDEN_TYPE', /holds a DNS name/),
    },
    {
      name: 'a SAN with an otherName',
      extensions: [
        san(
          tlv(0xa0, Buffer.from('06032a0304', 'hex'), tlv(0xa0, Buffer.from('0c0178', 'hex'))),
          uriName(URI),
        ),
      ],
      ...refusal('ERR_CSR_SAN_FORBIDDEN_TYPE', /holds a otherName name/),
    },
    {
      name: 'a SAN with a directoryName',
      extensions: [san(tlv(0xa4, tlv(0x30)), uriName(URI))],
      ...refusal('ERR_CSR_SAN_FORBIDDEN_TYPE', /holds a directoryName name/),
    },
    {
      name: 'a SAN with a registeredID',
      extensions: [san(tlv(0x88, Buffer.from('2a0304', 'hex')))],
      ...refusal('ERR_CSR_SAN_FORBIDDEN_TYPE', /holds a registeredID name/),
    },
    {
      name: 'a SAN value that is not DER',
      extensions: [ext(OID_SUBJECT_ALT_NAME, Buffer.from([0x30, 0x05, 0x86]))],
      ...refusal('ERR_CSR_EXTENSION_MALFORMED', /subjectAltName is not valid DER/),
    },
    {
      name: 'a SAN value with trailing bytes',
      extensions: [
        ext(OID_SUBJECT_ALT_NAME, Buffer.concat([generalNames(uriName(URI)), Buffer.from([0])])),
      ],
      ...refusal('ERR_CSR_EXTENSION_MALFORMED', /subjectAltName is not valid DER/),
    },
    {
      name: 'a SAN value that is an INTEGER',
      extensions: [ext(OID_SUBJECT_ALT_NAME, Buffer.from('020105', 'hex'))],
      ...refusal('ERR_CSR_EXTENSION_MALFORMED', /subjectAltName is not a list of GeneralNames/),
    },
    {
      name: 'a keyUsage that is an OCTET STRING',
      extensions: [san(uriName(URI)), ext(OID_KEY_USAGE, Buffer.from('0401a0', 'hex'))],
      ...refusal('ERR_CSR_EXTENSION_MALFORMED', /keyUsage is not a BIT STRING/),
    },
    {
      name: 'a keyUsage that is not DER',
      extensions: [san(uriName(URI)), ext(OID_KEY_USAGE, Buffer.from('0305', 'hex'))],
      ...refusal('ERR_CSR_EXTENSION_MALFORMED', /keyUsage is not valid DER/),
    },
    {
      name: 'an empty extKeyUsage (KeyPurposeId SIZE (1..MAX))',
      extensions: [san(uriName(URI)), ext(OID_EXT_KEY_USAGE, tlv(0x30))],
      ...refusal('ERR_CSR_EXTENSION_MALFORMED', /extKeyUsage is not a list of key purposes/),
    },
    {
      name: 'an extKeyUsage of INTEGERs',
      extensions: [
        san(uriName(URI)),
        ext(OID_EXT_KEY_USAGE, tlv(0x30, Buffer.from('020101', 'hex'))),
      ],
      ...refusal('ERR_CSR_EXTENSION_MALFORMED', /extKeyUsage is not a list of key purposes/),
    },
    {
      name: 'extKeyUsage anyExtendedKeyUsage',
      extensions: [san(uriName(URI)), ext(OID_EXT_KEY_USAGE, extKeyUsageDer('2.5.29.37.0'))],
      ...refusal(
        'ERR_CSR_EXT_KEY_USAGE',
        /requests 2\.5\.29\.37\.0; only serverAuth and clientAuth/,
      ),
    },
    {
      name: 'extKeyUsage OCSPSigning',
      extensions: [
        san(uriName(URI)),
        ext(OID_EXT_KEY_USAGE, extKeyUsageDer(OID_KP_SERVER_AUTH, '1.3.6.1.5.5.7.3.9')),
      ],
      ...refusal('ERR_CSR_EXT_KEY_USAGE', /requests 1\.3\.6\.1\.5\.5\.7\.3\.9/),
    },
    {
      name: 'a second SAN',
      extensions: [san(uriName(URI)), san(uriName(URI))],
      ...refusal('ERR_CSR_EXTENSION_DUPLICATE', /subjectAltName more than once/),
    },
    {
      name: 'a second extKeyUsage',
      extensions: [
        ext(OID_EXT_KEY_USAGE, extKeyUsageDer(OID_KP_SERVER_AUTH)),
        ext(OID_EXT_KEY_USAGE, extKeyUsageDer(OID_KP_CLIENT_AUTH)),
        san(uriName(URI)),
      ],
      ...refusal('ERR_CSR_EXTENSION_DUPLICATE', /extKeyUsage more than once/),
    },
  ] satisfies ({ name: string; extensions: CsrExtension[] } & ReturnType<typeof refusal>)[])(
    '$name',
    async ({ extensions, ...expected }) => {
      await expectRefusal(() => checkExtensions(extensions), expected);
    },
  );

  // RFC 5280 §4.2.1.3 bit names; only 0 and 2 may be requested.
  it.each([
    [1, 'nonRepudiation'],
    [3, 'dataEncipherment'],
    [4, 'keyAgreement'],
    [5, 'keyCertSign'],
    [6, 'cRLSign'],
    [7, 'encipherOnly'],
    [8, 'decipherOnly'],
  ])('keyUsage bit %i (%s)', async (bit) => {
    const extensions = [
      san(uriName(URI)),
      ext(OID_KEY_USAGE, keyUsageDer(KEY_USAGE_DIGITAL_SIGNATURE, bit), true),
    ];
    await expectRefusal(() => checkExtensions(extensions), {
      errorClass: InvalidRequestError,
      code: 'ERR_CSR_KEY_USAGE',
      message: new RegExp(
        `keyUsage requests bit ${bit}; only digitalSignature and keyEncipherment`,
      ),
    });
  });

  it.each([
    [OID_BASIC_CONSTRAINTS, 'basicConstraints'],
    [OID_SUBJECT_KEY_IDENTIFIER, 'subjectKeyIdentifier'],
    [OID_AUTHORITY_KEY_IDENTIFIER, 'authorityKeyIdentifier'],
    [OID_NAME_CONSTRAINTS, 'nameConstraints'],
    [OID_CRL_DISTRIBUTION_POINTS, 'cRLDistributionPoints'],
    [OID_CERTIFICATE_POLICIES, 'certificatePolicies'],
    ['1.3.6.1.5.5.7.1.1', '1\\.3\\.6\\.1\\.5\\.5\\.7\\.1\\.1'],
  ])('extension %s, named %s, whatever its position', async (oid, label) => {
    // The forbidden extension comes after a valid SAN: order does not let it through.
    const extensions = [san(uriName(URI)), ext(oid, Buffer.from('0500', 'hex'))];
    await expectRefusal(() => checkExtensions(extensions), {
      errorClass: InvalidRequestError,
      code: 'ERR_CSR_EXTENSION_FORBIDDEN',
      message: new RegExp(
        `requests extension ${label}; only subjectAltName, keyUsage and extKeyUsage are allowed`,
      ),
    });
  });
});

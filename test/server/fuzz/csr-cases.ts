/**
 * Hostile CSRs: truncated, wrong lengths, deep nesting, huge integers, odd and huge OIDs in every
 * position an OID appears, several SAN extensions, odd SAN contents, non-UTF-8 strings, PEM
 * variants, wrong algorithms, byte flips. Each sent with a valid token.
 */
import {
  OID_AT_ORGANIZATION,
  OID_EC_PUBLIC_KEY,
  OID_ECDSA_WITH_SHA256,
  OID_EXT_KEY_USAGE,
  OID_KEY_USAGE,
  OID_RSA_ENCRYPTION,
  OID_SHA256_WITH_RSA,
  PEM_CERTIFICATE_REQUEST,
  TAG_BIT_STRING,
  TAG_INTEGER,
  TAG_SEQUENCE,
  encodeLength,
  encodePem,
  tlv,
} from '../../../src/asn1/index.js';
import {
  AGENT_SUBJECT,
  attribute,
  extension,
  forgeCsr,
  forgeCsrDer,
  name,
  oid,
  sanExtension,
  type ForgeSpec,
} from '../../support/csr-forge.js';
import {
  agentRequest,
  authHeaders,
  type FuzzCase,
  type FuzzContext,
  type StatusName,
} from './cases.js';
import type { Random } from './random.js';

const INVALID: readonly StatusName[] = ['INVALID_ARGUMENT'];
const OID_CURVE_P256 = '1.2.840.10045.3.1.7';

/** A case sending `csr` with the context's valid token. */
function withCsr(
  context: FuzzContext,
  kind: string,
  csr: string,
  allowed: readonly StatusName[] = INVALID,
  probes: readonly string[] = [],
): FuzzCase {
  return {
    name: `csr/${kind}`,
    body: agentRequest(csr),
    headers: authHeaders(context.token),
    allowed,
    probes,
  };
}

/** An OID element that is odd in one of several ways, and its dotted text when it has one. */
function oddOid(random: Random): { element: Buffer; text: string | undefined } {
  switch (random.int(6)) {
    case 0: {
      // Thousands of one-octet arcs (the outside finding: 20,000).
      const arcs = Array.from({ length: random.between(500, 20_000) }, (_, i) =>
        i === 0 ? 1 : random.int(128),
      );
      const element = oid(arcs);
      return { element, text: undefined };
    }
    case 1:
      // An arc far above 2^53.
      return {
        element: tlv(
          0x06,
          Buffer.concat([
            Buffer.from([0x2a]),
            Buffer.alloc(random.between(9, 40), 0xff),
            Buffer.from([0x7f]),
          ]),
        ),
        text: undefined,
      };
    case 2:
      // A non-minimal arc (a leading 0x80).
      return { element: tlv(0x06, Buffer.from([0x2a, 0x80, 0x01])), text: undefined };
    case 3:
      // Truncated: the last octet says more follow.
      return { element: tlv(0x06, Buffer.from([0x2a, 0x86, 0x48, 0x86])), text: undefined };
    case 4:
      return { element: tlv(0x06, Buffer.alloc(0)), text: undefined };
    default: {
      const arcs = [
        random.int(3),
        random.int(40),
        ...Array.from({ length: random.between(1, 30) }, () => random.int(1 << 20)),
      ];
      return { element: oid(arcs), text: arcs.join('.') };
    }
  }
}

/** Dotted text of an OID element's value, as meshca would print it (for echo probes). */
function dotted(element: Buffer): string {
  const value = element.subarray(
    element[1] !== undefined && element[1] >= 0x80 ? 2 + (element[1] & 0x7f) : 2,
  );
  const arcs: number[] = [];
  let current = 0;
  for (const byte of value) {
    current = current * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) {
      arcs.push(current);
      current = 0;
    }
  }
  const [first = 0, ...rest] = arcs;
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...rest].join('.');
}

/** The positions an OID takes in a request. */
function withOid(
  context: FuzzContext,
  random: Random,
  element: Buffer,
): { spec: ForgeSpec; where: string } {
  const san = sanExtension([context.uri]);
  switch (random.int(7)) {
    case 0:
      return {
        spec: { extensions: [san, extension(element, Buffer.from([5, 0]))] },
        where: 'extension',
      };
    case 1:
      return {
        spec: { extensions: [san, extension(oid(OID_EXT_KEY_USAGE), tlv(TAG_SEQUENCE, element))] },
        where: 'eku',
      };
    case 2:
      return {
        spec: { subject: name([[element, tlv(0x0c, Buffer.from('x'))]]) },
        where: 'subject',
      };
    case 3:
      return {
        spec: { attributes: [attribute(element, tlv(0x0c, Buffer.from('x')))] },
        where: 'attribute',
      };
    case 4:
      return {
        spec: { signatureAlgorithm: tlv(TAG_SEQUENCE, element) },
        where: 'signature-algorithm',
      };
    case 5:
      return {
        spec: {
          spki: tlv(
            TAG_SEQUENCE,
            tlv(TAG_SEQUENCE, element),
            tlv(TAG_BIT_STRING, Buffer.from([0, 1, 2])),
          ),
        },
        where: 'key-algorithm',
      };
    default:
      return {
        spec: {
          spki: tlv(
            TAG_SEQUENCE,
            tlv(TAG_SEQUENCE, oid(OID_EC_PUBLIC_KEY), element),
            tlv(TAG_BIT_STRING, Buffer.from([0, 4, ...context.key.spkiDer.subarray(-64)])),
          ),
        },
        where: 'curve',
      };
  }
}

/** A NULL inside `depth` SEQUENCEs, built in one pass (nesting by concatenation is quadratic). */
function nested(depth: number): Buffer {
  const headers: Buffer[] = [];
  let length = 2; // NULL: 05 00
  for (let level = 0; level < depth; level++) {
    const header = Buffer.concat([Buffer.from([TAG_SEQUENCE]), encodeLength(length)]);
    headers.push(header);
    length += header.length;
  }
  return Buffer.concat([...headers.reverse(), Buffer.from([0x05, 0x00])]);
}

/** An RSA SPKI with a random odd modulus of `bits` (readable, not a real key). */
function rsaSpki(random: Random, bits: number, exponent: Buffer): Buffer {
  const modulus = random.bytes(Math.ceil(bits / 8));
  modulus[0] = (modulus[0] ?? 0) | 0x80;
  modulus[modulus.length - 1] = (modulus[modulus.length - 1] ?? 0) | 1;
  const integer = (magnitude: Buffer): Buffer =>
    tlv(
      TAG_INTEGER,
      (magnitude[0] ?? 0) >= 0x80 ? Buffer.concat([Buffer.from([0]), magnitude]) : magnitude,
    );
  return tlv(
    TAG_SEQUENCE,
    tlv(TAG_SEQUENCE, oid(OID_RSA_ENCRYPTION), tlv(0x05, Buffer.alloc(0))),
    tlv(TAG_BIT_STRING, Buffer.from([0]), tlv(TAG_SEQUENCE, integer(modulus), integer(exponent))),
  );
}

/** A PEM variant of the valid CSR, and what it deserves. */
function pemVariant(
  context: FuzzContext,
  random: Random,
): { kind: string; pem: string; allowed: readonly StatusName[]; probes?: string[] } {
  const body = context.csrDer.toString('base64');
  const lines = (text: string, width: number): string =>
    text.match(new RegExp(`.{1,${width}}`, 'g'))?.join('\n') ?? '';
  const block = (label: string, content: string, end = label): string =>
    `-----BEGIN ${label}-----\n${content}\n-----END ${end}-----\n`;
  const ok: readonly StatusName[] = ['OK'];
  switch (random.int(14)) {
    case 0:
      return {
        kind: 'pem-legacy-label',
        pem: block('NEW CERTIFICATE REQUEST', lines(body, 64)),
        allowed: ok,
      };
    case 1:
      return {
        kind: 'pem-crlf',
        pem: block(PEM_CERTIFICATE_REQUEST, lines(body, 64)).replace(/\n/g, '\r\n'),
        allowed: ok,
      };
    case 2:
      return { kind: 'pem-one-line', pem: block(PEM_CERTIFICATE_REQUEST, body), allowed: ok };
    case 3:
      return {
        kind: 'pem-odd-width',
        pem: block(PEM_CERTIFICATE_REQUEST, lines(body, random.between(1, 200))),
        allowed: ok,
      };
    case 4:
      return {
        kind: 'pem-explanatory-text',
        pem: `subject=O=\n${context.csrPem}trailing text\n`,
        allowed: ok,
      };
    case 5:
      return { kind: 'pem-two-blocks', pem: context.csrPem + context.csrPem, allowed: INVALID };
    case 6: {
      const end = 'X'.repeat(random.between(100, 50_000));
      return {
        kind: 'pem-long-end-label',
        pem: block(PEM_CERTIFICATE_REQUEST, lines(body, 64), end),
        allowed: INVALID,
        probes: [end],
      };
    }
    case 7:
      return {
        kind: 'pem-lowercase-label',
        pem: block('certificate request', lines(body, 64)),
        allowed: INVALID,
      };
    case 8: {
      const broken = body.split('');
      broken[random.int(broken.length)] = random.pick(['!', '*', '~', 'é', '\u0000']);
      return {
        kind: 'pem-bad-base64',
        pem: block(PEM_CERTIFICATE_REQUEST, lines(broken.join(''), 64)),
        allowed: INVALID,
      };
    }
    case 9:
      return {
        kind: 'pem-no-end',
        pem: `-----BEGIN ${PEM_CERTIFICATE_REQUEST}-----\n${lines(body, 64)}\n`,
        allowed: INVALID,
      };
    case 10:
      return { kind: 'pem-bom', pem: `\uFEFF${context.csrPem}`, allowed: ok };
    case 11:
      return {
        kind: 'pem-too-large',
        pem: context.csrPem + ' '.repeat(64 * 1024),
        allowed: INVALID,
      };
    case 12:
      return {
        kind: 'pem-certificate-label',
        pem: block('CERTIFICATE', lines(body, 64)),
        allowed: INVALID,
      };
    default:
      return {
        kind: 'pem-tabs',
        pem: block(PEM_CERTIFICATE_REQUEST, lines(body, 64).replace(/\n/g, '\n\t ')),
        allowed: ok,
      };
  }
}

/** One hostile CSR case. */
export function hostileCsrCase(context: FuzzContext, random: Random): FuzzCase {
  const der = context.csrDer;
  const pem = (bytes: Buffer): string => encodePem(PEM_CERTIFICATE_REQUEST, bytes);
  const forge = (spec: ForgeSpec): string => forgeCsr(context.key, context.uri, spec);
  switch (random.int(15)) {
    case 0: {
      const pemText = context.csrPem;
      const cut = random.int(pemText.length);
      // Cut after the END line (only the final newline lost), it is still a whole block.
      const whole = cut >= pemText.lastIndexOf('-----') + 5;
      return withCsr(context, 'truncated-pem', pemText.slice(0, cut), whole ? ['OK'] : INVALID);
    }
    case 1:
      return withCsr(context, 'truncated-der', pem(der.subarray(0, random.int(der.length))));
    case 2: {
      // One byte changed anywhere: structure, signed content or signature.
      const changed = Buffer.from(der);
      const at = random.int(changed.length);
      changed[at] = (changed[at] ?? 0) ^ (1 + random.int(255));
      return withCsr(context, 'byte-changed', pem(changed), [
        'INVALID_ARGUMENT',
        'PERMISSION_DENIED',
      ]);
    }
    case 3: {
      // A length octet made wrong (the outer ones, then the info's).
      const changed = Buffer.from(der);
      const at = random.pick([1, 2, 3, 5, 6, 7]);
      changed[at] = (changed[at] ?? 0) ^ (1 + random.int(255));
      return withCsr(context, 'wrong-length', pem(changed));
    }
    case 4: {
      const depth = random.between(50, 8000);
      return random.chance(0.5)
        ? withCsr(
            context,
            'deep-nesting-subject',
            forge({ subject: tlv(TAG_SEQUENCE, nested(depth)) }),
          )
        : withCsr(
            context,
            'deep-nesting-extension',
            forge({
              extensions: [
                sanExtension([context.uri]),
                extension(oid(OID_KEY_USAGE), nested(depth)),
              ],
            }),
          );
    }
    case 5: {
      switch (random.int(3)) {
        case 0:
          return withCsr(
            context,
            'huge-version',
            forge({ version: tlv(TAG_INTEGER, random.bytes(random.between(2, 20_000))) }),
          );
        case 1:
          return withCsr(
            context,
            'huge-rsa-modulus',
            forge({
              spki: rsaSpki(random, random.pick([8200, 16_384, 65_536]), Buffer.from([1, 0, 1])),
            }),
          );
        default:
          return withCsr(
            context,
            'huge-rsa-exponent',
            forge({ spki: rsaSpki(random, 2048, random.bytes(random.between(5, 2000))) }),
          );
      }
    }
    case 6:
    case 7: {
      const odd = oddOid(random);
      const { spec, where } = withOid(context, random, odd.element);
      const text = odd.text ?? dotted(odd.element);
      return withCsr(
        context,
        `odd-oid-${where}`,
        forge(spec),
        INVALID,
        text.length > 100 ? [text] : [],
      );
    }
    case 8: {
      const count = random.between(2, 5);
      return withCsr(
        context,
        'several-san-extensions',
        forge({ extensions: Array.from({ length: count }, () => sanExtension([context.uri])) }),
      );
    }
    case 9: {
      const names = [
        [context.uri, context.uri],
        [context.uri, 'spiffe://cluster.local/ns/other/sa/x'],
        [],
        [''],
        ['spiffe://cluster.local/ns/kube-system/sa/admin'],
        [`spiffe://cluster.local/ns/default/sa/${'a'.repeat(random.between(100, 40_000))}`],
      ];
      const uris = random.pick(names);
      const probes = uris.filter((uri) => uri.length > 100);
      return withCsr(
        context,
        'san-uris',
        forge({ extensions: [sanExtension(uris)] }),
        ['INVALID_ARGUMENT', 'PERMISSION_DENIED'],
        probes,
      );
    }
    case 10: {
      // Other GeneralName types, and URIs that are not printable IA5.
      const general = random.pick([
        tlv(0x82, Buffer.from('evil.example.com')),
        tlv(0x87, Buffer.from([10, 0, 0, 1])),
        tlv(0x81, Buffer.from('a@b.c')),
        tlv(0xa0, Buffer.from([0x06, 0x01, 0x2a])),
        tlv(0x86, Buffer.concat([Buffer.from(context.uri), Buffer.from([0xff, 0xfe])])),
        tlv(0x86, Buffer.from([0x00, 0x01])),
        tlv(0x30, Buffer.alloc(0)),
      ]);
      const san = extension(
        oid('2.5.29.17'),
        tlv(TAG_SEQUENCE, tlv(0x86, Buffer.from(context.uri)), general),
        true,
      );
      return withCsr(context, 'san-types', forge({ extensions: [san] }));
    }
    case 11: {
      // Strings meshca reads but never trusts: O= holding anything is acceptable (the issued
      // subject is always empty), so these may be issued.
      const tag = random.pick([0x0c, 0x13, 0x14, 0x16, 0x1e, 0x1c, 0x04]);
      const subject = name([
        [oid(OID_AT_ORGANIZATION), tlv(tag, random.bytes(random.between(0, 300)))],
      ]);
      return withCsr(context, 'subject-strings', forge({ subject }), ['OK', 'INVALID_ARGUMENT']);
    }
    case 12: {
      const variant = pemVariant(context, random);
      return withCsr(context, variant.kind, variant.pem, variant.allowed, variant.probes);
    }
    case 13: {
      const [kind, algorithm, allowed] = random.pick<
        readonly [string, Buffer, readonly StatusName[]]
      >([
        [
          'rsa-for-ec-key',
          tlv(TAG_SEQUENCE, oid(OID_SHA256_WITH_RSA), tlv(0x05, Buffer.alloc(0))),
          INVALID,
        ],
        ['ecdsa-sha1', tlv(TAG_SEQUENCE, oid('1.2.840.10045.4.1')), INVALID],
        ['rsassa-pss', tlv(TAG_SEQUENCE, oid('1.2.840.113549.1.1.10')), INVALID],
        // RFC 5758 says ECDSA parameters are absent; meshca reads the OID only, as Go does, and
        // the signature still verifies, so this one may be issued.
        [
          'ecdsa-with-null-parameters',
          tlv(TAG_SEQUENCE, oid(OID_ECDSA_WITH_SHA256), tlv(0x05, Buffer.alloc(0))),
          ['OK', 'INVALID_ARGUMENT'],
        ],
        ['empty', tlv(TAG_SEQUENCE), INVALID],
      ]);
      return withCsr(
        context,
        `signature-algorithm-${kind}`,
        pem(forgeCsrDer(context.key, context.uri, { signatureAlgorithm: algorithm })),
        allowed,
      );
    }
    default: {
      if (random.chance(0.5)) {
        return withCsr(context, 'random-der', pem(random.bytes(random.between(0, 3000))));
      }
      const extensions = [
        sanExtension([context.uri]),
        random.pick([
          extension(oid('2.5.29.19'), tlv(TAG_SEQUENCE, tlv(0x01, Buffer.from([0xff]))), true),
          extension(oid(OID_KEY_USAGE), tlv(TAG_BIT_STRING, Buffer.from([2, 0x04]))),
          extension(oid(OID_EXT_KEY_USAGE), tlv(TAG_SEQUENCE, oid('1.3.6.1.5.5.7.3.3'))),
          extension(oid(OID_EXT_KEY_USAGE), tlv(TAG_SEQUENCE)),
          extension(oid(OID_KEY_USAGE), random.bytes(random.between(0, 40))),
          extension(oid([1, 3, 6, 1, 4, 1, random.int(100_000), random.int(100)]), random.bytes(8)),
          extension(oid(OID_CURVE_P256), Buffer.alloc(0)),
        ]),
      ];
      return withCsr(
        context,
        'extensions',
        forge({ extensions, ...(random.chance(0.2) ? { subject: AGENT_SUBJECT } : {}) }),
      );
    }
  }
}

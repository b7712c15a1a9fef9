/**
 * PKCS#10 requests forged byte by byte (RFC 2986 §4), for what no well-behaved builder makes:
 * OIDs with thousands of arcs, several SAN extensions, odd string types, wrong lengths. Every
 * part can be replaced by raw DER; the signature is real (ECDSA P-256 over the info DER as
 * built), so a request gets as far into the checks as its content allows.
 */
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import {
  OID_AT_ORGANIZATION,
  OID_ECDSA_WITH_SHA256,
  OID_PKCS9_EXTENSION_REQUEST,
  OID_SUBJECT_ALT_NAME,
  PEM_CERTIFICATE_REQUEST,
  TAG_BIT_STRING,
  TAG_BOOLEAN,
  TAG_INTEGER,
  TAG_OCTET_STRING,
  TAG_OID,
  TAG_SEQUENCE,
  TAG_SET,
  encodePem,
  tlv,
} from '../../src/asn1/index.js';

/** A key that signs forged requests. */
export interface ForgeKey {
  readonly privateKey: KeyObject;
  readonly spkiDer: Buffer;
}

/** A fresh ECDSA P-256 key. */
export function forgeKey(): ForgeKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, spkiDer: publicKey.export({ type: 'spki', format: 'der' }) };
}

/** OBJECT IDENTIFIER value octets (X.690 §8.19) of `arcs` (the first two combined). */
export function oidValue(arcs: readonly number[]): Buffer {
  const [first = 0, second = 0, ...rest] = arcs;
  const bytes: number[] = [];
  for (const arc of [first * 40 + second, ...rest]) {
    const groups: number[] = [];
    let value = arc;
    do {
      groups.unshift(value % 128);
      value = Math.floor(value / 128);
    } while (value > 0);
    groups.forEach((group, index) => bytes.push(index < groups.length - 1 ? group | 0x80 : group));
  }
  return Buffer.from(bytes);
}

/** An OBJECT IDENTIFIER element from dotted text or arcs. */
export function oid(value: string | readonly number[]): Buffer {
  const arcs = typeof value === 'string' ? value.split('.').map(Number) : value;
  return tlv(TAG_OID, oidValue(arcs));
}

/**
 * An OID element with `arcCount` one-octet arcs (1.2.2.3.4...99.0.1...): 20,000 arcs are 20 KB of
 * DER and ~40 KB of dotted text, the shape of the outside fuzz finding.
 */
export function hugeOid(arcCount: number): Buffer {
  return oid(Array.from({ length: arcCount }, (_, index) => (index === 0 ? 1 : index % 100)));
}

/** Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }. */
export function extension(id: Buffer, value: Uint8Array, critical = false): Buffer {
  return tlv(
    TAG_SEQUENCE,
    id,
    ...(critical ? [tlv(TAG_BOOLEAN, Buffer.from([0xff]))] : []),
    tlv(TAG_OCTET_STRING, value),
  );
}

/** A subjectAltName extension holding URIs (GeneralName [6] IA5String). */
export function sanExtension(uris: readonly string[], critical = true): Buffer {
  const names = uris.map((uri) => tlv(0x86, Buffer.from(uri, 'latin1')));
  return extension(oid(OID_SUBJECT_ALT_NAME), tlv(TAG_SEQUENCE, ...names), critical);
}

/** Name ::= SEQUENCE OF SET OF SEQUENCE { type, value }, one attribute per RDN. */
export function name(attributes: readonly (readonly [Buffer, Buffer])[]): Buffer {
  return tlv(
    TAG_SEQUENCE,
    ...attributes.map(([type, value]) => tlv(TAG_SET, tlv(TAG_SEQUENCE, type, value))),
  );
}

/** istio-agent's subject: `O=` (an empty UTF8String organization). */
export const AGENT_SUBJECT = name([[oid(OID_AT_ORGANIZATION), tlv(0x0c, Buffer.alloc(0))]]);

/** Attribute ::= SEQUENCE { type, values SET OF value }. */
export function attribute(type: Buffer, ...values: readonly Buffer[]): Buffer {
  return tlv(TAG_SEQUENCE, type, tlv(TAG_SET, ...values));
}

/** What a forged request holds; every part defaults to istio-agent's shape. */
export interface ForgeSpec {
  /** The whole version element (default INTEGER 0). */
  readonly version?: Buffer;
  readonly subject?: Buffer;
  /** SubjectPublicKeyInfo DER (default: the signing key's). */
  readonly spki?: Buffer;
  /** Extensions inside extensionRequest (default: one SAN with `uri`). */
  readonly extensions?: readonly Buffer[];
  /** Attributes after extensionRequest. */
  readonly attributes?: readonly Buffer[];
  /** The whole signatureAlgorithm element (default ecdsa-with-SHA256). */
  readonly signatureAlgorithm?: Buffer;
}

/** The DER of a request for `uri`, signed by `key`, with `spec` replacing parts. */
export function forgeCsrDer(key: ForgeKey, uri: string, spec: ForgeSpec = {}): Buffer {
  const extensions = spec.extensions ?? [sanExtension([uri])];
  const info = tlv(
    TAG_SEQUENCE,
    spec.version ?? tlv(TAG_INTEGER, Buffer.from([0])),
    spec.subject ?? AGENT_SUBJECT,
    spec.spki ?? key.spkiDer,
    tlv(
      0xa0,
      attribute(oid(OID_PKCS9_EXTENSION_REQUEST), tlv(TAG_SEQUENCE, ...extensions)),
      ...(spec.attributes ?? []),
    ),
  );
  const signature = sign('sha256', info, key.privateKey);
  return tlv(
    TAG_SEQUENCE,
    info,
    spec.signatureAlgorithm ?? tlv(TAG_SEQUENCE, oid(OID_ECDSA_WITH_SHA256)),
    tlv(TAG_BIT_STRING, Buffer.from([0]), signature),
  );
}

/** {@link forgeCsrDer} as PEM. */
export function forgeCsr(key: ForgeKey, uri: string, spec: ForgeSpec = {}): string {
  return encodePem(PEM_CERTIFICATE_REQUEST, forgeCsrDer(key, uri, spec));
}

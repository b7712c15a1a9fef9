/**
 * Certificate revocation lists signed by the intermediate (RFC 5280 §5): v2, with a CRL number,
 * thisUpdate and nextUpdate, the authorityKeyIdentifier of the signing certificate, and one entry
 * per revoked serial with its revocation date and reason code. Serials of workloads that are gone
 * and serials revoked by hand come from the ledger; an entry leaves the list once its certificate
 * has expired (the caller passes only unexpired ones).
 *
 * Encoded with the DER writer of the issuance path; signed on libuv's thread pool.
 *
 * @module
 */
import { sign, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import {
  OID_AUTHORITY_KEY_IDENTIFIER,
  OID_CRL_NUMBER,
  OID_CRL_REASON,
  PEM_CRL,
  TAG_BIT_STRING,
  TAG_INTEGER,
  TAG_OCTET_STRING,
  TAG_SEQUENCE,
  contextConstructed,
  contextPrimitive,
  encodePem,
  tlv,
  unsignedInteger,
  x509Time,
} from '../asn1/index.js';
import type { ParsedCertificate } from '../asn1/index.js';
import { InternalError } from '../errors.js';
import { signatureAlgorithmFor } from './leaf-template.js';

/** RFC 5280 §5.3.1 CRLReason, by name (value 7 is not used). */
export const CRL_REASONS = {
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  certificateHold: 6,
  removeFromCRL: 8,
  privilegeWithdrawn: 9,
  aACompromise: 10,
} as const;

/** A CRLReason name. */
export type CrlReason = keyof typeof CRL_REASONS;

/** True for a CRLReason name. */
export function isCrlReason(name: string): name is CrlReason {
  return Object.hasOwn(CRL_REASONS, name);
}

/** One revoked certificate. */
export interface CrlEntry {
  /** The serial, hex (as the ledger records it). */
  readonly serialHex: string;
  readonly revokedAt: Date;
  readonly reason: CrlReason;
}

/** What goes into one CRL. */
export interface CrlContent {
  /** Monotonically increasing per issuer (RFC 5280 §5.2.3), at most 20 octets. */
  readonly crlNumber: bigint;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date;
  readonly entries: readonly CrlEntry[];
}

const TAG_ENUMERATED = 0x0a;
const oid = (value: string): Buffer =>
  Buffer.from(new asn1js.ObjectIdentifier({ value }).toBER(false));

function extension(id: string, value: Buffer): Buffer {
  return tlv(TAG_SEQUENCE, oid(id), tlv(TAG_OCTET_STRING, value));
}

function bigintBytes(value: bigint): Buffer {
  const hex = value.toString(16);
  return Buffer.from(hex.length % 2 === 0 ? hex : `0${hex}`, 'hex');
}

/**
 * The DER TBSCertList of `content`, for `issuer`.
 *
 * @throws TypeError for a CRL number out of range, a bad serial, or nextUpdate before thisUpdate.
 */
export function crlToBeSigned(
  issuer: ParsedCertificate,
  algorithmIdentifier: Buffer,
  content: CrlContent,
): Buffer {
  if (content.crlNumber < 0n || bigintBytes(content.crlNumber).length > 20) {
    throw new TypeError('a CRL number is a non-negative integer of at most 20 octets');
  }
  if (content.nextUpdate.getTime() <= content.thisUpdate.getTime()) {
    throw new TypeError('nextUpdate must come after thisUpdate');
  }
  const entries = content.entries.map((entry) => {
    if (!/^[0-9a-f]+$/i.test(entry.serialHex) || entry.serialHex.length > 40) {
      throw new TypeError(`bad serial ${entry.serialHex}`);
    }
    const serial = Buffer.from(
      entry.serialHex.length % 2 === 0 ? entry.serialHex : `0${entry.serialHex}`,
      'hex',
    );
    // §5.3.1: the reason code SHOULD be absent rather than unspecified.
    const extensions =
      entry.reason === 'unspecified'
        ? []
        : [
            tlv(
              TAG_SEQUENCE,
              extension(
                OID_CRL_REASON,
                tlv(TAG_ENUMERATED, Buffer.from([CRL_REASONS[entry.reason]])),
              ),
            ),
          ];
    return tlv(TAG_SEQUENCE, unsignedInteger(serial), x509Time(entry.revokedAt), ...extensions);
  });
  const crlExtensions = tlv(
    contextConstructed(0),
    tlv(
      TAG_SEQUENCE,
      extension(
        OID_AUTHORITY_KEY_IDENTIFIER,
        tlv(TAG_SEQUENCE, tlv(contextPrimitive(0), issuer.keyIdentifier)),
      ),
      extension(OID_CRL_NUMBER, unsignedInteger(bigintBytes(content.crlNumber))),
    ),
  );
  return tlv(
    TAG_SEQUENCE,
    // version v2 (INTEGER 1): required with extensions (§5.1.2.1).
    tlv(TAG_INTEGER, Buffer.from([0x01])),
    algorithmIdentifier,
    issuer.subjectDer,
    x509Time(content.thisUpdate),
    x509Time(content.nextUpdate),
    // §5.1.2.6: when nothing is revoked, the list is absent, not empty.
    ...(entries.length === 0 ? [] : [tlv(TAG_SEQUENCE, ...entries)]),
    crlExtensions,
  );
}

/**
 * Signs a CRL with the intermediate's key; returns its DER.
 *
 * @throws {@link InternalError} `ERR_SIGNING_FAILED` when the key refuses to sign.
 */
export async function signCrl(
  issuer: ParsedCertificate,
  issuerKey: KeyObject,
  content: CrlContent,
): Promise<Buffer> {
  const { digest, algorithmIdentifier } = signatureAlgorithmFor(issuerKey);
  const tbs = crlToBeSigned(issuer, algorithmIdentifier, content);
  const signature = await new Promise<Buffer>((resolve, reject) => {
    sign(digest, tbs, issuerKey, (error, result) => {
      if (error !== null) {
        reject(
          new InternalError('ERR_SIGNING_FAILED', 'the CA key failed to sign the CRL', {
            cause: error,
          }),
        );
      } else {
        resolve(result);
      }
    });
  });
  return tlv(
    TAG_SEQUENCE,
    tbs,
    algorithmIdentifier,
    tlv(TAG_BIT_STRING, Buffer.from([0]), signature),
  );
}

/** A CRL's PEM form (`-----BEGIN X509 CRL-----`, RFC 7468 §6), as `ca-crl.pem` holds it. */
export function crlPem(der: Uint8Array): string {
  return encodePem(PEM_CRL, der);
}

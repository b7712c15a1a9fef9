/**
 * Certification path building and validation (RFC 5280 §6, the parts a mesh CA needs): from a
 * certificate, through a pool of intermediates, to one of a set of trust anchors, checking
 * signatures, CA flags, path lengths and validity. Used when CA material is loaded and to check
 * issued chains (`meshca request`, tests).
 *
 * @module
 */
import type { ParsedCertificate } from '../asn1/index.js';

/** A validated path. */
export interface CertificationPath {
  /** From the start certificate up to, not including, the anchor. Empty when the start is an anchor. */
  readonly path: readonly ParsedCertificate[];
  readonly anchor: ParsedCertificate;
}

/** Longest chain we follow; real meshes have one or two intermediates. */
const MAX_DEPTH = 8;

/** True when `parent` issued `child`: names chain and the signature verifies. */
export function issuedBy(child: ParsedCertificate, parent: ParsedCertificate): boolean {
  return child.x509.checkIssued(parent.x509) && child.x509.verify(parent.x509.publicKey);
}

/**
 * Builds and validates the path from `start` to an anchor in `roots`.
 *
 * @param at The time at which every certificate must be valid.
 * @throws `Error` describing the first problem found.
 */
export function buildCertificationPath(
  start: ParsedCertificate,
  pool: readonly ParsedCertificate[],
  roots: readonly ParsedCertificate[],
  at: Date,
): CertificationPath {
  return walk(start, pool, roots, at);
}

/**
 * Builds the path from `start` to an anchor in `roots` checking names, signatures, CA flags,
 * keyCertSign and path lengths, but not validity periods: the question "is this certificate
 * anchored to an approved root?" (rogue-CA discovery), whose answer does not change when a
 * certificate on the path expires. Expiry is reported on its own.
 *
 * @throws `Error` describing the first problem found.
 */
export function findCertificationPath(
  start: ParsedCertificate,
  pool: readonly ParsedCertificate[],
  roots: readonly ParsedCertificate[],
): CertificationPath {
  return walk(start, pool, roots, undefined);
}

function walk(
  start: ParsedCertificate,
  pool: readonly ParsedCertificate[],
  roots: readonly ParsedCertificate[],
  at: Date | undefined,
): CertificationPath {
  const path: ParsedCertificate[] = [];
  let current = start;
  for (let depth = 0; depth <= MAX_DEPTH; depth++) {
    if (at !== undefined) checkValidity(current, at);
    const asAnchor = roots.find((root) => root.sha256 === current.sha256);
    if (asAnchor) return finish(path, asAnchor);
    const anchor = roots.find((root) => issuedBy(current, root));
    path.push(current);
    if (anchor) {
      if (at !== undefined) checkValidity(anchor, at);
      return finish(path, anchor);
    }
    const next = pool.find(
      (candidate) =>
        candidate !== current && !path.includes(candidate) && issuedBy(current, candidate),
    );
    if (!next) throw new NoIssuerFoundError(current);
    current = next;
  }
  throw new Error(`certification path is longer than ${MAX_DEPTH}`);
}

function finish(path: ParsedCertificate[], anchor: ParsedCertificate): CertificationPath {
  // Every issuer on the path must be a CA, and RFC 5280 §4.2.1.9 pathLenConstraint bounds the
  // number of intermediate CAs below it. path[0] is the start: a leaf, or a CA that will itself
  // sign leaves (and so counts as an intermediate below its issuers).
  const [start] = path;
  if (start === undefined) return { path, anchor };
  const offset = start.isCa ? 1 : 0;
  const issuers = [...path.slice(1), anchor];
  for (const [index, issuer] of issuers.entries()) {
    if (!issuer.isCa) {
      throw new Error(`"${describe(issuer)}" issues certificates but is not a CA`);
    }
    if (issuer.canSignCertificates === false) {
      throw new Error(`"${describe(issuer)}" lacks keyUsage keyCertSign`);
    }
    const intermediatesBelow = index + offset;
    if (issuer.pathLength !== undefined && intermediatesBelow > issuer.pathLength) {
      throw new Error(
        `"${describe(issuer)}" allows ${issuer.pathLength} ` +
          `intermediates below it, the path has ${intermediatesBelow}`,
      );
    }
  }
  return { path, anchor };
}

/** Path building stopped at a certificate whose issuer is neither a root nor in the pool. */
export class NoIssuerFoundError extends Error {
  /** Where the path stops. */
  readonly certificate: ParsedCertificate;

  constructor(certificate: ParsedCertificate) {
    super(`no issuer found for "${describe(certificate)}" among the intermediates and roots`);
    this.name = 'NoIssuerFoundError';
    this.certificate = certificate;
  }
}

/** A certificate on the path is not valid yet: the same input may be accepted later. */
export class NotYetValidError extends Error {
  readonly validFrom: Date;

  constructor(message: string, validFrom: Date) {
    super(message);
    this.name = 'NotYetValidError';
    this.validFrom = validFrom;
  }
}

function checkValidity(cert: ParsedCertificate, at: Date): void {
  if (at < cert.notBefore) {
    throw new NotYetValidError(
      `"${describe(cert)}" is not valid before ${cert.notBefore.toISOString()}`,
      cert.notBefore,
    );
  }
  if (at > cert.notAfter) {
    throw new Error(`"${describe(cert)}" expired at ${cert.notAfter.toISOString()}`);
  }
}

/** A certificate's subject on one line, for error messages. */
export function describe(cert: ParsedCertificate): string {
  // Node reports an empty subject (every workload leaf) as undefined.
  const subject = (cert.x509.subject as string | undefined) ?? '';
  return subject === '' ? `serial ${cert.x509.serialNumber}` : subject.replaceAll('\n', ', ');
}

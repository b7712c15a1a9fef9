/**
 * Classification: from the certificates an object holds or serves to findings. Pure functions of
 * their input and a {@link Judge}; the scanner feeds them one object at a time.
 *
 * The rules (severities are defined in `finding.ts`):
 * - Every certificate that is not itself an approved anchor is checked for `expired`,
 *   `expiring-soon` (except CAs of the approved hierarchy, whose expiry meshca's own metrics
 *   watch) and `weak-key`.
 * - A CA certificate (basicConstraints cA, or anything in a `caBundle`, which is a set of trust
 *   anchors whatever its flags say) that does not chain to an approved anchor is a
 *   `self-signed-ca` or an `unapproved-ca`. A rogue hierarchy in one object is reported once, at
 *   its top: an unanchored CA whose issuer is in the same object is covered by its issuer's
 *   finding.
 * - `ca-key-in-cluster`: a private-key entry whose certificate is a CA. Keys pair with
 *   certificates by the conventions of the formats that use them (`tls.key`/`tls.crt`,
 *   `ca-key.pem`/`ca-cert.pem`, `key.pem`/`cert-chain.pem`, `ca.key`/`ca.crt`, `key`/`cert`); a
 *   key with no partner entry is taken to belong to the object's CA when there is one. The key
 *   itself is never read, so the pairing is by name only.
 *
 * @module
 */
import { issuedBy, type CertificateDescription, type ParsedCertificate } from '../ca/index.js';
import type { FindingCertificate, FindingDraft, ObjectRef, Severity } from './finding.js';
import { objectLabel } from './finding.js';
import type { Judge } from './judge.js';

const DAY_MS = 24 * 3600 * 1000;
/** `expiring-soon` is `medium` inside this window, `low` before. */
export const URGENT_EXPIRY_MS = 7 * DAY_MS;
/** RSA moduli below this are weak (NIST SP 800-131A Rev. 2: 2048 bits since 2014). */
export const MIN_RSA_BITS = 2048;
/** Curves of at least 128-bit strength (NIST SP 800-57 Part 1 §5.6.1; RFC 5639; SEC 2). */
const STRONG_CURVES: ReadonlySet<string> = new Set([
  'prime256v1',
  'secp384r1',
  'secp521r1',
  'secp256k1',
  'brainpoolP256r1',
  'brainpoolP384r1',
  'brainpoolP512r1',
]);

/** One entry of an object that holds certificates. */
export interface HolderEntry {
  /** The data key (`tls.crt`) or field path (`webhooks[x].clientConfig.caBundle`). */
  readonly location: string;
  readonly certificates: readonly ParsedCertificate[];
}

/** An object holding certificates: a Secret, or a webhook configuration / APIService. */
export interface CertificateHolder {
  readonly object: ObjectRef;
  /** `ca-bundle`: every certificate is a trust anchor of whoever uses the bundle. */
  readonly role: 'secret' | 'ca-bundle';
  readonly entries: readonly HolderEntry[];
  /** Names of private-key entries (see `SecretRecord.privateKeyEntries`). */
  readonly privateKeyEntries: readonly string[];
}

/** The certificate entry a private-key entry belongs to, by the conventions of each format. */
const KEY_PARTNERS: Readonly<Record<string, string>> = {
  'tls.key': 'tls.crt',
  'tls.crt': 'tls.crt',
  'ca-key.pem': 'ca-cert.pem',
  'key.pem': 'cert-chain.pem',
  'ca.key': 'ca.crt',
  key: 'cert',
};

/** A certificate in a finding. */
export function findingCertificate(description: CertificateDescription): FindingCertificate {
  return {
    subject: description.subject,
    issuer: description.issuer,
    serialNumber: description.serialNumber,
    sha256: description.sha256,
    notBefore: description.notBefore,
    notAfter: description.notAfter,
    isCa: description.isCa,
    selfSigned: description.selfSigned,
    key: description.key.label,
    signatureAlgorithm: description.signatureAlgorithm,
  };
}

/**
 * Why a certificate's key or signature is weak, or an empty list. The signature of a
 * self-signed certificate is exempt: nobody relies on a trust anchor's signature over itself
 * (RFC 5280 §6.1.1: the anchor's key and name are used directly).
 */
export function weaknesses(description: CertificateDescription): string[] {
  const found: string[] = [];
  const { key } = description;
  if (key.algorithm === 'RSA' && (key.bits ?? 0) < MIN_RSA_BITS) {
    found.push(`an RSA key of ${key.bits ?? 'unknown'} bits (minimum ${MIN_RSA_BITS})`);
  } else if (key.algorithm === 'DSA') {
    found.push('a DSA key (withdrawn for signatures by FIPS 186-5)');
  } else if (key.algorithm === 'EC' && !STRONG_CURVES.has(key.curve ?? '')) {
    found.push(`an EC key on curve ${key.curve ?? 'unknown'} (below 128-bit strength)`);
  }
  const broken = ['MD2', 'MD4', 'MD5', 'SHA-1'];
  if (!description.selfSigned && broken.includes(description.signatureHash)) {
    found.push(
      `a ${description.signatureHash} signature (${description.signatureAlgorithm}; collisions are practical)`,
    );
  }
  return found;
}

/** The findings about the certificates an object holds. */
export function classifyHolder(holder: CertificateHolder, judge: Judge): FindingDraft[] {
  const unique = new Map<string, { cert: ParsedCertificate; location: string }>();
  for (const entry of holder.entries) {
    for (const cert of entry.certificates) {
      if (!unique.has(cert.sha256)) unique.set(cert.sha256, { cert, location: entry.location });
    }
  }
  const pool = [...unique.values()].map(({ cert }) => cert);
  const actsAsCa = (cert: ParsedCertificate): boolean => cert.isCa || holder.role === 'ca-bundle';
  const anchoring = new Map(pool.map((cert) => [cert.sha256, judge.anchoring(cert, pool)]));
  const anchored = (cert: ParsedCertificate): boolean =>
    anchoring.get(cert.sha256)?.anchored === true;

  const findings: FindingDraft[] = [];
  const add = (
    kind: FindingDraft['kind'],
    severity: Severity,
    cert: ParsedCertificate,
    location: string,
    why: string,
  ): void => {
    findings.push({
      kind,
      severity,
      object: holder.object,
      location,
      certificate: findingCertificate(judge.describe(cert)),
      why,
    });
  };

  // A CA whose private key sits in the same object is one problem, reported once, as
  // ca-key-in-cluster (whose reason says the CA is not approved either), not twice.
  const keyFindings = caKeyFindings(holder, unique, actsAsCa, anchoring, judge);
  const keyed = new Set(keyFindings.map((finding) => finding.certificate?.sha256));

  for (const { cert, location } of unique.values()) {
    if (judge.isApprovedAnchor(cert)) continue;
    const description = judge.describe(cert);
    const name = quoted(description);
    if (!(actsAsCa(cert) && anchored(cert))) {
      const remainingMs = cert.notAfter.getTime() - judge.now.getTime();
      if (remainingMs < 0) {
        add(
          'expired',
          'medium',
          cert,
          location,
          `Certificate ${name} expired on ${day(cert.notAfter)} (${days(-remainingMs)} ago); anything that still uses it fails its TLS handshakes.`,
        );
      } else if (remainingMs < judge.expiringSoonMs) {
        add(
          'expiring-soon',
          remainingMs < URGENT_EXPIRY_MS ? 'medium' : 'low',
          cert,
          location,
          `Certificate ${name} expires on ${day(cert.notAfter)}, in ${days(remainingMs)}; renew it before then.`,
        );
      }
    }
    const weak = weaknesses(description);
    if (weak.length > 0) {
      add(
        'weak-key',
        actsAsCa(cert) ? 'high' : 'medium',
        cert,
        location,
        `${actsAsCa(cert) ? 'CA certificate' : 'Certificate'} ${name} has ${weak.join(' and ')}.`,
      );
    }
    if (!actsAsCa(cert) || anchored(cert) || keyed.has(cert.sha256)) continue;
    const rogue = (other: ParsedCertificate): boolean => actsAsCa(other) && !anchored(other);
    if (!isTopOfHierarchy(cert, pool, rogue)) continue; // reported once, at its top
    const below = pool.filter((other) => other !== cert && issuedBy(other, cert)).length;
    const subordinates =
      below === 0
        ? ''
        : ` ${below} certificate${below === 1 ? '' : 's'} it issued ${below === 1 ? 'is' : 'are'} in the same object.`;
    const bundleNote =
      holder.role === 'ca-bundle'
        ? " The API server trusts it when it calls this object's backend."
        : '';
    if (description.selfSigned) {
      add(
        'self-signed-ca',
        'high',
        cert,
        location,
        `Self-signed CA ${name} is not an approved trust anchor: whatever it signs chains to nothing the security team approved.${bundleNote}${subordinates}`,
      );
    } else {
      const verdict = anchoring.get(cert.sha256);
      const reason = verdict?.anchored === false ? ` (${verdict.reason})` : '';
      add(
        'unapproved-ca',
        'high',
        cert,
        location,
        `CA ${name}, issued by "${description.issuer}", does not chain to an approved trust anchor${reason}.${bundleNote}${subordinates}`,
      );
    }
  }

  findings.push(...keyFindings);
  return findings;
}

function caKeyFindings(
  holder: CertificateHolder,
  unique: ReadonlyMap<string, { cert: ParsedCertificate; location: string }>,
  actsAsCa: (cert: ParsedCertificate) => boolean,
  anchoring: ReadonlyMap<string, { anchored: boolean }>,
  judge: Judge,
): FindingDraft[] {
  const findings: FindingDraft[] = [];
  for (const keyEntry of holder.privateKeyEntries) {
    const partnerName = KEY_PARTNERS[keyEntry];
    const partner = holder.entries.find((entry) => entry.location === partnerName);
    let ca: ParsedCertificate | undefined;
    if (partner !== undefined && partner.certificates.length > 0) {
      const [first] = partner.certificates;
      ca = first !== undefined && actsAsCa(first) ? first : undefined;
    } else {
      ca = [...unique.values()].map(({ cert }) => cert).find(actsAsCa);
    }
    if (ca === undefined) continue;
    const approved = anchoring.get(ca.sha256)?.anchored === true || judge.isApprovedAnchor(ca);
    const name = quoted(judge.describe(ca));
    findings.push({
      kind: 'ca-key-in-cluster',
      severity: approved ? 'critical' : 'high',
      object: holder.object,
      location: keyEntry,
      certificate: findingCertificate(judge.describe(ca)),
      why: approved
        ? `${objectLabel(holder.object)} holds the private key of CA ${name} (entry ${keyEntry}), which chains to an approved anchor: anyone who can read it can issue certificates the organisation trusts.`
        : `${objectLabel(holder.object)} holds the private key of CA ${name} (entry ${keyEntry}), ${judge.describe(ca).selfSigned ? 'a self-signed CA' : 'a CA'} that does not chain to an approved trust anchor: anyone who can read it can issue certificates in that CA's name.`,
    });
  }
  return findings;
}

/**
 * The finding about a chain an Ingress or Gateway serves, if it does not chain to an approved
 * anchor. `chain` is the served certificate entry (`tls.crt`), leaf first; `pool` is every
 * certificate of the Secret (a `ca.crt` intermediate counts: the question is who issued the
 * certificate, not whether the chain is complete).
 */
export function classifyServed(
  server: ObjectRef,
  location: string,
  secret: ObjectRef,
  chain: readonly ParsedCertificate[],
  judge: Judge,
  pool: readonly ParsedCertificate[] = chain,
): FindingDraft | undefined {
  const [leaf] = chain;
  if (leaf === undefined || judge.isApprovedAnchor(leaf)) return undefined;
  const verdict = judge.anchoring(leaf, pool);
  if (verdict.anchored) return undefined;
  const description = judge.describe(leaf);
  return {
    kind: 'unapproved-ingress-certificate',
    severity: 'high',
    object: server,
    location,
    via: secret,
    certificate: findingCertificate(description),
    why: `${server.kind} ${server.name} serves Secret ${secret.namespace ?? ''}/${secret.name}, whose certificate ${quoted(description)} (issued by "${description.issuer}") does not chain to an approved trust anchor (${verdict.reason}): clients either reject it or were told to trust a CA nobody approved.`,
  };
}

/** The finding about a cert-manager issuer of type `selfSigned`. */
export function classifySelfSignedIssuer(issuer: ObjectRef, location: string): FindingDraft {
  return {
    kind: 'rogue-issuer',
    severity: 'high',
    object: issuer,
    location,
    why: `cert-manager ${issuer.kind} ${issuer.name} is of type selfSigned: it mints self-signed certificates (often CAs) on request, outside any approved hierarchy.`,
  };
}

/**
 * The finding about a cert-manager issuer of type `ca`, if its CA does not chain to an approved
 * anchor. `caChain` is the `tls.crt` of its Secret (CA first, then `ca.crt`), or `undefined` when
 * the Secret is missing or holds no certificate.
 */
export function classifyCaIssuer(
  issuer: ObjectRef,
  location: string,
  secret: ObjectRef,
  caChain: readonly ParsedCertificate[] | undefined,
  judge: Judge,
): FindingDraft | undefined {
  const secretName = `${secret.namespace ?? ''}/${secret.name}`;
  const [ca] = caChain ?? [];
  if (caChain === undefined || ca === undefined) {
    return {
      kind: 'rogue-issuer',
      severity: 'high',
      object: issuer,
      location,
      via: secret,
      why: `cert-manager ${issuer.kind} ${issuer.name} is of type ca, but its CA Secret ${secretName} is missing or holds no certificate, so its CA cannot be checked against the approved anchors.`,
    };
  }
  if (judge.isApprovedAnchor(ca)) return undefined;
  const verdict = judge.anchoring(ca, caChain);
  if (verdict.anchored) return undefined;
  const description = judge.describe(ca);
  return {
    kind: 'rogue-issuer',
    severity: 'high',
    object: issuer,
    location,
    via: secret,
    certificate: findingCertificate(description),
    why: `cert-manager ${issuer.kind} ${issuer.name} is of type ca and signs with ${quoted(description)} from Secret ${secretName}, which does not chain to an approved trust anchor (${verdict.reason}).`,
  };
}

/**
 * True when `cert` is where a rogue hierarchy inside one object is reported: it has no rogue
 * issuer in `pool`, or it sits on an issuing cycle (cross-signed CAs) and has the smallest
 * fingerprint of that cycle. Every rogue CA of the object is thus covered by exactly one report.
 */
function isTopOfHierarchy(
  cert: ParsedCertificate,
  pool: readonly ParsedCertificate[],
  rogue: (cert: ParsedCertificate) => boolean,
): boolean {
  const walk: ParsedCertificate[] = [cert];
  let current = cert;
  for (;;) {
    const issuer = pool.find(
      (other) => other !== current && rogue(other) && issuedBy(current, other),
    );
    if (issuer === undefined) return current === cert;
    const seenAt = walk.indexOf(issuer);
    if (seenAt !== -1) {
      if (seenAt !== 0) return false; // cert leads into a cycle it is not part of
      const smallest = walk.reduce((min, other) => (other.sha256 < min.sha256 ? other : min));
      return smallest === cert;
    }
    walk.push(issuer);
    current = issuer;
  }
}

function quoted(description: CertificateDescription): string {
  return description.subject === ''
    ? `(empty subject, serial ${description.serialNumber})`
    : `"${description.subject}"`;
}

function day(at: Date): string {
  return at.toISOString().slice(0, 10);
}

function days(ms: number): string {
  const count = Math.floor(ms / DAY_MS);
  if (count === 0) {
    const hours = Math.max(1, Math.floor(ms / 3600_000));
    return `${hours} hour${hours === 1 ? '' : 's'}`;
  }
  return `${count} day${count === 1 ? '' : 's'}`;
}

/**
 * What rogue-CA discovery reports: one {@link Finding} per problem, per object, per certificate.
 *
 * Severities, from the security team's point of view (GOVERNANCE.md §4):
 *
 * | severity   | means                                                                 | kinds                                                                                          |
 * | ---------- | --------------------------------------------------------------------- | ---------------------------------------------------------------------------------------------- |
 * | `critical` | anyone who can read the object can mint certificates we trust, now    | `ca-key-in-cluster` whose CA chains to an approved anchor                                      |
 * | `high`     | a trust path nobody approved exists, or is served to clients          | `self-signed-ca`, `unapproved-ca`, `unapproved-ingress-certificate`, `rogue-issuer`, `ca-key-in-cluster` (unapproved CA), `weak-key` on a CA |
 * | `medium`   | a weakness that needs more to exploit, or an outage about to happen   | `expired`, `weak-key` on a non-CA, `expiring-soon` within 7 days                               |
 * | `low`      | housekeeping with time to act                                         | `expiring-soon` beyond 7 days (inside the warning window, 30 days by default)                 |
 * | `info`     | recorded for the inventory, no action expected                        | (no kind is `info` by default; kept so that the scale is stable)                               |
 *
 * Identity, which is also the deduplication rule: a finding is `(kind, object, certificate
 * fingerprint)`. The same certificate in two objects is two findings; the same certificate twice
 * in one object (`tls.crt` and `ca.crt`, two webhooks of one configuration with the same
 * `caBundle`, two `spec.tls` entries naming the same Secret) is one, at its first location.
 * Certificate problems (`expired`, `weak-key`, the CA kinds) belong to the object that holds the
 * certificate (the Secret, the webhook configuration); `unapproved-ingress-certificate` belongs
 * to the Ingress or Gateway that serves it, with the Secret in {@link Finding.via}.
 *
 * @module
 */
import { createHash } from 'node:crypto';

/** Every kind of finding, in report order. */
export const FINDING_KINDS = [
  'ca-key-in-cluster',
  'self-signed-ca',
  'unapproved-ca',
  'unapproved-ingress-certificate',
  'rogue-issuer',
  'weak-key',
  'expired',
  'expiring-soon',
] as const;

/** What is wrong. */
export type FindingKind = (typeof FINDING_KINDS)[number];

/** Severities, most severe first. */
export const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'] as const;

/** How urgent a finding is; see the module documentation for the exact meaning. */
export type Severity = (typeof SEVERITIES)[number];

/** True when `severity` is `threshold` or more severe. */
export function atLeast(severity: Severity, threshold: Severity): boolean {
  return SEVERITIES.indexOf(severity) <= SEVERITIES.indexOf(threshold);
}

/** A Kubernetes object, as Events and reports name it. */
export interface ObjectRef {
  /** `v1`, `networking.k8s.io/v1`... */
  readonly apiVersion: string;
  readonly kind: string;
  /** Absent for cluster-scoped objects. */
  readonly namespace?: string;
  readonly name: string;
  readonly uid?: string;
}

/** `Secret team-a/ca` or `ValidatingWebhookConfiguration my-hook`. */
export function objectLabel(ref: Pick<ObjectRef, 'kind' | 'namespace' | 'name'>): string {
  return `${ref.kind} ${ref.namespace === undefined ? '' : `${ref.namespace}/`}${ref.name}`;
}

/** The certificate a finding is about, in plain terms. */
export interface FindingCertificate {
  readonly subject: string;
  readonly issuer: string;
  /** Upper-case hex. */
  readonly serialNumber: string;
  /** Lower-case hex SHA-256 of the DER. */
  readonly sha256: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly isCa: boolean;
  readonly selfSigned: boolean;
  /** `RSA-2048`, `EC-prime256v1`, `Ed25519`... */
  readonly key: string;
  /** `sha256WithRSAEncryption`, `ecdsa-with-SHA1`... */
  readonly signatureAlgorithm: string;
}

/** Which allowlist rule matched, and the reason it gives. */
export interface AllowlistMatch {
  readonly rule: 'namespace' | 'object' | 'fingerprint';
  /** The namespace, `Kind [namespace/]name`, or the fingerprint the rule names. */
  readonly value: string;
  readonly reason: string;
}

/** One problem. Immutable. */
export interface Finding {
  /** 16 hex digits of SHA-256 over (kind, object, fingerprint): stable across scans and replicas. */
  readonly id: string;
  readonly kind: FindingKind;
  readonly severity: Severity;
  readonly object: ObjectRef;
  /** Where in the object: `data[tls.crt]`, `webhooks[x].clientConfig.caBundle`, `spec.tls[0]`. */
  readonly location: string;
  /** The object the certificate came from when it is not `object` (an Ingress's Secret). */
  readonly via?: ObjectRef;
  /** Absent for findings about no certificate (a `selfSigned` Issuer). */
  readonly certificate?: FindingCertificate;
  /** One or two sentences a security engineer reads without help. */
  readonly why: string;
  /** Set when an allowlist rule covers the finding: reported, but not counted or alerted on. */
  readonly allowlisted?: AllowlistMatch;
}

/** A finding before identity and allowlist are settled. */
export type FindingDraft = Omit<Finding, 'id' | 'allowlisted'>;

/** The stable identity of a finding (see the module documentation). */
export function findingId(
  kind: FindingKind,
  object: Pick<ObjectRef, 'kind' | 'namespace' | 'name'>,
  fingerprint: string | undefined,
): string {
  return createHash('sha256')
    .update(
      [kind, object.kind, object.namespace ?? '', object.name, fingerprint ?? ''].join('\u0000'),
    )
    .digest('hex')
    .slice(0, 16);
}

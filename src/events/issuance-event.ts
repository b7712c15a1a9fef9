/**
 * The issuance event: one immutable record of every CreateCertificate decision, built by the
 * service once per request and handed to every {@link IssuanceObserver} (metrics, the request
 * log, the identity ledger). It is the seam between the issuance path and everything that watches
 * it, so it is a leaf: types only, no imports of the parts on either side (STYLE.md "Where the
 * governance parts go").
 *
 * @module
 */

/** How a request ended; the `outcome` metric label and the ledger's outcome column. */
export type IssuanceOutcome =
  'issued' | 'unauthenticated' | 'invalid' | 'denied' | 'unavailable' | 'internal';

/**
 * What one policy rule said. `audit` is a "would deny" from a rule in audit mode: recorded and
 * counted, but the certificate is issued anyway (a dry run before the rule is enforced).
 */
export interface PolicyVerdict {
  readonly effect: 'allow' | 'deny' | 'audit';
  /** `central`, `local`, or `server` for meshca's own limits. */
  readonly layer: string;
  readonly rule: string;
  /** Why, in a short operator-facing sentence; absent for a plain allow. */
  readonly reason: string | undefined;
}

/** The decision taken for a request, as recorded. */
export interface DecisionRecord {
  readonly effect: 'allow' | 'deny';
  /** The layer and rule that decided (for an allow: the last rule that allowed). */
  readonly layer: string;
  readonly rule: string;
  readonly reason: string | undefined;
  /** Audit-mode "would deny" verdicts met on the way; issued anyway. */
  readonly audits: readonly PolicyVerdict[];
}

/** The identity a certificate is (or would have been) issued for. */
export interface EventIdentity {
  /** `spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>`. */
  readonly uri: string;
  readonly trustDomain: string;
  readonly namespace: string;
  readonly serviceAccount: string;
}

/** Who called, as authentication established it. */
export interface EventCaller {
  readonly identity: EventIdentity;
  /** `token-review` or `jwt`. */
  readonly method: string;
  /** Pod name and UID for pod-bound tokens. */
  readonly podName: string | undefined;
  readonly podUid: string | undefined;
  /** The node of the caller's pod, when the pod is known to meshca's pod cache. */
  readonly nodeName: string | undefined;
}

/** The key of the CSR. */
export interface EventKey {
  readonly algorithm: 'RSA' | 'EC';
  readonly bits: number;
  /** `P-256` or `P-384` for EC keys. */
  readonly curve: string | undefined;
}

/** The certificate issued. */
export interface EventCertificate {
  /** Lower-case hex, as in logs and `openssl x509 -serial` (without leading zeros stripped). */
  readonly serialHex: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** SHA-256 (hex) of the intermediate that signed it. */
  readonly issuerFingerprint: string;
  /** Why the TTL differs from what was asked: none, default, max, min, policy, ca-expiry. */
  readonly ttlAdjustment: string;
}

/** One CreateCertificate request, from arrival to answer. Frozen. */
export interface IssuanceEvent {
  /** Random, unique per request; also on the request's log lines. */
  readonly requestId: string;
  /** When the request arrived. */
  readonly time: Date;
  /** Time to answer, milliseconds. */
  readonly durationMs: number;
  readonly outcome: IssuanceOutcome;
  /** The stable error code (`ERR_…`) for every outcome but `issued`. */
  readonly errorCode: string | undefined;
  /** The operator-facing reason of a refusal (never a token, a key or a whole CSR). */
  readonly errorMessage: string | undefined;
  /** The cause of a server-side failure, for the log. */
  readonly errorCause: string | undefined;
  readonly trustDomain: string;
  /** The cluster whose API server vouched for the caller, once authenticated. */
  readonly clusterId: string | undefined;
  /** Absent when authentication failed. */
  readonly caller: EventCaller | undefined;
  /**
   * The identity asked for: the caller's own, or the impersonated one (ztunnel). Absent when the
   * request failed before it was known.
   */
  readonly subject: EventIdentity | undefined;
  /**
   * For impersonation (ztunnel): the pod of the subject on the caller's node, when meshca's pod
   * cache names exactly one; else undefined. For a caller's own identity this is the caller's pod.
   */
  readonly subjectPod:
    | { readonly name: string; readonly uid: string; readonly nodeName: string | undefined }
    | undefined;
  /** SHA-256 (hex) of the CSR DER, once it parsed. */
  readonly csrSha256: string | undefined;
  readonly key: EventKey | undefined;
  /** The policy decision, once one was taken. */
  readonly decision: DecisionRecord | undefined;
  /** The certificate, for `issued`. */
  readonly certificate: EventCertificate | undefined;
}

/**
 * Watches issuance. Called synchronously after every request, with the request already answered
 * or about to be: an observer must return at once (queue, count, log) and must not throw; the
 * {@link IssuanceObservers} fan-out contains any failure so that it never reaches a client.
 */
export interface IssuanceObserver {
  /** A name for the log line when the observer fails. */
  readonly name: string;
  observe(event: IssuanceEvent): void;
}

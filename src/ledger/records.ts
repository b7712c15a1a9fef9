/**
 * The ledger's record model: what is kept about every issuance decision and every lifecycle
 * change, and the chained envelope that makes deleting, editing or reordering records detectable.
 * Bodies are plain JSON (they are hashed in canonical form, see `canonical.ts`), so that their
 * shape is a stable schema for the inventory API and for tools outside meshca.
 *
 * @module
 */

/** A JSON value, as stored in a record body. */
export type JsonValue =
  string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** The pod a certificate was issued to, when known. */
export interface RecordPod {
  readonly name: string;
  readonly uid: string;
  readonly node: string | null;
}

/** One audit-mode "would deny" verdict met by an issued request. */
export interface RecordAudit {
  readonly layer: string;
  readonly rule: string;
  readonly reason: string | null;
}

/**
 * One CreateCertificate decision: an issuance, or a refusal of an authenticated caller.
 * Times are ISO 8601 (UTC, milliseconds).
 */
export interface IssuanceRecordBody {
  readonly type: 'issuance';
  readonly requestId: string;
  readonly time: string;
  /** `issued`, `denied`, `invalid` or `unauthenticated` (an authenticated caller refused impersonation). */
  readonly outcome: string;
  /** The stable error code of a refusal; null for `issued`. */
  readonly errorCode: string | null;
  /** The operator-facing reason of a refusal; null for `issued`. */
  readonly message: string | null;
  readonly cluster: string | null;
  readonly trustDomain: string;
  /** The subject's SPIFFE ID (the caller's own, or the impersonated one), or the caller's when no subject was settled. */
  readonly identity: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly pod: RecordPod | null;
  /** The caller's SPIFFE ID when it differs from {@link identity} (ztunnel impersonation). */
  readonly caller: string | null;
  /** `token-review` or `jwt`. */
  readonly authMethod: string;
  readonly csrSha256: string | null;
  readonly key: {
    readonly algorithm: string;
    readonly bits: number;
    readonly curve: string | null;
  } | null;
  readonly decision: {
    readonly effect: 'allow' | 'deny';
    readonly layer: string;
    readonly rule: string;
    readonly reason: string | null;
    readonly audits: readonly RecordAudit[];
  } | null;
  readonly certificate: {
    readonly serial: string;
    readonly notBefore: string;
    readonly notAfter: string;
    readonly issuerFingerprint: string;
    readonly ttlAdjustment: string;
  } | null;
  /**
   * For refusals: the fingerprint of the intermediate in force when the request was refused (per
   * intermediate statistics count its denials). For issuances: the certificate's issuer.
   */
  readonly issuerFingerprint: string | null;
}

/** Certificates whose workload is gone (pod deleted): marked retired, listed on the CRL. */
export interface RetireRecordBody {
  readonly type: 'retire';
  readonly time: string;
  /** Why, e.g. `pod-deleted`. */
  readonly reason: string;
  /** Serials retired (lower-case hex). */
  readonly serials: readonly string[];
  /**
   * The pod that is gone: every certificate issued to it at or before {@link time} is retired,
   * including ones whose records reach the database after this one (another replica's spool).
   */
  readonly pod: { readonly namespace: string; readonly name: string; readonly uid: string } | null;
}

/** Certificates revoked by hand (`meshca revoke`). */
export interface RevokeRecordBody {
  readonly type: 'revoke';
  readonly time: string;
  readonly serials: readonly string[];
  /** An RFC 5280 §5.3.1 CRLReason name, e.g. `keyCompromise`, `cessationOfOperation`. */
  readonly reason: string;
  /** Who revoked (the operator's name as the CLI knows it). */
  readonly by: string;
}

/**
 * A discovery finding (a rogue CA, a weak key...). Opaque to the ledger beyond these fields, so
 * that the discovery work can record into the ledger without the ledger knowing its rules.
 */
export interface FindingRecordBody {
  readonly type: 'finding';
  readonly time: string;
  readonly cluster: string | null;
  readonly kind: string;
  readonly severity: string;
  /** The object the finding is about, e.g. `Secret istio-system/cacerts`. */
  readonly object: string;
  /** SHA-256 of the certificate concerned, when there is one. */
  readonly fingerprint: string | null;
  readonly detail: JsonValue;
}

/** A range of one chain that never reached the database, and why (so `verify` tells it from a deletion). */
export interface GapFact {
  readonly chainId: string;
  readonly fromSequence: number;
  readonly toSequence: number;
  /** The previous hash of the first record dropped. */
  readonly prevHash: string;
  /** The hash of the last record dropped: the next record's previous hash. */
  readonly lastHash: string;
  readonly reason: string;
}

/** Records dropped because the spool was full (`drop-oldest`). */
export interface GapRecordBody {
  readonly type: 'gap';
  readonly time: string;
  readonly gaps: readonly GapFact[];
}

/** A chain pruned by retention: it legitimately starts after {@link throughSequence}. */
export interface PruneFact {
  readonly chainId: string;
  readonly throughSequence: number;
  readonly throughHash: string;
}

/** Retention removed a prefix of a chain. */
export interface PruneRecordBody {
  readonly type: 'prune';
  readonly time: string;
  readonly pruned: PruneFact;
  /**
   * Gap facts held by records this prune removed that still explain holes in other chains; kept
   * here so that the holes stay explained (prune records are never pruned).
   */
  readonly carriedGaps: readonly GapFact[];
}

/** Every body a record can carry. */
export type RecordBody =
  | IssuanceRecordBody
  | RetireRecordBody
  | RevokeRecordBody
  | FindingRecordBody
  | GapRecordBody
  | PruneRecordBody;

/** The kinds of record; the `kind` column. */
export type RecordKind = RecordBody['type'];

/**
 * A record in its writer's chain. Each writer process (a replica, the pruner, a CLI run) is one
 * chain with a random id; its records are numbered from 1 and each carries the hash of the one
 * before it, so that a deleted, edited or reordered record breaks the chain (`verify.ts`).
 */
export interface ChainedRecord {
  readonly chainId: string;
  readonly sequence: number;
  /** Who writes the chain: a pod name, `pruner@pod`, `cli`. */
  readonly writer: string;
  /** Milliseconds since the epoch. */
  readonly time: number;
  /**
   * Until when (ms) retention must keep the record: a certificate's notAfter for an issuance,
   * the record's time for the rest; null for records never pruned (prune records).
   */
  readonly keepUntil: number | null;
  readonly body: RecordBody;
  readonly prevHash: string;
  /** SHA-256 (hex) over the canonical record and {@link prevHash}. */
  readonly hash: string;
}

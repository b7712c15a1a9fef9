/**
 * The decision seam: after the CSR is validated, the service asks one {@link IssuanceDecider}
 * whether to issue and for how long. meshca's own TTL limits are the first implementation; the
 * layered central/local policy wraps them. The CA's own expiry is not a decision: the signer
 * caps every certificate at it, in one place (`ca/validity.ts`).
 *
 * @module
 */
import type { Caller } from '../auth/index.js';
import type { PolicyVerdict } from '../events/index.js';
import type { SpiffeId } from '../identity/index.js';

/** The key of the CSR, as the CSR rules established it. */
export interface DecisionKey {
  readonly algorithm: 'RSA' | 'EC';
  readonly bits: number;
  /** `P-256` or `P-384` for EC keys. */
  readonly curve: string | undefined;
}

/** The facts a decision is taken on. */
export interface DecisionRequest {
  /** The identity to issue: the caller's own, or the one a node proxy impersonates. */
  readonly subject: SpiffeId;
  /** The authenticated caller (its cluster, pod binding and authentication method). */
  readonly caller: Caller;
  /** True when {@link subject} is not the caller's own identity (ztunnel). */
  readonly impersonated: boolean;
  readonly key: DecisionKey;
  /** `validity_duration` as sent (int64; non-positive means "the default"). */
  readonly requestedTtlSeconds: bigint;
}

/** Why the lifetime differs from the one asked for; a metric label. */
export type TtlAdjustment = 'none' | 'default' | 'max' | 'min' | 'policy' | 'ca-expiry';

/** What to do with one request. */
export interface Decision {
  readonly effect: 'allow' | 'deny';
  /** The layer (`central`, `local`, `server`) and rule that decided. */
  readonly layer: string;
  readonly rule: string;
  /** For a denial: why, short and bounded, naming no client input but the identity. */
  readonly reason: string | undefined;
  /** Audit-mode "would deny" verdicts met on the way (issued anyway). */
  readonly audits: readonly PolicyVerdict[];
  /** The lifetime to issue, seconds, after every limit but the CA's own expiry. */
  readonly ttlSeconds: number;
  readonly ttlAdjustment: TtlAdjustment;
}

/** Decides whether, and for how long, to issue. */
export interface IssuanceDecider {
  /**
   * Never throws for a refusal (that is a `deny` decision, so it can be recorded); throws a
   * `MeshCaError` only when a decision cannot be taken now (e.g. `UnavailableError`).
   */
  decide(request: DecisionRequest, signal: AbortSignal): Promise<Decision>;
}

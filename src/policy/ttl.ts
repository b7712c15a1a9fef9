/**
 * meshca's own lifetime limits, the first {@link IssuanceDecider} (layer `server`, rule `ttl`):
 * it always allows and settles the lifetime.
 *
 * - A non-positive request means the default TTL (istiod: `validity_duration <= 0`).
 * - Above the maximum is **clamped** to the maximum, not refused. istiod refuses; istio-csr
 *   clamps. We clamp because every proxy in a mesh sends the same `SECRET_TTL`: refusing would
 *   take down every workload over a setting the security team can enforce just as well by
 *   clamping, and istio-agent and ztunnel both honour whatever notAfter they receive
 *   (ISTIO-CONTRACT.md §2.6, §3).
 * - Below the minimum is raised to the minimum, so that a misconfigured client cannot turn
 *   renewals into a request storm.
 *
 * The window itself (whole seconds, the backdate, the CA's expiry) is the signer's
 * (`ca/validity.ts`).
 *
 * @module
 */
import type { Decision, DecisionRequest, IssuanceDecider, TtlAdjustment } from './decision.js';

/** Validated at startup: `minTtlSeconds <= defaultTtlSeconds <= maxTtlSeconds`. */
export interface TtlOptions {
  readonly defaultTtlSeconds: number;
  readonly maxTtlSeconds: number;
  readonly minTtlSeconds: number;
  /** Moves notBefore back to absorb clock skew (applied by the signer). */
  readonly backdateSeconds: number;
}

/** A lifetime and why it differs from the one asked for. */
export interface TtlChoice {
  readonly ttlSeconds: number;
  readonly adjustment: TtlAdjustment;
}

/** The layer and rule name of meshca's own limits in decisions, logs and the ledger. */
export const SERVER_LAYER = 'server';
export const TTL_RULE = 'ttl';

/** The limits {@link TtlPolicy} enforces (the backdate is the signer's). */
export type TtlLimits = Pick<TtlOptions, 'defaultTtlSeconds' | 'maxTtlSeconds' | 'minTtlSeconds'>;

/** Settles the lifetime of a certificate within meshca's limits. */
export class TtlPolicy implements IssuanceDecider {
  readonly #options: TtlLimits;

  constructor(options: TtlLimits) {
    // Stated positively so that NaN fails every comparison and is refused.
    if (!(
      options.minTtlSeconds > 0 &&
      options.minTtlSeconds <= options.defaultTtlSeconds &&
      options.defaultTtlSeconds <= options.maxTtlSeconds
    )) {
      throw new TypeError('TTL options must satisfy 0 < min <= default <= max');
    }
    this.#options = options;
  }

  /** The server's limits, for layers that narrow them. */
  get options(): TtlLimits {
    return this.#options;
  }

  /**
   * @param requestedSeconds `IstioCertificateRequest.validity_duration` (int64, so a bigint).
   */
  ttl(requestedSeconds: bigint): TtlChoice {
    const { defaultTtlSeconds, maxTtlSeconds, minTtlSeconds } = this.#options;
    if (requestedSeconds <= 0n) return { ttlSeconds: defaultTtlSeconds, adjustment: 'default' };
    if (requestedSeconds > BigInt(maxTtlSeconds)) {
      return { ttlSeconds: maxTtlSeconds, adjustment: 'max' };
    }
    if (requestedSeconds < BigInt(minTtlSeconds)) {
      return { ttlSeconds: minTtlSeconds, adjustment: 'min' };
    }
    return { ttlSeconds: Number(requestedSeconds), adjustment: 'none' };
  }

  /** Always allows; the decision carries the lifetime. */
  decide(request: DecisionRequest): Promise<Decision> {
    const { ttlSeconds, adjustment } = this.ttl(request.requestedTtlSeconds);
    return Promise.resolve({
      effect: 'allow',
      layer: SERVER_LAYER,
      rule: TTL_RULE,
      reason: undefined,
      audits: [],
      ttlSeconds,
      ttlAdjustment: adjustment,
    });
  }
}

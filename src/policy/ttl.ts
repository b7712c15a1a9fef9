/**
 * Validity windows of workload certificates.
 *
 * - A non-positive request means the default TTL (istiod: `validity_duration <= 0`).
 * - Above the maximum is **clamped** to the maximum, not refused. istiod refuses; istio-csr
 *   clamps. We clamp because every proxy in a mesh sends the same `SECRET_TTL`: refusing would
 *   take down every workload over a setting the security team can enforce just as well by
 *   clamping, and istio-agent and ztunnel both honour whatever notAfter they receive
 *   (ISTIO-CONTRACT.md §2.6, §3).
 * - Below the minimum is raised to the minimum, so that a misconfigured client cannot turn
 *   renewals into a request storm.
 * - notBefore is backdated (istiod: 2 minutes) to absorb clock skew; notAfter = now + TTL and
 *   never past the CA's own expiry (Istio >= 1.31 clamps the same way).
 *
 * @module
 */
import type { Clock } from '../clock.js';
import { InternalError } from '../errors.js';

/** Validated at startup: `minTtlSeconds <= defaultTtlSeconds <= maxTtlSeconds`. */
export interface TtlOptions {
  readonly defaultTtlSeconds: number;
  readonly maxTtlSeconds: number;
  readonly minTtlSeconds: number;
  /** Moves notBefore back to absorb clock skew. */
  readonly backdateSeconds: number;
}

/** Why the TTL differs from what was asked; a metric label. */
export type TtlAdjustment = 'none' | 'default' | 'max' | 'min' | 'ca-expiry';

/** The validity of one certificate. */
export interface ValidityWindow {
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly adjustment: TtlAdjustment;
}

/** Turns a requested TTL into a validity window. */
export class TtlPolicy {
  readonly #options: TtlOptions;
  readonly #clock: Clock;

  constructor(options: TtlOptions, clock: Clock) {
    // Stated positively so that NaN fails every comparison and is refused.
    if (!(
      options.minTtlSeconds > 0 &&
      options.minTtlSeconds <= options.defaultTtlSeconds &&
      options.defaultTtlSeconds <= options.maxTtlSeconds
    )) {
      throw new TypeError('TTL options must satisfy 0 < min <= default <= max');
    }
    this.#options = options;
    this.#clock = clock;
  }

  /**
   * @param requestedSeconds `IstioCertificateRequest.validity_duration` (int64, so a bigint).
   * @param caNotAfter Expiry of the signing path; a leaf never outlives it.
   * @throws {@link InternalError} `ERR_CA_EXPIRED` when the CA has expired.
   */
  window(requestedSeconds: bigint, caNotAfter: Date): ValidityWindow {
    const { defaultTtlSeconds, maxTtlSeconds, minTtlSeconds, backdateSeconds } = this.#options;
    let ttlSeconds: number;
    let adjustment: TtlAdjustment = 'none';
    if (requestedSeconds <= 0n) {
      ttlSeconds = defaultTtlSeconds;
      adjustment = 'default';
    } else if (requestedSeconds > BigInt(maxTtlSeconds)) {
      ttlSeconds = maxTtlSeconds;
      adjustment = 'max';
    } else if (requestedSeconds < BigInt(minTtlSeconds)) {
      ttlSeconds = minTtlSeconds;
      adjustment = 'min';
    } else {
      ttlSeconds = Number(requestedSeconds);
    }
    // X.509 times have whole seconds; truncate now so that notAfter - notBefore is exact.
    const nowMs = Math.floor(this.#clock.now().getTime() / 1000) * 1000;
    if (caNotAfter.getTime() <= nowMs) {
      throw new InternalError('ERR_CA_EXPIRED', `the CA expired at ${caNotAfter.toISOString()}`);
    }
    let notAfterMs = nowMs + ttlSeconds * 1000;
    if (notAfterMs > caNotAfter.getTime()) {
      notAfterMs = Math.floor(caNotAfter.getTime() / 1000) * 1000;
      adjustment = 'ca-expiry';
    }
    return {
      notBefore: new Date(nowMs - backdateSeconds * 1000),
      notAfter: new Date(notAfterMs),
      adjustment,
    };
  }
}

/**
 * The validity window of every certificate meshca signs, and the one place where the CA's own
 * expiry caps it: a certificate never outlives the intermediate (or anything above it) that
 * signed it — RFC 5280 §6.1.3 path validation would reject the remainder anyway, and Istio >= 1.31
 * clamps the same way. Workload certificates, meshca's serving certificate and istiod's all come
 * through here.
 *
 * @module
 */
import { InternalError } from '../errors.js';

/** What the caller asks for. */
export interface ValidityRequest {
  /** Lifetime from now, seconds (before the CA cap). */
  readonly ttlSeconds: number;
  /** How far notBefore moves back, to absorb clock skew (istiod: 2 minutes). */
  readonly backdateSeconds: number;
}

/** The window to sign. */
export interface ValidityWindow {
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** True when the CA's expiry cut the requested lifetime short. */
  readonly cappedByCa: boolean;
}

/**
 * Turns a lifetime into a window: whole seconds (X.509 times have no fractions, so truncating now
 * keeps notAfter - notBefore exact), backdated, and capped at `caNotAfter`.
 *
 * @throws {@link InternalError} `ERR_CA_EXPIRED` when the CA has expired.
 */
export function validityWindow(
  request: ValidityRequest,
  now: Date,
  caNotAfter: Date,
): ValidityWindow {
  const nowMs = Math.floor(now.getTime() / 1000) * 1000;
  if (caNotAfter.getTime() <= nowMs) {
    throw new InternalError('ERR_CA_EXPIRED', `the CA expired at ${caNotAfter.toISOString()}`);
  }
  let notAfterMs = nowMs + request.ttlSeconds * 1000;
  let cappedByCa = false;
  if (notAfterMs > caNotAfter.getTime()) {
    notAfterMs = Math.floor(caNotAfter.getTime() / 1000) * 1000;
    cappedByCa = true;
  }
  return {
    notBefore: new Date(nowMs - request.backdateSeconds * 1000),
    notAfter: new Date(notAfterMs),
    cappedByCa,
  };
}

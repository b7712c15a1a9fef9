/**
 * The issuance metrics, as an observer of issuance events: every call by outcome and reason, its
 * duration, and every certificate issued by key algorithm, TTL adjustment, authentication method
 * and signing intermediate. Label values come from closed sets, but for the intermediate's
 * fingerprint, bounded by the intermediates in use (one; two across a rotation).
 *
 * @module
 */
import type { IssuanceEvent, IssuanceObserver } from '../events/index.js';
import type { CaMetrics } from './ca-metrics.js';

/** Counts issuance events. */
export class IssuanceMetricsObserver implements IssuanceObserver {
  readonly name = 'metrics';
  readonly #metrics: CaMetrics;

  constructor(metrics: CaMetrics) {
    this.#metrics = metrics;
  }

  observe(event: IssuanceEvent): void {
    this.#metrics.requestFinished(event.outcome, event.errorCode ?? 'ok', event.durationMs / 1000);
    if (event.outcome === 'issued' && event.certificate !== undefined) {
      this.#metrics.certificateIssued(
        event.key === undefined ? 'unknown' : keyLabel(event.key),
        event.certificate.ttlAdjustment,
        event.caller?.method ?? 'unknown',
        event.certificate.issuerFingerprint,
      );
    }
  }
}

/** A closed set of metric label values: the standard RSA sizes, else `RSA-other`. */
function keyLabel(key: { readonly curve: string | undefined; readonly bits: number }): string {
  if (key.curve !== undefined) return key.curve;
  return [2048, 3072, 4096].includes(key.bits) ? `RSA-${key.bits}` : 'RSA-other';
}

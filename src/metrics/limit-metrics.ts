/**
 * Metrics of the rate limits: refusals by scope, and how many identities the per-identity
 * limiter remembers (bounded by `rateLimitIdentities`).
 *
 * @module
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { RateLimitCounter, RateLimitScope } from '../limits/index.js';

const SCOPES: readonly RateLimitScope[] = ['identity', 'global'];

/** Counts rate-limit refusals. */
export class LimitMetrics implements RateLimitCounter {
  readonly #limited: Counter<'scope'>;
  #trackedSource: () => number = () => 0;

  constructor(registry: Registry) {
    const registers = [registry];
    this.#limited = new Counter({
      name: 'meshca_rate_limited_total',
      help: 'CreateCertificate calls refused by a rate limit (UNAVAILABLE ERR_RATE_LIMITED), by scope (identity, global).',
      labelNames: ['scope'],
      registers,
    });
    // Both series exist from the start, so that rate() and alerts see a 0 before the first refusal.
    for (const scope of SCOPES) this.#limited.inc({ scope }, 0);
    const tracked = (): number => this.#trackedSource();
    new Gauge({
      name: 'meshca_rate_limit_identities',
      help: 'Identities whose rate-limit buckets are remembered (an LRU bounded by rateLimitIdentities).',
      registers,
      collect() {
        this.set(tracked());
      },
    });
  }

  rateLimited(scope: RateLimitScope): void {
    this.#limited.inc({ scope });
  }

  /** Reads the number of remembered identities from `source` at each scrape. */
  trackIdentities(source: () => number): void {
    this.#trackedSource = source;
  }
}

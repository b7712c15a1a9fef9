/**
 * meshca's own TTL limits as an {@link IssuanceDecider} (layer `server`, rule `ttl`): a
 * non-positive request gets the default, above the maximum is clamped, below the minimum is
 * raised, exactly as {@link TtlPolicy.window} does (minus the CA's expiry, which the signer
 * applies). It lets the layered decider and `meshca policy explain` run on the server's limits
 * until `TtlPolicy` implements {@link IssuanceDecider} itself; then this file goes.
 *
 * @module
 */
import type { Decision, DecisionRequest, IssuanceDecider } from './decision.js';
import type { TtlOptions } from './ttl.js';

/** The server's TTL limits, deciding nothing but the lifetime. */
export class TtlLimitsDecider implements IssuanceDecider {
  readonly #options: Pick<TtlOptions, 'defaultTtlSeconds' | 'maxTtlSeconds' | 'minTtlSeconds'>;

  constructor(options: Pick<TtlOptions, 'defaultTtlSeconds' | 'maxTtlSeconds' | 'minTtlSeconds'>) {
    if (!(
      options.minTtlSeconds > 0 &&
      options.minTtlSeconds <= options.defaultTtlSeconds &&
      options.defaultTtlSeconds <= options.maxTtlSeconds
    )) {
      throw new TypeError('TTL options must satisfy 0 < min <= default <= max');
    }
    this.#options = options;
  }

  decide(request: DecisionRequest): Promise<Decision> {
    const { defaultTtlSeconds, maxTtlSeconds, minTtlSeconds } = this.#options;
    const requested = request.requestedTtlSeconds;
    let ttlSeconds: number;
    let ttlAdjustment: Decision['ttlAdjustment'] = 'none';
    if (requested <= 0n) {
      ttlSeconds = defaultTtlSeconds;
      ttlAdjustment = 'default';
    } else if (requested > BigInt(maxTtlSeconds)) {
      ttlSeconds = maxTtlSeconds;
      ttlAdjustment = 'max';
    } else if (requested < BigInt(minTtlSeconds)) {
      ttlSeconds = minTtlSeconds;
      ttlAdjustment = 'min';
    } else {
      ttlSeconds = Number(requested);
    }
    return Promise.resolve({
      effect: 'allow',
      layer: 'server',
      rule: 'ttl',
      reason: undefined,
      audits: [],
      ttlSeconds,
      ttlAdjustment,
    });
  }
}

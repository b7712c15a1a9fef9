/**
 * Rate limits on CreateCertificate, so that one proxy in a crash loop (or a script with a valid
 * token) cannot starve the rest of the mesh: a token bucket per SPIFFE identity, and one for the
 * whole replica. They are checked right after the identity is settled and before the CSR is
 * validated or anything signed, so a refused request costs a map lookup; the refusal is
 * UNAVAILABLE `ERR_RATE_LIMITED`, which istio-agent retries with backoff (100-800 ms, five
 * attempts; ISTIO-CONTRACT.md §2.4) and ztunnel with its per-identity backoff.
 *
 * Per-identity buckets live in an LRU of bounded size: memory stays bounded however many
 * identities ask. An identity pushed out of the LRU starts again with a full bucket, which is what
 * it would have after a pause anyway; filling the LRU takes that many distinct valid identities.
 *
 * The limits are per replica: with N replicas behind a Service, the mesh-wide rates are N times
 * these.
 *
 * @module
 */
import { LRUCache } from 'lru-cache';
import { UnavailableError, type MeshCaError } from '../errors.js';
import type { SpiffeId } from '../identity/index.js';
import { TokenBucket, type BucketRate } from './token-bucket.js';

/** Which limit refused a request; the `scope` label of `meshca_rate_limited_total`. */
export type RateLimitScope = 'identity' | 'global';

/** Settings of {@link IssuanceRateLimiter}; a rate of 0 switches that limit off. */
export interface RateLimitOptions {
  /** Requests per second each identity may make, sustained; 0: no per-identity limit. */
  readonly perIdentityPerSecond: number;
  /** Requests an identity may make at once after a pause. */
  readonly perIdentityBurst: number;
  /** Requests per second this replica takes from all identities together; 0: no limit. */
  readonly globalPerSecond: number;
  readonly globalBurst: number;
  /** Identities whose buckets are remembered at most (LRU). */
  readonly maxIdentities: number;
}

/** Counts refusals (the metrics implement it). */
export interface RateLimitCounter {
  rateLimited(scope: RateLimitScope): void;
}

/** Admits a request for a subject identity, or says why not. */
export interface IssuanceLimiter {
  /**
   * Counts one request for `subject` against the limits.
   *
   * @returns the refusal when a limit is exhausted (nothing is counted then), else undefined.
   */
  admit(subject: SpiffeId): MeshCaError | undefined;
}

/** Token buckets per identity and for the replica. */
export class IssuanceRateLimiter implements IssuanceLimiter {
  readonly #options: RateLimitOptions;
  readonly #counter: RateLimitCounter;
  readonly #now: () => number;
  readonly #identities: LRUCache<string, TokenBucket> | undefined;
  readonly #global: TokenBucket | undefined;
  readonly #identityRate: BucketRate;

  /**
   * @param now A monotonic clock in milliseconds (tests pin it).
   * @throws `TypeError` for a burst below 1 on an enabled limit, or `maxIdentities` below 1.
   */
  constructor(
    options: RateLimitOptions,
    counter: RateLimitCounter,
    now: () => number = () => performance.now(),
  ) {
    this.#options = options;
    this.#counter = counter;
    this.#now = now;
    this.#identityRate = {
      perSecond: options.perIdentityPerSecond,
      burst: options.perIdentityBurst,
    };
    if (options.perIdentityPerSecond > 0) {
      // Validated like a bucket now rather than at the first request.
      new TokenBucket(this.#identityRate, 0);
      if (!(options.maxIdentities >= 1)) throw new TypeError('maxIdentities must be at least 1');
      this.#identities = new LRUCache({ max: options.maxIdentities });
    }
    if (options.globalPerSecond > 0) {
      this.#global = new TokenBucket(
        { perSecond: options.globalPerSecond, burst: options.globalBurst },
        now(),
      );
    }
  }

  /** Identities whose buckets are remembered now (bounded by `maxIdentities`). */
  get trackedIdentities(): number {
    return this.#identities?.size ?? 0;
  }

  admit(subject: SpiffeId): MeshCaError | undefined {
    const now = this.#now();
    const bucket = this.#bucket(subject.uri, now);
    // Both are checked before either is charged: a request refused by one costs the other nothing.
    if (bucket !== undefined && !bucket.available(now)) {
      this.#counter.rateLimited('identity');
      return new UnavailableError(
        'ERR_RATE_LIMITED',
        `${subject.uri} is over its rate limit of ${this.#options.perIdentityPerSecond} requests/s (burst ${this.#options.perIdentityBurst})`,
        {
          clientMessage:
            'rate limited: too many certificate requests for this identity, retry later',
        },
      );
    }
    if (this.#global !== undefined && !this.#global.available(now)) {
      this.#counter.rateLimited('global');
      return new UnavailableError(
        'ERR_RATE_LIMITED',
        `this replica is over its global rate limit of ${this.#options.globalPerSecond} requests/s (burst ${this.#options.globalBurst})`,
        { clientMessage: 'rate limited: too many certificate requests, retry later' },
      );
    }
    bucket?.take();
    this.#global?.take();
    return undefined;
  }

  #bucket(uri: string, now: number): TokenBucket | undefined {
    const identities = this.#identities;
    if (identities === undefined) return undefined;
    let bucket = identities.get(uri);
    if (bucket === undefined) {
      bucket = new TokenBucket(this.#identityRate, now);
      identities.set(uri, bucket);
    }
    return bucket;
  }
}

/**
 * A cache in front of a {@link TokenVerifier}. After a cluster restart thousands of proxies
 * present tokens at once and each renews every few hours: caching verified results by token hash
 * keeps the API server off the issuance path (istio-csr calls TokenReview for every request;
 * ISTIO-CSR.md §9.1).
 *
 * - Keys are SHA-256 hashes; tokens themselves are never stored.
 * - A success is fresh until the token's own expiry or `ttlMs`, whichever comes first. After
 *   that it is asked again; but while the authority cannot answer (an API-server outage, or one
 *   slower than {@link STALE_GRACE_MS}), the last success is still used for up to `staleTtlMs`
 *   more, never past the token's expiry: an outage that only stops *new* reviews must not take
 *   away the identities meshca already verified.
 * - A refusal is kept for `negativeTtlMs` (0 disables), so a client looping on a bad token costs
 *   one review per period; transient errors are never cached.
 * - Concurrent requests with the same token share one verification.
 *
 * @module
 */
import { hash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock.js';
import { MeshCaError, UnavailableError } from '../errors.js';
import { raceSignal } from '../util/index.js';
import type { ServiceAccountToken, TokenVerifier } from './caller.js';

/** Options of {@link CachingTokenVerifier}. */
export interface TokenCacheOptions {
  readonly ttlMs: number;
  /** How long after `ttlMs` a success may still be used when the authority cannot answer. */
  readonly staleTtlMs: number;
  readonly negativeTtlMs: number;
  readonly maxEntries: number;
  /** Bounds one shared verification (callers may give up earlier on their own deadline). */
  readonly verifyTimeoutMs: number;
}

/** Counts cache outcomes, for metrics. */
export type TokenCacheOutcome = 'hit' | 'miss' | 'shared' | 'negative-hit' | 'stale-hit';

type Entry =
  | { readonly ok: true; readonly value: ServiceAccountToken; readonly freshUntilMs: number }
  | { readonly ok: false; readonly error: MeshCaError };

/**
 * How long a request holding a stale success waits for a fresh answer before it uses the stale
 * one: a black-holed API server must not add its whole timeout to every renewal.
 */
export const STALE_GRACE_MS = 1000;

/** Caches another verifier's answers. */
export class CachingTokenVerifier implements TokenVerifier {
  readonly method: TokenVerifier['method'];
  readonly #inner: TokenVerifier;
  readonly #options: TokenCacheOptions;
  readonly #clock: Clock;
  readonly #cache: LRUCache<string, Entry>;
  readonly #inFlight = new Map<string, Promise<ServiceAccountToken>>();
  readonly #observe: (outcome: TokenCacheOutcome) => void;

  constructor(
    inner: TokenVerifier,
    options: TokenCacheOptions,
    clock: Clock,
    observe: (outcome: TokenCacheOutcome) => void = () => undefined,
  ) {
    this.method = inner.method;
    this.#inner = inner;
    this.#options = options;
    this.#clock = clock;
    this.#observe = observe;
    this.#cache = new LRUCache<string, Entry>({
      max: options.maxEntries,
      ttl: Math.max(options.ttlMs + options.staleTtlMs, options.negativeTtlMs, 1),
      // Per-entry TTLs are measured against our clock, not lru-cache's, so that tests can pin it.
      // ttlResolution 0: lru-cache otherwise reuses a reading for 1 ms of real time, so a pinned
      // clock moved forward would go unnoticed for that long.
      perf: { now: () => this.#clock.now().getTime() },
      ttlResolution: 0,
      ttlAutopurge: false,
    });
  }

  /** Entries currently cached. */
  get size(): number {
    return this.#cache.size;
  }

  async verify(token: string, signal: AbortSignal): Promise<ServiceAccountToken> {
    const key = hash('sha256', token, 'base64url');
    const cached = this.#cache.get(key);
    if (cached) {
      if (!cached.ok) {
        this.#observe('negative-hit');
        throw cached.error;
      }
      if (this.#clock.now().getTime() < cached.freshUntilMs) {
        this.#observe('hit');
        return cached.value;
      }
      return this.#revalidate(key, token, cached.value, signal);
    }
    return raceSignal(
      this.#pending(key, token),
      signal,
      () => new UnavailableError('ERR_DEADLINE', 'gave up waiting for token verification'),
    );
  }

  /**
   * A stale success: ask again, but use the stale answer when the authority is unavailable or
   * does not answer within {@link STALE_GRACE_MS}. A refusal is final.
   */
  async #revalidate(
    key: string,
    token: string,
    stale: ServiceAccountToken,
    signal: AbortSignal,
  ): Promise<ServiceAccountToken> {
    const pending = this.#pending(key, token);
    const grace = AbortSignal.any([signal, AbortSignal.timeout(STALE_GRACE_MS)]);
    try {
      return await raceSignal(
        pending,
        grace,
        () => new UnavailableError('ERR_TOKEN_REVIEW_UNAVAILABLE', 'no fresh answer in time'),
      );
    } catch (error) {
      if (!(error instanceof MeshCaError) || error.kind !== 'unavailable' || signal.aborted) {
        throw error;
      }
      this.#observe('stale-hit');
      return stale;
    }
  }

  /** The verification of `key` in flight, started if there is none. */
  #pending(key: string, token: string): Promise<ServiceAccountToken> {
    let pending = this.#inFlight.get(key);
    if (pending) {
      this.#observe('shared');
    } else {
      this.#observe('miss');
      pending = this.#load(key, token);
      this.#inFlight.set(key, pending);
      const forget = (): void => {
        this.#inFlight.delete(key);
      };
      pending.then(forget, forget);
    }
    return pending;
  }

  async #load(key: string, token: string): Promise<ServiceAccountToken> {
    const deadline = AbortSignal.timeout(this.#options.verifyTimeoutMs);
    try {
      const value = await this.#inner.verify(token, deadline);
      const nowMs = this.#clock.now().getTime();
      const untilExpiry =
        value.expiresAt === undefined ? Infinity : value.expiresAt.getTime() - nowMs;
      const fresh = Math.min(this.#options.ttlMs, untilExpiry);
      const kept = Math.min(this.#options.ttlMs + this.#options.staleTtlMs, untilExpiry);
      if (fresh > 0) {
        this.#cache.set(key, { ok: true, value, freshUntilMs: nowMs + fresh }, { ttl: kept });
      }
      return value;
    } catch (error) {
      if (
        error instanceof MeshCaError &&
        error.kind === 'unauthenticated' &&
        this.#options.negativeTtlMs > 0
      ) {
        this.#cache.set(key, { ok: false, error }, { ttl: this.#options.negativeTtlMs });
      }
      throw error;
    }
  }
}

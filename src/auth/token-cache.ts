/**
 * A cache in front of a {@link TokenVerifier}. After a cluster restart thousands of proxies
 * present tokens at once and each renews every few hours: caching verified results by token hash
 * keeps the API server off the issuance path (istio-csr calls TokenReview for every request;
 * ISTIO-CSR.md §9.1).
 *
 * - Keys are SHA-256 hashes; tokens themselves are never stored.
 * - A success is kept until the token's own expiry or `ttlMs`, whichever comes first.
 * - A refusal is kept for `negativeTtlMs` (0 disables), so a client looping on a bad token costs
 *   one review per period; transient errors are never cached.
 * - Concurrent requests with the same token share one verification.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock.js';
import { MeshCaError, UnavailableError } from '../errors.js';
import { raceSignal } from '../util/index.js';
import type { ServiceAccountToken, TokenVerifier } from './caller.js';

/** Options of {@link CachingTokenVerifier}. */
export interface TokenCacheOptions {
  readonly ttlMs: number;
  readonly negativeTtlMs: number;
  readonly maxEntries: number;
  /** Bounds one shared verification (callers may give up earlier on their own deadline). */
  readonly verifyTimeoutMs: number;
}

/** Counts cache outcomes, for metrics. */
export type TokenCacheOutcome = 'hit' | 'miss' | 'shared' | 'negative-hit';

type Entry =
  | { readonly ok: true; readonly value: ServiceAccountToken }
  | { readonly ok: false; readonly error: MeshCaError };

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
      ttl: Math.max(options.ttlMs, options.negativeTtlMs, 1),
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
    const key = createHash('sha256').update(token).digest('base64url');
    const cached = this.#cache.get(key);
    if (cached) {
      if (cached.ok) {
        this.#observe('hit');
        return cached.value;
      }
      this.#observe('negative-hit');
      throw cached.error;
    }
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
    return raceSignal(
      pending,
      signal,
      () => new UnavailableError('ERR_DEADLINE', 'gave up waiting for token verification'),
    );
  }

  async #load(key: string, token: string): Promise<ServiceAccountToken> {
    const deadline = AbortSignal.timeout(this.#options.verifyTimeoutMs);
    try {
      const value = await this.#inner.verify(token, deadline);
      const nowMs = this.#clock.now().getTime();
      const untilExpiry =
        value.expiresAt === undefined ? Infinity : value.expiresAt.getTime() - nowMs;
      const ttl = Math.min(this.#options.ttlMs, untilExpiry);
      if (ttl > 0) this.#cache.set(key, { ok: true, value }, { ttl });
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

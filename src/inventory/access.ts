/**
 * Who may read the inventory API. The inventory names every workload identity of the mesh, so it
 * is not open to anyone in the cluster:
 * - a request carries `Authorization: Bearer <token>`; the token is checked by TokenReview
 *   against the local API server, for the audience `inventoryAudience` (so that a token meant for
 *   the API server, or for another service, is refused, and a token leaked from here is good for
 *   nothing else), and the reviewed user must be one of `inventoryServiceAccounts` or belong to
 *   one of `inventoryGroups`: else 401 (no or bad token) or 403 (a valid token of someone else);
 * - a request without a token is allowed only when the operations port is bound to a loopback
 *   address (only processes on the same host, e.g. `kubectl port-forward` or `kubectl exec`, reach
 *   it);
 * - without a cluster there is no TokenReview: tokens cannot be checked, so only the loopback
 *   rule can admit anyone.
 *
 * Answers are cached by the token's SHA-256 for a short while, so that paging through a view
 * costs one review.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock.js';
import type { TokenReviewApi } from '../kube/index.js';

/** Options of {@link InventoryAccess}. */
export interface InventoryAccessOptions {
  readonly serviceAccounts: readonly {
    readonly namespace: string;
    readonly serviceAccount: string;
  }[];
  readonly groups: readonly string[];
  /** The audience tokens must be minted for. */
  readonly audience: string;
  /** Requests without a token are allowed: the operations port is bound to loopback. */
  readonly anonymous: boolean;
  /** How long a review's answer is reused, ms. Default 30000. */
  readonly cacheMs?: number;
}

/** The verdict on one request. */
export type AccessVerdict =
  | { readonly allowed: true; readonly who: string }
  | { readonly allowed: false; readonly status: 401 | 403 | 503; readonly reason: string };

/** Kubernetes tokens are around 1 KiB; refuse absurd values before hashing them. */
const MAX_TOKEN_LENGTH = 16 * 1024;

/** Decides who may read the inventory. */
export class InventoryAccess {
  readonly #options: InventoryAccessOptions;
  readonly #reviewer: TokenReviewApi | undefined;
  readonly #clock: Clock;
  readonly #allowedAccounts: ReadonlySet<string>;
  readonly #cache: LRUCache<string, { readonly verdict: AccessVerdict; readonly until: number }>;

  /** @param reviewer TokenReview on the local cluster; undefined without a cluster. */
  constructor(options: InventoryAccessOptions, reviewer: TokenReviewApi | undefined, clock: Clock) {
    this.#options = options;
    this.#reviewer = reviewer;
    this.#clock = clock;
    this.#allowedAccounts = new Set(
      options.serviceAccounts.map(
        (account) => `system:serviceaccount:${account.namespace}:${account.serviceAccount}`,
      ),
    );
    this.#cache = new LRUCache({ max: 1000 });
  }

  /** Checks the `Authorization` header of one request. Never throws. */
  async check(authorization: string | undefined, signal: AbortSignal): Promise<AccessVerdict> {
    if (authorization === undefined || authorization.trim() === '') {
      return this.#options.anonymous
        ? { allowed: true, who: 'anonymous (loopback)' }
        : {
            allowed: false,
            status: 401,
            reason:
              this.#reviewer === undefined
                ? 'a bearer token is required, and tokens cannot be checked without a cluster: bind the operations port to a loopback address'
                : 'a bearer token is required',
          };
    }
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    const token = match?.[1];
    if (token === undefined || token.length > MAX_TOKEN_LENGTH) {
      return {
        allowed: false,
        status: 401,
        reason: 'the Authorization header is not Bearer <token>',
      };
    }
    if (this.#reviewer === undefined) {
      return {
        allowed: false,
        status: 401,
        reason: 'bearer tokens cannot be checked without a cluster (no TokenReview)',
      };
    }
    const key = createHash('sha256').update(token).digest('hex');
    const now = this.#clock.now().getTime();
    const cached = this.#cache.get(key);
    if (cached !== undefined && cached.until > now) return cached.verdict;
    const verdict = await this.#review(this.#reviewer, token, signal);
    if (verdict.allowed || verdict.status !== 503) {
      this.#cache.set(key, { verdict, until: now + (this.#options.cacheMs ?? 30_000) });
    }
    return verdict;
  }

  async #review(
    reviewer: TokenReviewApi,
    token: string,
    signal: AbortSignal,
  ): Promise<AccessVerdict> {
    const { audience } = this.#options;
    let status;
    try {
      status = await reviewer.review(token, [audience], signal);
    } catch {
      // The error names the API server; the client learns only that it should retry.
      return {
        allowed: false,
        status: 503,
        reason: 'the token cannot be checked now (TokenReview unavailable); retry later',
      };
    }
    // The TokenReview API: a client that sets audiences must check that the answer names one.
    if (!status.authenticated || !status.audiences.includes(audience)) {
      return {
        allowed: false,
        status: 401,
        reason: `the token is not valid for the audience ${audience}`,
      };
    }
    const who = status.username ?? 'unknown';
    if (this.#allowedAccounts.has(who)) return { allowed: true, who };
    if (status.groups.some((group) => this.#options.groups.includes(group))) {
      return { allowed: true, who };
    }
    return {
      allowed: false,
      status: 403,
      reason: `${who} may not read the inventory (see inventoryServiceAccounts, inventoryGroups)`,
    };
  }
}

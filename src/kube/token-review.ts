/**
 * TokenReview (authentication.k8s.io/v1) against the API server: the authority on whether a
 * service-account token is valid, for which audiences, and for which pod. Bounded by a timeout
 * and a concurrency limit so that a restart storm queues here instead of overwhelming the API
 * server; callers see UNAVAILABLE (and retry) rather than a hang.
 *
 * @module
 */
import * as k8s from '@kubernetes/client-node';
import { UnavailableError } from '../errors.js';
import { Semaphore } from '../util/index.js';
import type { KubeClient } from './client.js';

/** What the API server said about a token (`TokenReviewStatus`). */
export interface TokenReviewStatus {
  readonly authenticated: boolean;
  readonly error: string | undefined;
  readonly audiences: readonly string[];
  readonly username: string | undefined;
  readonly groups: readonly string[];
  readonly extra: Readonly<Record<string, readonly string[]>>;
}

/** Submits TokenReviews; implemented over the API, faked in unit tests. */
export interface TokenReviewApi {
  /**
   * @throws {@link UnavailableError} `ERR_TOKEN_REVIEW_UNAVAILABLE` when the API server cannot
   * answer in time.
   */
  review(
    token: string,
    audiences: readonly string[],
    signal: AbortSignal,
  ): Promise<TokenReviewStatus>;
}

/** Options of {@link KubeTokenReviewApi}. */
export interface KubeTokenReviewOptions {
  readonly timeoutMs: number;
  /** TokenReviews in flight at once against this API server. */
  readonly maxConcurrent: number;
}

/** TokenReview through a {@link KubeClient}. */
export class KubeTokenReviewApi implements TokenReviewApi {
  readonly #client: KubeClient;
  readonly #api: k8s.AuthenticationV1Api;
  readonly #options: KubeTokenReviewOptions;
  readonly #limit: Semaphore;

  constructor(client: KubeClient, options: KubeTokenReviewOptions) {
    this.#client = client;
    this.#api = client.api(k8s.AuthenticationV1Api);
    this.#options = options;
    this.#limit = new Semaphore(options.maxConcurrent);
  }

  async review(
    token: string,
    audiences: readonly string[],
    signal: AbortSignal,
  ): Promise<TokenReviewStatus> {
    const deadline = AbortSignal.any([signal, AbortSignal.timeout(this.#options.timeoutMs)]);
    const unavailable = (cause?: unknown): UnavailableError =>
      new UnavailableError(
        'ERR_TOKEN_REVIEW_UNAVAILABLE',
        `TokenReview at ${this.#client.server} failed`,
        { cause },
      );
    return this.#limit.run(
      async () => {
        let review: k8s.V1TokenReview;
        try {
          review = await this.#api.createTokenReview(
            {
              body: {
                apiVersion: 'authentication.k8s.io/v1',
                kind: 'TokenReview',
                spec: { token, audiences: [...audiences] },
              },
            },
            this.#client.callOptions(deadline),
          );
        } catch (error) {
          // Never attach the request (it holds the token) to the error: keep only what failed.
          throw unavailable(describeApiError(error));
        }
        const status = review.status ?? {};
        return {
          authenticated: status.authenticated === true,
          error: status.error === '' ? undefined : status.error,
          audiences: status.audiences ?? [],
          username: status.user?.username,
          groups: status.user?.groups ?? [],
          extra: status.user?.extra ?? {},
        };
      },
      deadline,
      unavailable,
    );
  }
}

/** A token-free description of an API failure, for logs. */
function describeApiError(error: unknown): string {
  if (error instanceof k8s.ApiException) return `HTTP ${error.code}`;
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return 'unknown error';
}

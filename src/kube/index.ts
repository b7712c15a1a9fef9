/**
 * Narrow interfaces over the Kubernetes API: the only folder that imports the client library.
 *
 * @module
 */
export type { KubeClientOptions, KubeConnection } from './client.js';
export { KubeClient } from './client.js';
export type { KubeTokenReviewOptions, TokenReviewApi, TokenReviewStatus } from './token-review.js';
export { KubeTokenReviewApi } from './token-review.js';

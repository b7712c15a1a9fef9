/**
 * Limits on what callers may ask of meshca: rate limits on CreateCertificate, per identity and
 * per replica.
 *
 * @module
 */
export type {
  IssuanceLimiter,
  RateLimitCounter,
  RateLimitOptions,
  RateLimitScope,
} from './issuance-rate-limiter.js';
export { IssuanceRateLimiter } from './issuance-rate-limiter.js';
export type { BucketRate } from './token-bucket.js';
export { TokenBucket } from './token-bucket.js';

/**
 * Reading the bearer token from gRPC metadata the way istiod does (`ExtractBearerToken`,
 * pkg/security/security.go): the first `authorization` value with the case-sensitive prefix
 * `Bearer `. The token is trimmed because ztunnel sends its token file unread and untrimmed
 * (ISTIO-CONTRACT.md §3), so a trailing newline is common.
 *
 * @module
 */
import { UnauthenticatedError } from '../errors.js';

const BEARER_PREFIX = 'Bearer ';
/** Kubernetes tokens are around 1 KiB; refuse absurd values before hashing or parsing them. */
export const MAX_TOKEN_BYTES = 16 * 1024;

/**
 * @throws {@link UnauthenticatedError} `ERR_AUTH_NO_TOKEN` when no usable value is present.
 */
export function extractBearerToken(authorization: readonly string[]): string {
  for (const value of authorization) {
    if (!value.startsWith(BEARER_PREFIX)) continue;
    const token = value.slice(BEARER_PREFIX.length).trim();
    if (token === '') break;
    if (token.length > MAX_TOKEN_BYTES) {
      throw new UnauthenticatedError('ERR_AUTH_TOKEN_INVALID', 'bearer token is too large');
    }
    return token;
  }
  throw new UnauthenticatedError(
    'ERR_AUTH_NO_TOKEN',
    'no bearer token in the authorization metadata',
  );
}

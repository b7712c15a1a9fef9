/**
 * Settings of `meshca serve`, group "Authentication": How callers are authenticated: TokenReview or local JWT verification, and the token cache.
 *
 * @module
 */
import type { OptionTable } from './option.js';

/** Keys, kinds, defaults and help; the order is the help order. */
export const AUTHENTICATION_OPTIONS = {
  kubeconfig: {
    group: 'Authentication',
    kind: 'string',
    default: '',
    help: 'Kubeconfig for TokenReview; "in-cluster" for the pod\'s service account; "none" for no cluster. Default: in-cluster when running in a pod, else none.',
  },
  jwks: {
    group: 'Authentication',
    kind: 'string',
    default: '',
    help: 'Verify tokens locally against this JWKS (file path or https URL) instead of TokenReview.',
  },
  jwtIssuer: {
    group: 'Authentication',
    kind: 'string',
    default: '',
    help: "Expected 'iss' of tokens verified with --jwks (the cluster's --service-account-issuer).",
  },
  tokenAudiences: {
    group: 'Authentication',
    kind: 'list',
    default: ['istio-ca'],
    help: 'Accepted token audiences (global.sds.token.aud).',
  },
  tokenReviewTimeout: {
    group: 'Authentication',
    kind: 'duration',
    default: '5s',
    help: 'Timeout of one TokenReview.',
  },
  tokenReviewConcurrency: {
    group: 'Authentication',
    kind: 'integer',
    default: 50,
    help: 'TokenReviews in flight at once per API server.',
  },
  tokenCacheTtl: {
    group: 'Authentication',
    kind: 'duration',
    default: '60s',
    help: 'How long a verified token is trusted without asking again (never past its expiry).',
  },
  tokenCacheNegativeTtl: {
    group: 'Authentication',
    kind: 'duration',
    default: '2s',
    help: 'How long a refused token stays refused without asking again (0 disables).',
  },
  tokenCacheStaleTtl: {
    group: 'Authentication',
    kind: 'duration',
    default: '1h',
    help: "How much longer than tokenCacheTtl a verified token is still trusted while the API server cannot answer (an outage); never past the token's expiry; 0 disables.",
  },
  tokenCacheSize: {
    group: 'Authentication',
    kind: 'integer',
    default: 100000,
    help: 'Tokens remembered at most.',
  },
} as const satisfies OptionTable;

/**
 * Validation of the "Authentication" settings: the cluster connection, how tokens are verified,
 * and the token cache; and the mode, which follows from what is configured.
 *
 * @module
 */
import type { JwksSource } from '../../auth/index.js';
import type { KubeConnection } from '../../kube/index.js';
import type { Config, VerifierConfig } from '../types.js';
import type { SectionContext } from './context.js';

/** The API server to use, if any: `in-cluster`, a kubeconfig, or none. */
export function clusterConnection(context: SectionContext): KubeConnection | undefined {
  const { settings: s, environment } = context;
  if (s.kubeconfig === 'in-cluster' || (s.kubeconfig === '' && environment.inCluster)) {
    return { mode: 'in-cluster' };
  }
  if (s.kubeconfig !== '' && s.kubeconfig !== 'none') {
    return { mode: 'kubeconfig', path: context.path(s.kubeconfig) };
  }
  return undefined;
}

/** Development mode: no CA, no cluster and no JWKS configured. */
export function isDevelopment(context: SectionContext, kube: KubeConnection | undefined): boolean {
  const { settings: s } = context;
  return s.caDir === '' && s.caSecret === '' && kube === undefined && s.jwks === '';
}

/** The verifier (JWKS when given, else TokenReview with a cluster, else development) and limits. */
export function authenticationSection(
  context: SectionContext,
  kube: KubeConnection | undefined,
  development: boolean,
): Config['authentication'] {
  const { settings: s, problem } = context;
  if (s.tokenAudiences.length === 0) problem('tokenAudiences', 'needs at least one audience');
  if (s.tokenReviewConcurrency < 1) problem('tokenReviewConcurrency', 'must be at least 1');
  if (s.tokenCacheSize < 1) problem('tokenCacheSize', 'must be at least 1');
  let verifier: VerifierConfig;
  if (s.jwks !== '') {
    let jwks: JwksSource;
    if (/^https?:\/\//.test(s.jwks)) {
      const url = new URL(s.jwks);
      if (url.protocol !== 'https:') problem('jwks', 'a JWKS URL must use https');
      jwks = { kind: 'url', url };
    } else {
      jwks = { kind: 'file', path: context.path(s.jwks) };
    }
    if (s.jwtIssuer === '') problem('jwtIssuer', 'is required with jwks');
    verifier = { kind: 'jwt', jwks, issuer: s.jwtIssuer };
  } else if (kube !== undefined) {
    verifier = { kind: 'token-review' };
  } else {
    verifier = { kind: 'development' };
    if (!development) {
      problem('kubeconfig', 'no way to authenticate callers: set kubeconfig (TokenReview) or jwks');
    }
  }
  return {
    audiences: s.tokenAudiences,
    verifier,
    tokenReview: { timeoutMs: s.tokenReviewTimeout, maxConcurrent: s.tokenReviewConcurrency },
    cache: {
      ttlMs: s.tokenCacheTtl,
      staleTtlMs: s.tokenCacheStaleTtl,
      negativeTtlMs: s.tokenCacheNegativeTtl,
      maxEntries: s.tokenCacheSize,
      verifyTimeoutMs: Math.max(s.tokenReviewTimeout, 1000),
    },
  };
}

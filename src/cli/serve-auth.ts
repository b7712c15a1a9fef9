/**
 * Wiring of `meshca serve`: how callers are authenticated, per cluster.
 *
 * @module
 */
import {
  CachingTokenVerifier,
  ClusterResolver,
  JwtVerifier,
  KubeJwtAuthenticator,
  TokenReviewVerifier,
  type Authenticator,
  type ClusterEntry,
  type TokenVerifier,
} from '../auth/index.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config/index.js';
import { DEV_TOKEN_ISSUER, devTokenIssuerLayout, ensureDevTokenIssuer } from '../devmode/index.js';
import { KubeTokenReviewApi, type KubeClient } from '../kube/index.js';
import type { CaMetrics } from '../metrics/index.js';
import type { ClusterRuntime } from './serve-clusters.js';

/**
 * Leeway for `exp`/`nbf`/`iat` of locally verified tokens, for clock skew between the API
 * server that minted a token and this replica (the API server itself allows none, but it also
 * mints them on the same clock it checks).
 */
const JWT_CLOCK_TOLERANCE_SECONDS = 30;

/** The authenticator: this cluster's verifier first, then one TokenReview per remote cluster. */
export async function authenticator(
  config: Config,
  clusters: readonly ClusterRuntime[],
  deps: { readonly clock: Clock; readonly metrics: CaMetrics },
): Promise<Authenticator> {
  const [local, ...remotes] = clusters;
  const localVerifier: ClusterEntry<TokenVerifier> = {
    id: config.cluster.id,
    aliases: config.cluster.aliases,
    value: cached(await localTokenVerifier(config, local?.client, deps.clock), config, deps),
  };
  const remoteVerifiers = remotes.map((remote): ClusterEntry<TokenVerifier> => ({
    id: remote.id,
    aliases: remote.aliases,
    value: cached(tokenReview(config, remote.client, deps.clock), config, deps),
  }));
  return new KubeJwtAuthenticator(
    config.trustDomain,
    new ClusterResolver(localVerifier, remoteVerifiers),
  );
}

async function localTokenVerifier(
  config: Config,
  kube: KubeClient | undefined,
  clock: Clock,
): Promise<TokenVerifier> {
  const { verifier, audiences } = config.authentication;
  switch (verifier.kind) {
    case 'development': {
      await ensureDevTokenIssuer(config.stateDir);
      return new JwtVerifier(
        {
          jwks: { kind: 'file', path: devTokenIssuerLayout(config.stateDir).jwksFile },
          issuer: DEV_TOKEN_ISSUER,
          audiences,
          clockToleranceSeconds: JWT_CLOCK_TOLERANCE_SECONDS,
        },
        clock,
      );
    }
    case 'jwt':
      return new JwtVerifier(
        {
          jwks: verifier.jwks,
          issuer: verifier.issuer,
          audiences,
          clockToleranceSeconds: JWT_CLOCK_TOLERANCE_SECONDS,
        },
        clock,
      );
    case 'token-review':
      if (kube === undefined)
        throw new TypeError('token-review verification needs a Kubernetes client');
      return tokenReview(config, kube, clock);
  }
}

function tokenReview(config: Config, kube: KubeClient, clock: Clock): TokenVerifier {
  return new TokenReviewVerifier(
    new KubeTokenReviewApi(kube, config.authentication.tokenReview),
    config.authentication.audiences,
    clock,
  );
}

function cached(
  verifier: TokenVerifier,
  config: Config,
  deps: { readonly clock: Clock; readonly metrics: CaMetrics },
): TokenVerifier {
  return new CachingTokenVerifier(verifier, config.authentication.cache, deps.clock, (outcome) => {
    deps.metrics.tokenCache(outcome);
  });
}

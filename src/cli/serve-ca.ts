/**
 * Wiring of `meshca serve`: where the CA material comes from.
 *
 * @module
 */
import {
  CaReloader,
  CertificateAuthority,
  DirectoryCaSource,
  SecretCaSource,
  devPkiLayout,
  ensureDevPki,
} from '../ca/index.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config/index.js';
import type { Logger } from '../logger.js';
import type { CaMetrics } from '../metrics/index.js';
import type { Part } from '../runtime/index.js';
import type { ClusterRuntime } from './serve-clusters.js';

/** The authority and the part that loads (and reloads) its material. */
export function caMaterial(
  config: Config,
  local: ClusterRuntime | undefined,
  deps: { readonly logger: Logger; readonly metrics: CaMetrics; readonly clock: Clock },
): { readonly authority: CertificateAuthority; readonly source: Part } {
  const { logger, clock } = deps;
  const authority = new CertificateAuthority({ verifyIssued: config.ca.verifyIssued });
  const reloader = new CaReloader(
    authority,
    { rotationChecks: config.ca.rotationChecks, maxLeafTtlMs: config.ttl.maxTtlSeconds * 1000 },
    deps,
  );
  const { source } = config.ca;
  const reloadIntervalMs = config.ca.reloadIntervalMs;
  switch (source.kind) {
    case 'development': {
      const { caDir } = devPkiLayout(config.stateDir);
      const prepare = async (): Promise<void> => {
        const outcome = await ensureDevPki(config.stateDir, clock.now());
        logger.info({ caDir, outcome }, 'development CA ready');
      };
      return {
        authority,
        source: new DirectoryCaSource(reloader, { dir: caDir, reloadIntervalMs, prepare }, logger),
      };
    }
    case 'directory':
      return {
        authority,
        source: new DirectoryCaSource(reloader, { dir: source.dir, reloadIntervalMs }, logger),
      };
    case 'secret': {
      if (local === undefined || config.kubernetes === undefined) {
        throw new TypeError('a CA Secret needs a Kubernetes client');
      }
      return {
        authority,
        source: new SecretCaSource(
          local.client,
          reloader,
          {
            namespace: source.namespace,
            name: source.name,
            requestTimeoutMs: config.kubernetes.controllers.requestTimeoutMs,
            retryIntervalMs: reloadIntervalMs,
          },
          logger,
        ),
      };
    }
  }
}

/**
 * `meshca serve`: the composition root. Builds every component from the {@link Config}, in
 * dependency order, starts the listeners and returns a handle that stops them in reverse order.
 *
 * @module
 */
import {
  CachingTokenVerifier,
  ClusterResolver,
  JwtVerifier,
  KubeJwtAuthenticator,
  TokenReviewVerifier,
  type TokenVerifier,
} from '../auth/index.js';
import {
  CertificateAuthority,
  devPkiLayout,
  ensureDevPki,
  loadCaDirectory,
  type CaMaterial,
} from '../ca/index.js';
import { systemClock, type Clock } from '../clock.js';
import type { Config } from '../config/index.js';
import { CsrValidator } from '../csr/index.js';
import { DEV_TOKEN_ISSUER, devTokenIssuerLayout, ensureDevTokenIssuer } from '../devmode/index.js';
import { KubeClient, KubeTokenReviewApi } from '../kube/index.js';
import type { Logger } from '../logger.js';
import { CaMetrics } from '../metrics/index.js';
import { TtlPolicy } from '../policy/index.js';
import {
  CaGrpcServer,
  CertificateService,
  OpsHttpServer,
  RotatingServerCredentials,
  ServingCertificate,
} from '../server/index.js';

/** A running meshca. */
export interface RunningServer {
  readonly grpcPort: number;
  readonly httpPort: number;
  readonly authority: CertificateAuthority;
  readonly metrics: CaMetrics;
  readonly ops: OpsHttpServer;
  /** Stops everything, in reverse start order. */
  stop(): Promise<void>;
}

/** Collaborators that tests may replace. */
export interface ServeDeps {
  readonly logger: Logger;
  readonly clock?: Clock;
  /** Collect process metrics (off in tests that start several servers in one process). */
  readonly processMetrics?: boolean;
}

/** Starts meshca as configured. */
export async function startServer(config: Config, deps: ServeDeps): Promise<RunningServer> {
  const { logger } = deps;
  const clock = deps.clock ?? systemClock;
  const metrics = new CaMetrics({ collectProcessMetrics: deps.processMetrics ?? true });
  const stops: (() => Promise<void> | void)[] = [];
  const stop = async (): Promise<void> => {
    for (const step of stops.reverse()) await step();
  };

  try {
    if (config.mode === 'development') {
      logger.warn(
        { stateDir: config.stateDir },
        'development mode: using a development CA and token issuer from the state directory; not for production',
      );
    }
    const authority = new CertificateAuthority({ verifyIssued: config.ca.verifyIssued });
    const material = await loadMaterial(config, clock, logger);
    authority.install(material);
    metrics.caReload('loaded');
    publishExpiry(metrics, material);
    authority.onChange((next) => {
      publishExpiry(metrics, next.material);
    });

    let kube: KubeClient | undefined;
    if (config.kube !== undefined) {
      kube = new KubeClient({ connection: config.kube, maxSockets: 64 });
      const client = kube;
      stops.push(() => client.close());
      logger.info({ server: kube.server }, 'Kubernetes API configured');
    }
    const verifier = new CachingTokenVerifier(
      await tokenVerifier(config, kube, clock),
      config.authentication.cache,
      clock,
      (outcome) => {
        metrics.tokenCache(outcome);
      },
    );
    const authenticator = new KubeJwtAuthenticator(
      config.trustDomain,
      new ClusterResolver({
        id: config.cluster.id,
        aliases: config.cluster.aliases,
        value: verifier,
      }),
    );

    const service = new CertificateService(
      {
        authenticator,
        impersonation: undefined,
        csrValidator: new CsrValidator(config.keyPolicy),
        ttlPolicy: new TtlPolicy(config.ttl, clock),
        authority,
        metrics,
        logger,
        clock,
      },
      {
        trustDomain: config.trustDomain,
        requestTimeoutMs: config.grpc.requestTimeoutMs,
        maxInFlight: config.grpc.maxInFlight,
      },
    );

    const serving = new ServingCertificate(authority, config.serving, { clock, logger, metrics });
    const identity = await serving.issue();
    const credentials = new RotatingServerCredentials(identity);
    serving.start(identity, (next) => {
      credentials.update(next);
    });
    stops.push(() => {
      serving.stop();
    });

    const ops = new OpsHttpServer(metrics, logger, { listen: config.http.listen });
    const grpcServer = new CaGrpcServer(service, credentials, logger, {
      listen: config.grpc.listen,
      shutdownGraceMs: config.grpc.shutdownGraceMs,
    });
    let listening = false;
    ops.addReadinessCheck({
      name: 'ca',
      check: () => (authority.ready ? undefined : 'no CA material loaded'),
    });
    ops.addReadinessCheck({
      name: 'roots',
      check: () =>
        authority.ready && authority.current().material.trustBundle.roots.length > 0
          ? undefined
          : 'no trust bundle loaded',
    });
    ops.addReadinessCheck({
      name: 'grpc',
      check: () => (listening ? undefined : 'gRPC listener not started'),
    });
    const httpPort = await ops.start();
    stops.push(() => ops.stop());
    const grpcPort = await grpcServer.start();
    listening = true;
    grpcServer.setServing(true);
    stops.push(async () => {
      listening = false;
      await grpcServer.stop();
    });
    logger.info(
      { mode: config.mode, trustDomain: config.trustDomain, grpcPort, httpPort },
      'meshca serving',
    );
    return { grpcPort, httpPort, authority, metrics, ops, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function loadMaterial(config: Config, clock: Clock, logger: Logger): Promise<CaMaterial> {
  if (config.ca.source.kind === 'development') {
    const outcome = await ensureDevPki(config.stateDir, clock.now());
    const { caDir } = devPkiLayout(config.stateDir);
    logger.info({ caDir, outcome }, 'development CA ready');
    return loadCaDirectory(caDir, clock.now());
  }
  return loadCaDirectory(config.ca.source.dir, clock.now());
}

async function tokenVerifier(
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
          clockToleranceSeconds: 30,
        },
        clock,
      );
    }
    case 'jwt':
      return new JwtVerifier(
        { jwks: verifier.jwks, issuer: verifier.issuer, audiences, clockToleranceSeconds: 30 },
        clock,
      );
    case 'token-review':
      if (kube === undefined)
        throw new TypeError('token-review verification needs a Kubernetes client');
      return new TokenReviewVerifier(
        new KubeTokenReviewApi(kube, {
          timeoutMs: verifier.timeoutMs,
          maxConcurrent: verifier.maxConcurrent,
        }),
        audiences,
      );
  }
}

function publishExpiry(metrics: CaMetrics, material: CaMaterial): void {
  metrics.certificateExpiry('signing', material.signingCert.notAfter);
  const earliestRoot = material.trustBundle.roots.reduce((a, b) =>
    b.notAfter < a.notAfter ? b : a,
  );
  metrics.certificateExpiry('root', earliestRoot.notAfter);
}

/**
 * `meshca serve`: the composition root. Builds every component from the {@link Config}, in
 * dependency order, starts the listeners and background loops, and returns a handle that stops
 * them in reverse order.
 *
 * @module
 */
import {
  CachingTokenVerifier,
  ClusterResolver,
  JwtVerifier,
  KubeJwtAuthenticator,
  NodeAuthorizer,
  TokenReviewVerifier,
  type ClusterEntry,
  type ImpersonationAuthorizer,
  type TokenVerifier,
} from '../auth/index.js';
import {
  CaReloader,
  CertificateAuthority,
  SecretCaSource,
  devPkiLayout,
  ensureDevPki,
  readCaDirectory,
  retryRefusedMaterial,
  watchCaDirectory,
  type CaMaterial,
} from '../ca/index.js';
import { systemClock, type Clock } from '../clock.js';
import type { Config, KubernetesConfig } from '../config/index.js';
import { CsrValidator } from '../csr/index.js';
import { DEV_TOKEN_ISSUER, devTokenIssuerLayout, ensureDevTokenIssuer } from '../devmode/index.js';
import { errorMessage } from '../errors.js';
import { IstiodCertificateController } from '../istiod/index.js';
import {
  KubeClient,
  KubeTokenReviewApi,
  LeaseElector,
  PodIndex,
  type KubeConnection,
} from '../kube/index.js';
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
import { TrustBundleDistributor } from '../trust/index.js';
import { sleep } from '../util/index.js';

/** A running meshca. */
export interface RunningServer {
  readonly grpcPort: number;
  readonly httpPort: number;
  readonly authority: CertificateAuthority;
  readonly metrics: CaMetrics;
  readonly ops: OpsHttpServer;
  /** Whether this replica currently writes (always true without a cluster or election). */
  leading(): boolean;
  /** Stops everything, in reverse start order. */
  stop(): Promise<void>;
}

/** Collaborators that tests may replace. */
export interface ServeDeps {
  readonly logger: Logger;
  readonly clock?: Clock;
  /** Collect process metrics (off in tests that start several servers in one process). */
  readonly processMetrics?: boolean;
  /**
   * How the `kubernetes` readiness check probes the API server (tests shorten it): defaults to
   * {@link KUBE_UNREACHABLE_AFTER_MS} and {@link KUBE_PROBE_INTERVAL_MS}.
   */
  readonly kubeReachability?: {
    readonly unreachableAfterMs: number;
    readonly probeIntervalMs: number;
  };
}

/** A cluster meshca talks to: its API client and what it serves there. */
interface ClusterRuntime {
  readonly id: string;
  readonly aliases: readonly string[];
  readonly client: KubeClient;
}

/** The API server is considered unreachable after this long without an answer. */
const KUBE_UNREACHABLE_AFTER_MS = 30_000;
/** How often the API server is asked for its version, for readiness. */
const KUBE_PROBE_INTERVAL_MS = 10_000;

/** Starts meshca as configured. */
export async function startServer(config: Config, deps: ServeDeps): Promise<RunningServer> {
  const { logger } = deps;
  const clock = deps.clock ?? systemClock;
  const metrics = new CaMetrics({ collectProcessMetrics: deps.processMetrics ?? true });
  const background = new AbortController();
  const stops: (() => Promise<void> | void)[] = [
    () => {
      background.abort();
    },
  ];
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
    const clusters = connectClusters(config, logger, stops);
    const local = clusters[0];

    // CA material, verified, reloaded without restart.
    const authority = new CertificateAuthority({ verifyIssued: config.ca.verifyIssued });
    authority.onChange((next) => {
      publishExpiry(metrics, next.material);
    });
    const reloader = new CaReloader(
      authority,
      { rotationChecks: config.ca.rotationChecks, maxLeafTtlMs: config.ttl.maxTtlSeconds * 1000 },
      { logger, metrics, clock },
    );
    await loadCaMaterial(config, reloader, local, logger, clock, background.signal);

    // Authentication, per cluster.
    const verifiers: ClusterEntry<TokenVerifier>[] = [];
    verifiers.push({
      id: config.cluster.id,
      aliases: config.cluster.aliases,
      value: cached(await localTokenVerifier(config, local?.client, clock), config, clock, metrics),
    });
    for (const remote of clusters.slice(1)) {
      verifiers.push({
        id: remote.id,
        aliases: remote.aliases,
        value: cached(tokenReview(config, remote.client, clock), config, clock, metrics),
      });
    }
    const [localVerifier, ...remoteVerifiers] = verifiers;
    if (localVerifier === undefined) throw new TypeError('no local token verifier');
    const authenticator = new KubeJwtAuthenticator(
      config.trustDomain,
      new ClusterResolver(localVerifier, remoteVerifiers),
    );

    const impersonation = startNodeAuthorizer(
      config.kubernetes,
      clusters,
      logger,
      background.signal,
    );
    const service = new CertificateService(
      {
        authenticator,
        impersonation: impersonation?.authorizer,
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
      check: () => {
        if (!authority.ready) return 'no CA material loaded';
        const { notAfter } = authority.current().material;
        return notAfter > clock.now() ? undefined : `the CA expired at ${notAfter.toISOString()}`;
      },
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

    // The Kubernetes side: reachability, leader election, trust bundle, istiod's certificate.
    let leading = config.kubernetes === undefined;
    if (local !== undefined && config.kubernetes !== undefined) {
      const { unreachableAfterMs, probeIntervalMs } = deps.kubeReachability ?? {
        unreachableAfterMs: KUBE_UNREACHABLE_AFTER_MS,
        probeIntervalMs: KUBE_PROBE_INTERVAL_MS,
      };
      const reachability = watchReachability(local.client, probeIntervalMs, background.signal);
      ops.addReadinessCheck({
        name: 'kubernetes',
        check: () => {
          const since = reachability();
          if (since === Infinity) return `API server ${local.client.server} not reached yet`;
          return since < unreachableAfterMs
            ? undefined
            : `API server ${local.client.server} unreachable for ${Math.round(since / 1000)}s`;
        },
      });
      if (impersonation !== undefined) {
        ops.addReadinessCheck({
          name: 'pods',
          check: () => (impersonation.synced() ? undefined : 'pod index not loaded'),
        });
      }
      const controllers = startControllers(config.kubernetes, clusters, authority, {
        logger,
        metrics,
        clock,
        signal: background.signal,
      });
      const onLeadership = (isLeader: boolean): void => {
        leading = isLeader;
        metrics.leading(isLeader);
        for (const controller of controllers) controller.setLeading(isLeader);
        logger.info({ leading: isLeader }, isLeader ? 'leading: writing' : 'not leading: watching');
      };
      if (config.kubernetes.leaderElection.enabled) {
        const election = config.kubernetes.leaderElection;
        const elector = new LeaseElector(
          local.client,
          {
            namespace: config.kubernetes.namespace,
            name: election.name,
            identity: config.kubernetes.podName,
            leaseDurationMs: election.leaseDurationMs,
            renewDeadlineMs: election.renewDeadlineMs,
            retryPeriodMs: election.retryPeriodMs,
          },
          logger,
          clock,
        );
        elector.onChange(onLeadership);
        const campaign = new AbortController();
        const running = elector.start(campaign.signal);
        // Give the Lease up first on shutdown, so that another replica takes over at once.
        stops.push(async () => {
          campaign.abort();
          await running;
        });
      } else {
        onLeadership(true);
      }
    }

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
    return { grpcPort, httpPort, authority, metrics, ops, leading: () => leading, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

function connectClusters(
  config: Config,
  logger: Logger,
  stops: (() => Promise<void> | void)[],
): ClusterRuntime[] {
  if (config.kube === undefined) return [];
  const connect = (
    id: string,
    aliases: readonly string[],
    connection: KubeConnection,
  ): ClusterRuntime => {
    const client = new KubeClient({ connection, maxSockets: 64 });
    stops.push(() => client.close());
    logger.info({ cluster: id, server: client.server }, 'Kubernetes API configured');
    return { id, aliases, client };
  };
  return [
    connect(config.cluster.id, config.cluster.aliases, config.kube),
    ...(config.kubernetes?.remoteClusters ?? []).map((remote) =>
      connect(remote.id, remote.aliases, { mode: 'kubeconfig', path: remote.kubeconfig }),
    ),
  ];
}

async function loadCaMaterial(
  config: Config,
  reloader: CaReloader,
  local: ClusterRuntime | undefined,
  logger: Logger,
  clock: Clock,
  signal: AbortSignal,
): Promise<void> {
  const source = config.ca.source;
  switch (source.kind) {
    case 'development': {
      const outcome = await ensureDevPki(config.stateDir, clock.now());
      const { caDir } = devPkiLayout(config.stateDir);
      logger.info({ caDir, outcome }, 'development CA ready');
      reloader.offer(await readCaDirectory(caDir), caDir);
      void watchCaDirectory(caDir, reloader, config.ca.reloadIntervalMs, logger, signal);
      return;
    }
    case 'directory':
      reloader.offer(await readCaDirectory(source.dir), source.dir);
      void watchCaDirectory(source.dir, reloader, config.ca.reloadIntervalMs, logger, signal);
      return;
    case 'secret': {
      if (local === undefined) throw new TypeError('a CA Secret needs a Kubernetes client');
      const secret = new SecretCaSource(
        local.client,
        { namespace: source.namespace, name: source.name },
        { requestTimeoutMs: config.kubernetes?.controllers.requestTimeoutMs ?? 10_000 },
        logger,
      );
      let started = false;
      const first = await secret.start(signal, (material) => {
        if (!started) return;
        try {
          reloader.offer(material, secret.description);
        } catch (error) {
          logger.error({ err: errorMessage(error) }, 'CA Secret refused');
        }
      });
      reloader.offer(first, secret.description);
      started = true;
      void retryRefusedMaterial(reloader, config.ca.reloadIntervalMs, signal);
      return;
    }
  }
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
  clock: Clock,
  metrics: CaMetrics,
): TokenVerifier {
  return new CachingTokenVerifier(verifier, config.authentication.cache, clock, (outcome) => {
    metrics.tokenCache(outcome);
  });
}

/** Pod indexes of every cluster and the node authorizer over them, when impersonation is on. */
function startNodeAuthorizer(
  kubernetes: KubernetesConfig | undefined,
  clusters: readonly ClusterRuntime[],
  logger: Logger,
  signal: AbortSignal,
): { readonly authorizer: ImpersonationAuthorizer; readonly synced: () => boolean } | undefined {
  if (kubernetes === undefined || kubernetes.trustedNodeAccounts.length === 0) return undefined;
  const indexes = new Map<string, PodIndex>();
  for (const cluster of clusters) {
    const index = new PodIndex(
      cluster.client,
      { requestTimeoutMs: kubernetes.controllers.requestTimeoutMs },
      logger.child({ cluster: cluster.id }),
    );
    index.start(signal);
    indexes.set(cluster.id, index);
  }
  logger.info(
    { trustedNodeAccounts: kubernetes.trustedNodeAccounts },
    'node impersonation enabled',
  );
  return {
    authorizer: new NodeAuthorizer(kubernetes.trustedNodeAccounts, indexes),
    synced: () => [...indexes.values()].every((index) => index.synced),
  };
}

/** What the controllers have in common for the composition root. */
interface Controller {
  setLeading(leading: boolean): void;
}

function startControllers(
  kubernetes: KubernetesConfig,
  clusters: readonly ClusterRuntime[],
  authority: CertificateAuthority,
  deps: {
    readonly logger: Logger;
    readonly metrics: CaMetrics;
    readonly clock: Clock;
    readonly signal: AbortSignal;
  },
): Controller[] {
  const controllers: Controller[] = [];
  const [local] = clusters;
  if (local === undefined) return controllers;
  // Proxies of every cluster verify meshca with the bundle: it goes into each cluster, written by
  // this cluster's leader.
  for (const cluster of kubernetes.trustBundle.enabled ? clusters : []) {
    const distributor = new TrustBundleDistributor(
      cluster.client,
      {
        configMapName: kubernetes.trustBundle.configMapName,
        namespaceSelector: kubernetes.trustBundle.namespaceSelector,
        excludedNamespaces: kubernetes.trustBundle.excludedNamespaces,
        resyncMs: kubernetes.controllers.resyncMs,
        requestTimeoutMs: kubernetes.controllers.requestTimeoutMs,
        writesPerSecond: kubernetes.controllers.writesPerSecond,
      },
      { ...deps, logger: deps.logger.child({ cluster: cluster.id }) },
    );
    distributor.start(deps.signal);
    distributor.setBundle(authority.current().material.trustBundle);
    authority.onChange((next) => {
      distributor.setBundle(next.material.trustBundle);
    });
    controllers.push(distributor);
  }
  if (kubernetes.istiod.enabled) {
    const istiod = new IstiodCertificateController(
      local.client,
      authority,
      {
        namespace: kubernetes.istiod.namespace,
        secretName: kubernetes.istiod.secretName,
        revisions: kubernetes.istiod.revisions,
        extraDnsNames: kubernetes.istiod.extraDnsNames,
        ttlSeconds: kubernetes.istiod.ttlSeconds,
        backdateSeconds: 120,
        keyType: kubernetes.istiod.keyType,
        requestTimeoutMs: kubernetes.controllers.requestTimeoutMs,
      },
      deps,
    );
    istiod.start(deps.signal);
    controllers.push(istiod);
  }
  return controllers;
}

/**
 * Asks the API server for its version every `intervalMs`; returns a function giving the
 * milliseconds since the last answer (for `/readyz`), Infinity until the first answer: a replica
 * that has never reached the API server is not ready.
 */
function watchReachability(
  client: KubeClient,
  intervalMs: number,
  signal: AbortSignal,
): () => number {
  let lastAnswerMs = -Infinity;
  void (async () => {
    while (!signal.aborted) {
      try {
        await client.requestJson(
          'GET',
          '/version',
          undefined,
          AbortSignal.any([signal, AbortSignal.timeout(5000)]),
        );
        lastAnswerMs = performance.now();
      } catch {
        // Reported through readiness.
      }
      await sleep(intervalMs, signal);
    }
  })();
  return () => performance.now() - lastAnswerMs;
}

function publishExpiry(metrics: CaMetrics, material: CaMaterial): void {
  metrics.certificateExpiry('signing', material.signingCert.notAfter);
  const earliestRoot = material.trustBundle.roots.reduce((a, b) =>
    b.notAfter < a.notAfter ? b : a,
  );
  metrics.certificateExpiry('root', earliestRoot.notAfter);
}

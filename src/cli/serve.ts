/**
 * `meshca serve`: the composition root. Builds every component from the {@link Config}, adds
 * every long-lived part to one {@link PartRunner} in start order (clients, CA material, pod
 * caches, the serving certificate, controllers, leadership, then the listeners), and returns a
 * handle whose `stop` closes them in reverse. The wiring of each concern lives next door in
 * `serve-*.ts`; nothing here runs loops of its own.
 *
 * @module
 */
import { LocalIntermediateSigner, type CertificateAuthority } from '../ca/index.js';
import { systemClock, type Clock } from '../clock.js';
import type { Config } from '../config/index.js';
import { CsrValidator, ProofWorkerPool, ThreadPoolProofVerifier } from '../csr/index.js';
import { IssuanceObservers, RequestLogObserver } from '../events/index.js';
import type { ApiReachabilityOptions } from '../kube/index.js';
import type { Logger } from '../logger.js';
import { IssuanceRateLimiter } from '../limits/index.js';
import { CaMetrics, IssuanceMetricsObserver, LimitMetrics } from '../metrics/index.js';
import { TtlPolicy } from '../policy/index.js';
import { PartRunner, type Readiness } from '../runtime/index.js';
import {
  CaGrpcServer,
  CertificateService,
  OpsHttpServer,
  ServingCertificate,
} from '../server/index.js';
import { authenticator } from './serve-auth.js';
import { caMaterial } from './serve-ca.js';
import { connectClusters } from './serve-clusters.js';
import { discovery } from './serve-discovery.js';
import { controllers, leadership, podCaches } from './serve-kubernetes.js';
import { policyDecider } from './serve-policy.js';
import { ledgerWiring } from './serve-ledger.js';

/** A running meshca. */
export interface RunningServer {
  readonly grpcPort: number;
  readonly httpPort: number;
  readonly authority: CertificateAuthority;
  readonly metrics: CaMetrics;
  /** What `/readyz` answers. */
  readonly ops: { readiness(): Readiness };
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
  /** How the `kubernetes` readiness check probes the API server (tests shorten it). */
  readonly kubeReachability?: ApiReachabilityOptions;
}

/** Starts meshca as configured. */
export async function startServer(config: Config, deps: ServeDeps): Promise<RunningServer> {
  const { logger } = deps;
  const clock = deps.clock ?? systemClock;
  const metrics = new CaMetrics({ collectProcessMetrics: deps.processMetrics ?? true });
  const shared = { logger, metrics, clock };
  const runner = new PartRunner(logger);
  const lifetime = new AbortController();
  if (config.mode === 'development') {
    logger.warn(
      { stateDir: config.stateDir },
      'development mode: using a development CA and token issuer from the state directory; not for production',
    );
  }

  try {
    const clusters = connectClusters(config, runner, logger);
    const [local] = clusters;
    const { authority, source } = caMaterial(config, local, shared);
    runner.add(source);
    // Closed after the gRPC drain (reverse order): calls in flight still get their checks.
    const proofs =
      config.csrVerification.threads > 0
        ? runner.add(new ProofWorkerPool({ threads: config.csrVerification.threads }, logger))
        : new ThreadPoolProofVerifier();
    const pods = podCaches(config.kubernetes, clusters, runner, logger);
    const ttl = new TtlPolicy(config.ttl);
    const policy = await policyDecider(config, clusters, pods, runner, ttl, shared);
    const ledger = ledgerWiring(config, {
      ...shared,
      authority,
      clusters,
      pods,
      policies: () => policy.inForce(),
    });

    const limitMetrics = new LimitMetrics(metrics.registry);
    const limiter = new IssuanceRateLimiter(config.rateLimits, limitMetrics);
    limitMetrics.trackIdentities(() => limiter.trackedIdentities);
    const service = new CertificateService(
      {
        authenticator: await authenticator(config, clusters, shared),
        impersonation: pods?.authorizer,
        limiter,
        csrValidator: new CsrValidator(config.keyPolicy, proofs),
        decider: policy.decider,
        signer: new LocalIntermediateSigner(authority, config.ttl, clock),
        gates: [...ledger.gates],
        observers: new IssuanceObservers(
          [
            new IssuanceMetricsObserver(metrics),
            new RequestLogObserver(logger),
            ...ledger.observers,
          ],
          logger,
        ),
        pods: pods?.directory,
        clock,
      },
      {
        trustDomain: config.trustDomain,
        requestTimeoutMs: config.grpc.requestTimeoutMs,
        maxInFlight: config.grpc.maxInFlight,
      },
    );
    metrics.trackInFlight(() => service.inFlight);

    const serving = runner.add(new ServingCertificate(authority, config.serving, shared));
    const followers = controllers(config, clusters, authority, runner, {
      ...shared,
      ...(deps.kubeReachability === undefined ? {} : { reachability: deps.kubeReachability }),
    });
    // The ledger closes after the listeners, the gRPC drain and discovery: it records what they finish.
    followers.push(...ledger.addParts(runner));
    const rogueCas = await discovery(config, local, authority, runner, {
      ...shared,
      extraSinks: ledger.findingSinks,
    });
    if (rogueCas !== undefined) followers.push(rogueCas.follower);
    const writer = leadership(config, local, followers, shared);
    if (writer.part !== undefined) runner.add(writer.part);
    const ops = runner.add(
      new OpsHttpServer(metrics, () => runner.readiness(), logger, {
        listen: config.http.listen,
        routes: [...ledger.routes, ...(rogueCas?.routes ?? [])],
      }),
    );
    const grpcServer = runner.add(
      new CaGrpcServer(service, serving, logger, {
        listen: config.grpc.listen,
        shutdownGraceMs: config.grpc.shutdownGraceMs,
      }),
    );

    await runner.start(lifetime.signal);
    logger.info(
      {
        mode: config.mode,
        trustDomain: config.trustDomain,
        grpcPort: grpcServer.port,
        httpPort: ops.port,
      },
      'meshca serving',
    );
    return {
      grpcPort: grpcServer.port,
      httpPort: ops.port,
      authority,
      metrics,
      ops: { readiness: () => runner.readiness() },
      leading: writer.leading,
      stop: async () => {
        lifetime.abort();
        await runner.close();
      },
    };
  } catch (error) {
    lifetime.abort();
    await runner.close();
    throw error;
  }
}

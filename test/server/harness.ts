/**
 * A CertificateService behind a real gRPC/TLS listener, with collaborators tests can replace, for
 * driving every status code the server can return.
 */
import { webcrypto } from 'node:crypto';
import type {
  Authenticator,
  Caller,
  ImpersonationAuthorizer,
  RequestCredentials,
} from '../../src/auth/index.js';
import { CertificateAuthority, LocalIntermediateSigner } from '../../src/ca/index.js';
import { CaClient } from '../../src/client/index.js';
import { systemClock, type Clock } from '../../src/clock.js';
import {
  CsrValidator,
  DEFAULT_KEY_POLICY,
  buildCsrPem,
  generateWorkloadKey,
  type WorkloadKeyType,
} from '../../src/csr/index.js';
import { workloadSpiffeId } from '../../src/identity/index.js';
import { IssuanceObservers, RequestLogObserver } from '../../src/events/index.js';
import { CaMetrics, IssuanceMetricsObserver, LimitMetrics } from '../../src/metrics/index.js';
import { IssuanceRateLimiter, type RateLimitOptions } from '../../src/limits/index.js';
import { TtlPolicy } from '../../src/policy/index.js';
import { CaGrpcServer, CertificateService, ServingCertificate } from '../../src/server/index.js';
import { createTestPki, type TestPki } from '../support/pki.js';
import type { Logger } from '../../src/logger.js';
import { memoryLogger } from '../support/server.js';

/** An authenticator that accepts `Bearer ns/sa` tokens, or behaves as a test says. */
export class FakeAuthenticator implements Authenticator {
  behaviour:
    ((credentials: RequestCredentials, signal: AbortSignal) => Promise<Caller>) | undefined;

  authenticate(credentials: RequestCredentials, signal: AbortSignal): Promise<Caller> {
    if (this.behaviour) return this.behaviour(credentials, signal);
    return Promise.resolve(tokenCaller(credentials));
  }
}

/** The caller a `Bearer ns/sa` token names (what {@link FakeAuthenticator} does by default). */
export function tokenCaller(credentials: RequestCredentials): Caller {
  const token = credentials.authorization[0]?.replace(/^Bearer /, '') ?? '';
  const [namespace = '', serviceAccount = ''] = token.split('/');
  return {
    namespace,
    serviceAccount,
    podName: undefined,
    podUid: undefined,
    expiresAt: undefined,
    identity: workloadSpiffeId('cluster.local', namespace, serviceAccount),
    clusterId: 'Kubernetes',
    method: 'jwt',
  };
}

/** Options of {@link startHarness}. */
export interface HarnessOptions {
  readonly requestTimeoutMs?: number;
  readonly maxInFlight?: number;
  readonly impersonation?: ImpersonationAuthorizer;
  readonly ttlClock?: Clock;
  readonly installCa?: boolean;
  /** Where logs go (default: kept in memory for `logs()`, and captured for the secret scan). */
  readonly logger?: Logger;
  /** Rate limits (none by default), counted in the harness's metrics. */
  readonly rateLimits?: RateLimitOptions;
}

/** A running harness. */
export interface Harness {
  readonly pki: TestPki;
  readonly authenticator: FakeAuthenticator;
  readonly authority: CertificateAuthority;
  readonly metrics: CaMetrics;
  readonly port: number;
  readonly logs: () => string[];
  client(): CaClient;
  stop(): Promise<void>;
}

/** Starts a harness on 127.0.0.1:0. */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const pki = await createTestPki();
  const authority = new CertificateAuthority({ verifyIssued: true });
  // The serving certificate needs CA material; a harness that starts without CA uninstalls it
  // by swapping in a second, empty authority for the service.
  authority.install(pki.material());
  const serviceAuthority =
    options.installCa === false ? new CertificateAuthority({ verifyIssued: true }) : authority;
  const authenticator = new FakeAuthenticator();
  const metrics = new CaMetrics({ collectProcessMetrics: false });
  const memory = memoryLogger();
  const logger = options.logger ?? memory.logger;
  const lines = memory.lines;
  const service = new CertificateService(
    {
      authenticator,
      impersonation: options.impersonation,
      limiter:
        options.rateLimits === undefined
          ? undefined
          : new IssuanceRateLimiter(options.rateLimits, new LimitMetrics(metrics.registry)),
      csrValidator: new CsrValidator(DEFAULT_KEY_POLICY),
      decider: new TtlPolicy({
        defaultTtlSeconds: 86400,
        maxTtlSeconds: 2 * 86400,
        minTtlSeconds: 600,
      }),
      signer: new LocalIntermediateSigner(
        serviceAuthority,
        { backdateSeconds: 120 },
        options.ttlClock ?? systemClock,
      ),
      gates: [],
      observers: new IssuanceObservers(
        [new IssuanceMetricsObserver(metrics), new RequestLogObserver(logger)],
        logger,
      ),
      pods: undefined,
      clock: systemClock,
    },
    {
      trustDomain: 'cluster.local',
      requestTimeoutMs: options.requestTimeoutMs ?? 5000,
      maxInFlight: options.maxInFlight ?? 100,
    },
  );
  const serving = new ServingCertificate(
    authority,
    { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], ttlSeconds: 3600, backdateSeconds: 60 },
    { clock: systemClock, logger, metrics },
  );
  await serving.start();
  const server = new CaGrpcServer(service, serving, logger, {
    listen: '127.0.0.1:0',
    shutdownGraceMs: 1000,
  });
  await server.start();
  const { port } = server;
  const clients: CaClient[] = [];
  return {
    pki,
    authenticator,
    authority,
    metrics,
    port,
    logs: lines,
    client: () => {
      const client = new CaClient({
        address: `localhost:${port}`,
        rootCertPem: pki.files.rootCertPem,
      });
      clients.push(client);
      return client;
    },
    stop: async () => {
      for (const client of clients) client.close();
      await server.close();
      await serving.close();
    },
  };
}

/** A key and a CSR for `uri`, with the key's SPKI for checking the response. */
export async function csrFor(
  uri: string,
  keyType: WorkloadKeyType = 'ec',
  shape: 'istio-agent' | 'ztunnel' = 'istio-agent',
): Promise<{ csrPem: string; spkiDer: Buffer }> {
  const key = await generateWorkloadKey(keyType);
  return {
    csrPem: await buildCsrPem(key.keys, { uris: [uri], shape }),
    spkiDer: Buffer.from(await webcrypto.subtle.exportKey('spki', key.keys.publicKey)),
  };
}

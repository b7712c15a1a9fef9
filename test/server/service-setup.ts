/**
 * A CertificateService wired to fakes for every role, for the service tests: one fresh set per
 * test, with the recorder that sees the issuance events.
 */
import type { RequestCredentials } from '../../src/auth/index.js';
import { FixedClock } from '../../src/clock.js';
import type { MeshCaError } from '../../src/errors.js';
import { IssuanceObservers } from '../../src/events/index.js';
import type { IssuanceLimiter } from '../../src/limits/index.js';
import {
  CertificateService,
  type CertificateRequest,
  type CertificateServiceOptions,
} from '../../src/server/index.js';
import {
  FakeAuthenticator,
  FakeCsrChecker,
  FakeDecider,
  FakeGate,
  FakeImpersonationAuthorizer,
  FakeSigner,
  RecordingObserver,
  makeCaller,
  type FakePodDirectory,
  type ThrowingObserver,
} from '../fakes/index.js';
import { memoryLogger } from '../support/server.js';

export const NOW = new Date('2030-01-01T00:00:00Z');
export const CREDENTIALS: RequestCredentials = { authorization: ['Bearer x'], clusterId: [] };
export const ZTUNNEL = makeCaller({
  namespace: 'istio-system',
  serviceAccount: 'ztunnel',
  podName: 'ztunnel-abc',
  podUid: 'uid-ztunnel',
});
export const IMPERSONATED = 'spiffe://cluster.local/ns/shop/sa/cart';

/** Options of {@link setup}. */
export interface SetupOptions {
  /** False: no impersonation authorizer (impersonation not configured). */
  readonly impersonation?: boolean;
  /** How many gates (each admitting until told otherwise); 1 by default. */
  readonly gates?: number;
  readonly pods?: FakePodDirectory;
  /** Observers placed before the recorder. */
  readonly extraObservers?: readonly ThrowingObserver[];
  readonly service?: Partial<CertificateServiceOptions>;
  /** Rate limits (none by default). */
  readonly limiter?: IssuanceLimiter;
}

/** The service and its fakes. */
export interface ServiceFixture {
  readonly service: CertificateService;
  readonly authenticator: FakeAuthenticator;
  readonly impersonation: FakeImpersonationAuthorizer | undefined;
  readonly csrValidator: FakeCsrChecker;
  readonly decider: FakeDecider;
  readonly signer: FakeSigner;
  readonly gates: readonly FakeGate[];
  readonly recorder: RecordingObserver;
  /** The service's log lines. */
  readonly lines: () => string[];
}

/** A service with fresh fakes, and what it tells its observers. */
export function setup(options: SetupOptions = {}): ServiceFixture {
  const authenticator = new FakeAuthenticator(
    makeCaller({ podName: 'app-1', podUid: 'uid-app-1' }),
  );
  const impersonation =
    options.impersonation === false ? undefined : new FakeImpersonationAuthorizer();
  const csrValidator = new FakeCsrChecker();
  const decider = new FakeDecider();
  const signer = new FakeSigner();
  const gates = Array.from({ length: options.gates ?? 1 }, (_, i) => new FakeGate(`gate-${i}`));
  const recorder = new RecordingObserver();
  const { logger, lines } = memoryLogger();
  const service = new CertificateService(
    {
      authenticator,
      impersonation,
      limiter: options.limiter,
      csrValidator,
      decider,
      signer,
      gates,
      observers: new IssuanceObservers([...(options.extraObservers ?? []), recorder], logger),
      pods: options.pods,
      clock: new FixedClock(NOW),
    },
    { trustDomain: 'cluster.local', requestTimeoutMs: 5000, maxInFlight: 10, ...options.service },
  );
  return {
    service,
    authenticator,
    impersonation,
    csrValidator,
    decider,
    signer,
    gates,
    recorder,
    lines,
  };
}

/** A request for the caller's own identity, with `overrides`. */
export function request(overrides: Partial<CertificateRequest> = {}): CertificateRequest {
  return { csrPem: 'CSR', validitySeconds: 0n, impersonatedIdentity: undefined, ...overrides };
}

/** The error a refused request rejects with; fails the test when it succeeds. */
export async function refusal(promise: Promise<unknown>): Promise<MeshCaError> {
  const error = await promise.then(
    () => {
      throw new Error('expected a refusal, got a certificate');
    },
    (e: unknown) => e,
  );
  return error as MeshCaError;
}

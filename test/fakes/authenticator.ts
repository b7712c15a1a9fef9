/**
 * Fakes of the authentication roles: an {@link Authenticator} that answers with a caller the test
 * chose (or fails as told), and an {@link ImpersonationAuthorizer} that allows or refuses.
 */
import type {
  AuthenticationMethod,
  Authenticator,
  Caller,
  ImpersonationAuthorizer,
  RequestCredentials,
} from '../../src/auth/index.js';
import { workloadSpiffeId, type SpiffeId } from '../../src/identity/index.js';

/** The parts of a {@link Caller} a test usually sets. */
export interface CallerSpec {
  readonly trustDomain?: string;
  readonly namespace?: string;
  readonly serviceAccount?: string;
  readonly podName?: string;
  readonly podUid?: string;
  readonly clusterId?: string;
  readonly method?: AuthenticationMethod;
}

/** A caller: `default/app` in `cluster.local`, cluster `Kubernetes`, unless `spec` says otherwise. */
export function makeCaller(spec: CallerSpec = {}): Caller {
  const namespace = spec.namespace ?? 'default';
  const serviceAccount = spec.serviceAccount ?? 'app';
  return {
    namespace,
    serviceAccount,
    podName: spec.podName,
    podUid: spec.podUid,
    expiresAt: undefined,
    identity: workloadSpiffeId(spec.trustDomain ?? 'cluster.local', namespace, serviceAccount),
    clusterId: spec.clusterId ?? 'Kubernetes',
    method: spec.method ?? 'token-review',
  };
}

/** Authenticates every request as {@link caller}, or rejects with {@link failure}. */
export class FakeAuthenticator implements Authenticator {
  caller: Caller;
  /** When set, every call rejects with it. */
  failure: Error | undefined;
  /** The credentials of every call, in order. */
  readonly calls: RequestCredentials[] = [];

  constructor(caller: Caller = makeCaller()) {
    this.caller = caller;
  }

  authenticate(credentials: RequestCredentials): Promise<Caller> {
    this.calls.push(credentials);
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return Promise.resolve(this.caller);
  }
}

/** Allows every impersonation, or rejects with {@link failure}; records what was asked. */
export class FakeImpersonationAuthorizer implements ImpersonationAuthorizer {
  failure: Error | undefined;
  readonly calls: { readonly caller: Caller; readonly requested: SpiffeId }[] = [];

  authorize(caller: Caller, requested: SpiffeId): Promise<void> {
    this.calls.push({ caller, requested });
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return Promise.resolve();
  }
}

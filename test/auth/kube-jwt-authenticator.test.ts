import {
  ClusterResolver,
  KubeJwtAuthenticator,
  type AuthenticationMethod,
  type RequestCredentials,
  type ServiceAccountToken,
  type TokenVerifier,
} from '../../src/auth/index.js';
import { UnauthenticatedError, UnavailableError } from '../../src/errors.js';

const EXPIRES = new Date('2030-01-01T00:00:00Z');

/** A verifier that answers with fixed facts and records the tokens it saw. */
class StubVerifier implements TokenVerifier {
  readonly method: AuthenticationMethod;
  readonly tokens: string[] = [];
  readonly signals: AbortSignal[] = [];
  readonly #answer: () => Promise<ServiceAccountToken>;

  constructor(method: AuthenticationMethod, answer: () => Promise<ServiceAccountToken>) {
    this.method = method;
    this.#answer = answer;
  }

  verify(token: string, signal: AbortSignal): Promise<ServiceAccountToken> {
    this.tokens.push(token);
    this.signals.push(signal);
    return this.#answer();
  }
}

function facts(namespace: string, serviceAccount: string): ServiceAccountToken {
  return { namespace, serviceAccount, podName: 'pod-1', podUid: 'uid-1', expiresAt: EXPIRES };
}

function setup(trustDomain = 'cluster.local'): {
  authenticator: KubeJwtAuthenticator;
  local: StubVerifier;
  remote: StubVerifier;
} {
  const local = new StubVerifier('token-review', () =>
    Promise.resolve(facts('bookinfo', 'reviews')),
  );
  const remote = new StubVerifier('jwt', () => Promise.resolve(facts('east-ns', 'east-sa')));
  const clusters = new ClusterResolver<TokenVerifier>(
    { id: 'Kubernetes', aliases: ['local-alias'], value: local },
    [{ id: 'east', aliases: ['east-alias'], value: remote }],
  );
  return { authenticator: new KubeJwtAuthenticator(trustDomain, clusters), local, remote };
}

function credentials(
  authorization: readonly string[],
  clusterId: readonly string[] = [''],
): RequestCredentials {
  return { authorization, clusterId };
}

const signal = new AbortController().signal;

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('KubeJwtAuthenticator', () => {
  it('authenticates a local caller as spiffe://<td>/ns/<ns>/sa/<sa>', async () => {
    const { authenticator, local } = setup();
    const caller = await authenticator.authenticate(credentials(['Bearer tok\n']), signal);
    expect(caller).toEqual({
      namespace: 'bookinfo',
      serviceAccount: 'reviews',
      podName: 'pod-1',
      podUid: 'uid-1',
      expiresAt: EXPIRES,
      identity: {
        trustDomain: 'cluster.local',
        namespace: 'bookinfo',
        serviceAccount: 'reviews',
        uri: 'spiffe://cluster.local/ns/bookinfo/sa/reviews',
      },
      clusterId: 'Kubernetes',
      method: 'token-review',
    });
    // The trimmed token and the request's signal reach the verifier.
    expect(local.tokens).toEqual(['tok']);
    expect(local.signals).toEqual([signal]);
  });

  it.each<[string, readonly string[], string, string]>([
    [
      'the local alias',
      ['local-alias'],
      'Kubernetes',
      'spiffe://cluster.local/ns/bookinfo/sa/reviews',
    ],
    ['a remote cluster', ['east'], 'east', 'spiffe://cluster.local/ns/east-ns/sa/east-sa'],
    ['a remote alias', ['east-alias'], 'east', 'spiffe://cluster.local/ns/east-ns/sa/east-sa'],
    [
      'several clusterid values (counted as none)',
      ['east', 'east'],
      'Kubernetes',
      'spiffe://cluster.local/ns/bookinfo/sa/reviews',
    ],
  ])('uses the verifier of %s', async (_name, clusterId, expectedCluster, uri) => {
    const { authenticator } = setup();
    const caller = await authenticator.authenticate(credentials(['Bearer t'], clusterId), signal);
    expect(caller.clusterId).toBe(expectedCluster);
    expect(caller.identity.uri).toBe(uri);
    expect(caller.method).toBe(expectedCluster === 'east' ? 'jwt' : 'token-review');
  });

  it('builds the identity in the configured trust domain', async () => {
    const { authenticator } = setup('mesh.example.com');
    const caller = await authenticator.authenticate(credentials(['Bearer t']), signal);
    expect(caller.identity.trustDomain).toBe('mesh.example.com');
    expect(caller.identity.uri).toBe('spiffe://mesh.example.com/ns/bookinfo/sa/reviews');
  });

  it('refuses an unknown cluster before any verifier is asked', async () => {
    const { authenticator, local, remote } = setup();
    const error = await rejection(
      authenticator.authenticate(credentials(['Bearer t'], ['west']), signal),
    );
    expect(error).toBeInstanceOf(UnauthenticatedError);
    expect(error).toMatchObject({ code: 'ERR_AUTH_UNKNOWN_CLUSTER' });
    expect(local.tokens).toEqual([]);
    expect(remote.tokens).toEqual([]);
  });

  it('refuses a request without a bearer token before any verifier is asked', async () => {
    const { authenticator, local } = setup();
    const error = await rejection(authenticator.authenticate(credentials(['bearer t']), signal));
    expect(error).toMatchObject({ code: 'ERR_AUTH_NO_TOKEN', kind: 'unauthenticated' });
    expect(local.tokens).toEqual([]);
  });

  it.each<[string, string, string]>([
    ['an upper-case namespace', 'BookInfo', 'reviews'],
    ['a namespace with a slash', 'a/b', 'reviews'],
    ['a service account with a colon', 'bookinfo', 'a:b'],
    ['an empty service account', 'bookinfo', ''],
  ])('refuses a verifier answer with %s', async (_name, namespace, serviceAccount) => {
    const verifier = new StubVerifier('jwt', () =>
      Promise.resolve(facts(namespace, serviceAccount)),
    );
    const authenticator = new KubeJwtAuthenticator(
      'cluster.local',
      new ClusterResolver<TokenVerifier>({ id: 'c', aliases: [], value: verifier }),
    );
    const error = await rejection(authenticator.authenticate(credentials(['Bearer t']), signal));
    expect(error).toBeInstanceOf(UnauthenticatedError);
    expect(error).toMatchObject({ code: 'ERR_AUTH_TOKEN_NOT_SERVICE_ACCOUNT' });
  });

  it.each<[string, Error]>([
    ['a refusal', new UnauthenticatedError('ERR_AUTH_TOKEN_INVALID', 'expired')],
    ['an outage', new UnavailableError('ERR_TOKEN_REVIEW_UNAVAILABLE', 'down')],
  ])("passes the verifier's %s through unchanged", async (_name, failure) => {
    const verifier = new StubVerifier('token-review', () => Promise.reject(failure));
    const authenticator = new KubeJwtAuthenticator(
      'cluster.local',
      new ClusterResolver<TokenVerifier>({ id: 'c', aliases: [], value: verifier }),
    );
    await expect(authenticator.authenticate(credentials(['Bearer t']), signal)).rejects.toBe(
      failure,
    );
  });
});

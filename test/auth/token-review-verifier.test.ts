import { UnsecuredJWT } from 'jose';
import { TokenReviewVerifier, serviceAccountFromReview } from '../../src/auth/index.js';
import { FixedClock } from '../../src/clock.js';
import { UnauthenticatedError, UnavailableError, type MeshCaErrorCode } from '../../src/errors.js';
import type { TokenReviewApi, TokenReviewStatus } from '../../src/kube/index.js';

const POD_NAME = 'authentication.kubernetes.io/pod-name';
const POD_UID = 'authentication.kubernetes.io/pod-uid';

/** A TokenReview status as the API server returns it for a valid pod-bound token. */
function status(overrides: Partial<TokenReviewStatus> = {}): TokenReviewStatus {
  return {
    authenticated: true,
    error: undefined,
    audiences: ['istio-ca'],
    username: 'system:serviceaccount:bookinfo:reviews',
    groups: ['system:serviceaccounts', 'system:serviceaccounts:bookinfo', 'system:authenticated'],
    extra: { [POD_NAME]: ['reviews-v1-abc'], [POD_UID]: ['1f0c-uid'] },
    ...overrides,
  };
}

interface ReviewCall {
  readonly token: string;
  readonly audiences: readonly string[];
  readonly signal: AbortSignal;
}

/** Answers every review with a fixed status (or failure) and records what it was asked. */
class FakeTokenReviewApi implements TokenReviewApi {
  readonly calls: ReviewCall[] = [];
  readonly #answer: () => Promise<TokenReviewStatus>;

  constructor(answer: () => Promise<TokenReviewStatus>) {
    this.#answer = answer;
  }

  review(
    token: string,
    audiences: readonly string[],
    signal: AbortSignal,
  ): Promise<TokenReviewStatus> {
    this.calls.push({ token, audiences, signal });
    return this.#answer();
  }
}

/** A JWT-shaped token whose signature is garbage: only its claims matter here. */
function unsignedJwt(claims: Record<string, unknown>): string {
  return `${new UnsecuredJWT(claims).encode()}c2lnbmF0dXJl`;
}

describe('serviceAccountFromReview', () => {
  it('accepts a pod-bound service-account token and reads the pod from user.extra', () => {
    expect(serviceAccountFromReview(status())).toEqual({
      namespace: 'bookinfo',
      serviceAccount: 'reviews',
      podName: 'reviews-v1-abc',
      podUid: '1f0c-uid',
    });
  });

  it('accepts a token that is not pod-bound, without pod facts', () => {
    expect(serviceAccountFromReview(status({ extra: {} }))).toEqual({
      namespace: 'bookinfo',
      serviceAccount: 'reviews',
      podName: undefined,
      podUid: undefined,
    });
  });

  it('takes the first value of a multi-valued extra', () => {
    const result = serviceAccountFromReview(
      status({ extra: { [POD_NAME]: ['first', 'second'], [POD_UID]: [] } }),
    );
    expect(result.podName).toBe('first');
    expect(result.podUid).toBeUndefined();
  });

  it('needs only the system:serviceaccounts group among others', () => {
    expect(serviceAccountFromReview(status({ groups: ['system:serviceaccounts'] })).namespace).toBe(
      'bookinfo',
    );
  });

  it.each<[string, Partial<TokenReviewStatus>, MeshCaErrorCode]>([
    ['status.error set', { error: 'token has expired' }, 'ERR_AUTH_TOKEN_INVALID'],
    [
      'status.error set even when authenticated is true',
      { error: 'something went wrong', authenticated: true },
      'ERR_AUTH_TOKEN_INVALID',
    ],
    ['not authenticated', { authenticated: false }, 'ERR_AUTH_TOKEN_INVALID'],
    [
      'no system:serviceaccounts group',
      { groups: ['system:authenticated'] },
      'ERR_AUTH_TOKEN_NOT_SERVICE_ACCOUNT',
    ],
    [
      'only a namespaced service-accounts group',
      { groups: ['system:serviceaccounts:bookinfo'] },
      'ERR_AUTH_TOKEN_NOT_SERVICE_ACCOUNT',
    ],
    ['no groups', { groups: [] }, 'ERR_AUTH_TOKEN_NOT_SERVICE_ACCOUNT'],
    ['no username', { username: undefined }, 'ERR_AUTH_TOKEN_NOT_SERVICE_ACCOUNT'],
    ['an empty username', { username: '' }, 'ERR_AUTH_TOKEN_NOT_SERVICE_ACCOUNT'],
    [
      'a username of 3 parts',
      { username: 'system:serviceaccount:bookinfo' },
      'ERR_AUTH_TOKEN_NOT_SERVICE_ACCOUNT',
    ],
    [
      'a username of 5 parts',
      { username: 'system:serviceaccount:bookinfo:reviews:extra' },
      'ERR_AUTH_TOKEN_NOT_SERVICE_ACCOUNT',
    ],
    [
      'a user that is not a service account',
      { username: 'system:node:worker-1:x' },
      'ERR_AUTH_TOKEN_NOT_SERVICE_ACCOUNT',
    ],
    [
      'a first part other than system',
      { username: 'cluster:serviceaccount:bookinfo:reviews' },
      'ERR_AUTH_TOKEN_NOT_SERVICE_ACCOUNT',
    ],
    [
      'an empty namespace',
      { username: 'system:serviceaccount::reviews' },
      'ERR_AUTH_TOKEN_NOT_SERVICE_ACCOUNT',
    ],
    [
      'an empty service account',
      { username: 'system:serviceaccount:bookinfo:' },
      'ERR_AUTH_TOKEN_NOT_SERVICE_ACCOUNT',
    ],
  ])('refuses %s', (_name, overrides, code) => {
    let error: unknown;
    try {
      serviceAccountFromReview(status(overrides));
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(UnauthenticatedError);
    expect(error).toMatchObject({ code, kind: 'unauthenticated' });
  });
});

describe('TokenReviewVerifier', () => {
  it('is the token-review method', () => {
    const verifier = new TokenReviewVerifier(
      new FakeTokenReviewApi(() => Promise.resolve(status())),
      ['istio-ca'],
    );
    expect(verifier.method).toBe('token-review');
  });

  it('sends the token, the configured audiences and the signal to the API', async () => {
    const api = new FakeTokenReviewApi(() => Promise.resolve(status()));
    const verifier = new TokenReviewVerifier(api, ['istio-ca', 'other-aud']);
    const signal = new AbortController().signal;
    const token = unsignedJwt({ aud: ['istio-ca'] });
    await verifier.verify(token, signal);
    expect(api.calls).toHaveLength(1);
    expect(api.calls[0]!.token).toBe(token);
    expect(api.calls[0]!.audiences).toEqual(['istio-ca', 'other-aud']);
    expect(api.calls[0]!.signal).toBe(signal);
  });

  it('returns the service account, pod and the expiry of a JWT', async () => {
    const exp = 1_900_000_000;
    const verifier = new TokenReviewVerifier(
      new FakeTokenReviewApi(() => Promise.resolve(status())),
      ['istio-ca'],
    );
    await expect(
      verifier.verify(unsignedJwt({ exp, aud: 'istio-ca' }), new AbortController().signal),
    ).resolves.toEqual({
      namespace: 'bookinfo',
      serviceAccount: 'reviews',
      podName: 'reviews-v1-abc',
      podUid: '1f0c-uid',
      expiresAt: new Date(exp * 1000),
    });
  });

  it.each([
    ['without exp', {}],
    ['with a non-numeric exp', { exp: 'soon' }],
  ])('gives no expiry for a JWT %s (the cache TTL alone bounds it)', async (_name, claims) => {
    const verifier = new TokenReviewVerifier(
      new FakeTokenReviewApi(() => Promise.resolve(status())),
      ['istio-ca'],
    );
    const account = await verifier.verify(
      unsignedJwt({ aud: 'istio-ca', ...claims }),
      new AbortController().signal,
    );
    expect(account.expiresAt).toBeUndefined();
  });

  it('refuses what the review refuses', async () => {
    const verifier = new TokenReviewVerifier(
      new FakeTokenReviewApi(() => Promise.resolve(status({ authenticated: false }))),
      ['istio-ca'],
    );
    await expect(
      verifier.verify(unsignedJwt({ aud: ['istio-ca'] }), new AbortController().signal),
    ).rejects.toBeInstanceOf(UnauthenticatedError);
  });

  it('lets a transport failure through as UnavailableError, not as a refusal', async () => {
    const failure = new UnavailableError('ERR_TOKEN_REVIEW_UNAVAILABLE', 'API server down');
    const verifier = new TokenReviewVerifier(
      new FakeTokenReviewApi(() => Promise.reject(failure)),
      ['istio-ca'],
    );
    await expect(
      verifier.verify(unsignedJwt({ aud: ['istio-ca'] }), new AbortController().signal),
    ).rejects.toBe(failure);
  });

  it.each([
    ['a token that is not a JWT', () => 'not-a-jwt', /not a JWT/],
    ['an expired token', () => unsignedJwt({ aud: ['istio-ca'], exp: 1_000_000_000 }), /expired/],
    [
      'a token for another audience',
      () => unsignedJwt({ aud: ['vault'] }),
      /none of the accepted audiences/,
    ],
    ['a token without audience', () => unsignedJwt({}), /none of the accepted audiences/],
  ])('refuses %s without asking the API server', async (_name, token, message) => {
    const api = new FakeTokenReviewApi(() => Promise.resolve(status()));
    const verifier = new TokenReviewVerifier(
      api,
      ['istio-ca'],
      new FixedClock(new Date('2026-11-26T00:00:00Z')),
    );
    await expect(verifier.verify(token(), new AbortController().signal)).rejects.toMatchObject({
      code: 'ERR_AUTH_TOKEN_INVALID',
      message: expect.stringMatching(message) as string,
    });
    expect(api.calls).toHaveLength(0);
  });

  it('refuses an answer that names none of the requested audiences (not audience-aware)', async () => {
    const verifier = new TokenReviewVerifier(
      new FakeTokenReviewApi(() => Promise.resolve(status({ audiences: [] }))),
      ['istio-ca'],
    );
    await expect(
      verifier.verify(unsignedJwt({ aud: ['istio-ca'] }), new AbortController().signal),
    ).rejects.toMatchObject({
      code: 'ERR_AUTH_TOKEN_INVALID',
      message: expect.stringMatching(/audiences/) as string,
    });
  });
});

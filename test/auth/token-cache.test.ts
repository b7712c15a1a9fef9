import { join } from 'node:path';
import {
  CachingTokenVerifier,
  type ServiceAccountToken,
  type TokenCacheOptions,
  type TokenCacheOutcome,
  type TokenVerifier,
} from '../../src/auth/index.js';
import { FixedClock } from '../../src/clock.js';
import { UnauthenticatedError, UnavailableError } from '../../src/errors.js';
import { REPO_ROOT } from '../support/environment.js';
import { run } from '../support/process.js';

const START = new Date('2030-01-01T00:00:00Z');
const OPTIONS: TokenCacheOptions = {
  ttlMs: 60_000,
  staleTtlMs: 0,
  negativeTtlMs: 2_000,
  maxEntries: 100,
  verifyTimeoutMs: 5_000,
};

function account(namespace: string, expiresAt?: Date): ServiceAccountToken {
  return {
    namespace,
    serviceAccount: 'sa',
    podName: undefined,
    podUid: undefined,
    expiresAt,
  };
}

/** A verifier that answers through a function and counts its calls; it keeps no tokens. */
class FakeVerifier implements TokenVerifier {
  readonly method = 'token-review' as const;
  calls = 0;
  readonly signals: AbortSignal[] = [];
  answer: (token: string, signal: AbortSignal) => Promise<ServiceAccountToken>;

  constructor(answer: (token: string, signal: AbortSignal) => Promise<ServiceAccountToken>) {
    this.answer = answer;
  }

  verify(token: string, signal: AbortSignal): Promise<ServiceAccountToken> {
    this.calls++;
    this.signals.push(signal);
    return this.answer(token, signal);
  }
}

/** A promise settled from outside. */
function deferred<T>(): {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: Error) => void;
} {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets pending promise callbacks run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

interface Harness {
  readonly cache: CachingTokenVerifier;
  readonly inner: FakeVerifier;
  readonly clock: FixedClock;
  readonly outcomes: TokenCacheOutcome[];
}

function harness(
  answer: (token: string) => Promise<ServiceAccountToken> = (token) =>
    Promise.resolve(account(token)),
  options: Partial<TokenCacheOptions> = {},
): Harness {
  const inner = new FakeVerifier(answer);
  const clock = new FixedClock(START);
  const outcomes: TokenCacheOutcome[] = [];
  const cache = new CachingTokenVerifier(inner, { ...OPTIONS, ...options }, clock, (outcome) =>
    outcomes.push(outcome),
  );
  return { cache, inner, clock, outcomes };
}

const never = new AbortController().signal;
const refusal = (): UnauthenticatedError =>
  new UnauthenticatedError('ERR_AUTH_TOKEN_INVALID', 'refused');

describe('CachingTokenVerifier', () => {
  it('takes its method from the verifier it wraps', () => {
    expect(harness().cache.method).toBe('token-review');
  });

  it('answers a repeated token from the cache', async () => {
    const { cache, inner, outcomes } = harness();
    const first = await cache.verify('token-a', never);
    const second = await cache.verify('token-a', never);
    expect(first).toEqual(account('token-a'));
    expect(second).toBe(first);
    expect(inner.calls).toBe(1);
    expect(outcomes).toEqual(['miss', 'hit']);
    expect(cache.size).toBe(1);
  });

  it('keeps different tokens apart', async () => {
    const { cache, inner } = harness();
    await expect(cache.verify('token-a', never)).resolves.toMatchObject({ namespace: 'token-a' });
    await expect(cache.verify('token-b', never)).resolves.toMatchObject({ namespace: 'token-b' });
    // Tokens differing only in their last character (JWTs share long prefixes) are distinct.
    const prefix = 'x'.repeat(2000);
    await cache.verify(`${prefix}1`, never);
    await expect(cache.verify(`${prefix}2`, never)).resolves.toMatchObject({
      namespace: `${prefix}2`,
    });
    expect(inner.calls).toBe(4);
  });

  it('trusts a verified token for ttlMs of the injected clock', async () => {
    const { cache, inner, clock, outcomes } = harness();
    await cache.verify('token-a', never);
    clock.advance(OPTIONS.ttlMs - 1);
    await cache.verify('token-a', never);
    expect(inner.calls).toBe(1);
    clock.advance(2);
    await cache.verify('token-a', never);
    expect(inner.calls).toBe(2);
    expect(outcomes).toEqual(['miss', 'hit', 'miss']);
  });

  it("trusts a verified token no longer than the token's own expiry", async () => {
    const expiresAt = new Date(START.getTime() + 10_000);
    const { cache, inner, clock, outcomes } = harness((token) =>
      Promise.resolve(account(token, expiresAt)),
    );
    await cache.verify('token-a', never);
    clock.advance(9_999);
    await cache.verify('token-a', never);
    expect(inner.calls).toBe(1);
    clock.advance(2);
    await cache.verify('token-a', never);
    expect(inner.calls).toBe(2);
    expect(outcomes).toEqual(['miss', 'hit', 'miss']);
  });

  it('does not cache a token that has already expired', async () => {
    const expiresAt = new Date(START.getTime() - 1);
    const { cache, inner } = harness((token) => Promise.resolve(account(token, expiresAt)));
    await cache.verify('token-a', never);
    await cache.verify('token-a', never);
    expect(inner.calls).toBe(2);
    expect(cache.size).toBe(0);
  });

  it('keeps a refusal for negativeTtlMs, then asks again', async () => {
    const error = refusal();
    const { cache, inner, clock, outcomes } = harness(() => Promise.reject(error));
    await expect(cache.verify('bad', never)).rejects.toBe(error);
    clock.advance(OPTIONS.negativeTtlMs - 1);
    await expect(cache.verify('bad', never)).rejects.toBe(error);
    expect(inner.calls).toBe(1);
    clock.advance(2);
    await expect(cache.verify('bad', never)).rejects.toBe(error);
    expect(inner.calls).toBe(2);
    expect(outcomes).toEqual(['miss', 'negative-hit', 'miss']);
  });

  it('a refused token later verified is trusted once the refusal lapses', async () => {
    const { cache, inner, clock } = harness(() => Promise.reject(refusal()));
    await expect(cache.verify('t', never)).rejects.toBeInstanceOf(UnauthenticatedError);
    inner.answer = (token) => Promise.resolve(account(token));
    clock.advance(OPTIONS.negativeTtlMs + 1);
    await expect(cache.verify('t', never)).resolves.toMatchObject({ namespace: 't' });
  });

  it('does not cache refusals when negativeTtlMs is 0', async () => {
    const { cache, inner, outcomes } = harness(() => Promise.reject(refusal()), {
      negativeTtlMs: 0,
    });
    for (let i = 0; i < 3; i++) {
      await expect(cache.verify('bad', never)).rejects.toBeInstanceOf(UnauthenticatedError);
    }
    expect(inner.calls).toBe(3);
    expect(outcomes).toEqual(['miss', 'miss', 'miss']);
  });

  it.each<[string, () => Error]>([
    [
      'an UnavailableError',
      () => new UnavailableError('ERR_TOKEN_REVIEW_UNAVAILABLE', 'API server down'),
    ],
    ['an error that is not a MeshCaError', () => new Error('bug')],
  ])('never caches %s', async (_name, makeError) => {
    const error = makeError();
    const { cache, inner, outcomes } = harness(() => Promise.reject(error));
    await expect(cache.verify('t', never)).rejects.toBe(error);
    inner.answer = (token) => Promise.resolve(account(token));
    await expect(cache.verify('t', never)).resolves.toMatchObject({ namespace: 't' });
    expect(inner.calls).toBe(2);
    expect(outcomes).toEqual(['miss', 'miss']);
  });

  it('shares one verification among concurrent callers of the same token', async () => {
    const pending = deferred<ServiceAccountToken>();
    const { cache, inner, outcomes } = harness(() => pending.promise);
    const first = cache.verify('token-a', never);
    const second = cache.verify('token-a', never);
    const other = cache.verify('token-b', never);
    expect(inner.calls).toBe(2);
    expect(outcomes).toEqual(['miss', 'shared', 'miss']);
    pending.resolve(account('shared-result'));
    await expect(first).resolves.toEqual(account('shared-result'));
    await expect(second).resolves.toEqual(account('shared-result'));
    await other;
    await cache.verify('token-a', never);
    expect(outcomes).toEqual(['miss', 'shared', 'miss', 'hit']);
    expect(inner.calls).toBe(2);
  });

  it('gives every concurrent caller the shared refusal', async () => {
    const pending = deferred<ServiceAccountToken>();
    const { cache, inner } = harness(() => pending.promise);
    const callers = [cache.verify('t', never), cache.verify('t', never)];
    const error = refusal();
    pending.reject(error);
    await expect(callers[0]).rejects.toBe(error);
    await expect(callers[1]).rejects.toBe(error);
    expect(inner.calls).toBe(1);
  });

  it('gives up for a caller whose signal fires, while the others get the shared result', async () => {
    const pending = deferred<ServiceAccountToken>();
    const { cache, inner, outcomes } = harness(() => pending.promise);
    const impatient = new AbortController();
    const gaveUp = cache.verify('token-a', impatient.signal);
    const patient = cache.verify('token-a', never);
    impatient.abort();
    await expect(gaveUp).rejects.toBeInstanceOf(UnavailableError);
    await expect(gaveUp).rejects.toMatchObject({ code: 'ERR_DEADLINE' });
    // The caller's deadline is its own: the shared verification is not cancelled.
    expect(inner.signals[0]!.aborted).toBe(false);
    pending.resolve(account('ok'));
    await expect(patient).resolves.toEqual(account('ok'));
    await expect(cache.verify('token-a', never)).resolves.toEqual(account('ok'));
    expect(inner.calls).toBe(1);
    expect(outcomes).toEqual(['miss', 'shared', 'hit']);
  });

  it('still verifies (and caches) for a caller that arrives already out of time', async () => {
    const { cache, inner } = harness();
    const late = new AbortController();
    late.abort();
    await expect(cache.verify('token-a', late.signal)).rejects.toMatchObject({
      code: 'ERR_DEADLINE',
    });
    await settle();
    await expect(cache.verify('token-a', never)).resolves.toEqual(account('token-a'));
    expect(inner.calls).toBe(1);
  });

  it('bounds the shared verification by verifyTimeoutMs', async () => {
    // The inner verifier gives up when the signal it was handed fires (as TokenReview does).
    const { cache, inner } = harness(undefined, { verifyTimeoutMs: 1 });
    inner.answer = (_token, signal) =>
      new Promise((_resolve, reject) => {
        signal.addEventListener('abort', () => {
          reject(new UnavailableError('ERR_TOKEN_REVIEW_UNAVAILABLE', 'timed out'));
        });
      });
    await expect(cache.verify('slow', never)).rejects.toBeInstanceOf(UnavailableError);
    expect(inner.signals[0]!.aborted).toBe(true);
    expect(cache.size).toBe(0);
  });

  it('holds at most maxEntries tokens, evicting the least recently used', async () => {
    const { cache, inner, outcomes } = harness(undefined, { maxEntries: 2 });
    await cache.verify('a', never);
    await cache.verify('b', never);
    await cache.verify('a', never); // a is now the most recently used
    await cache.verify('c', never); // evicts b
    expect(cache.size).toBe(2);
    expect(inner.calls).toBe(3);
    await cache.verify('a', never);
    expect(inner.calls).toBe(3);
    await cache.verify('b', never);
    expect(inner.calls).toBe(4);
    expect(outcomes).toEqual(['miss', 'miss', 'hit', 'miss', 'hit', 'miss']);
  });

  it('reports every outcome kind to the observer', async () => {
    const pending = deferred<ServiceAccountToken>();
    const { cache, inner, outcomes } = harness(() => pending.promise);
    const first = cache.verify('good', never);
    const second = cache.verify('good', never);
    pending.resolve(account('good'));
    await Promise.all([first, second]);
    await cache.verify('good', never);
    inner.answer = () => Promise.reject(refusal());
    await expect(cache.verify('bad', never)).rejects.toThrow();
    await expect(cache.verify('bad', never)).rejects.toThrow();
    expect(outcomes).toEqual(['miss', 'shared', 'hit', 'miss', 'negative-hit']);
  });

  it('works without an observer', async () => {
    const inner = new FakeVerifier((token) => Promise.resolve(account(token)));
    const cache = new CachingTokenVerifier(inner, OPTIONS, new FixedClock(START));
    await cache.verify('t', never);
    await cache.verify('t', never);
    expect(inner.calls).toBe(1);
  });

  it('keeps no copy of the tokens it has cached (only their hashes)', async () => {
    const result = await run(
      process.execPath,
      ['--import', 'tsx', join(REPO_ROOT, 'test', 'auth', 'token-retention-probe.ts')],
      { cwd: REPO_ROOT, timeoutMs: 20_000 },
    );
    // On failure, show why the probe failed.
    expect(result.code === 0 ? '' : result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({ cached: false, retained: true });
  });
});

describe('CachingTokenVerifier during an outage of the authority (stale-if-unavailable)', () => {
  const STALE: TokenCacheOptions = { ...OPTIONS, staleTtlMs: 3_600_000 };
  const unavailable = (): Promise<ServiceAccountToken> =>
    Promise.reject(new UnavailableError('ERR_TOKEN_REVIEW_UNAVAILABLE', 'API server down'));

  function staleHarness(options: TokenCacheOptions = STALE): Harness {
    const clock = new FixedClock(START);
    const outcomes: TokenCacheOutcome[] = [];
    const inner = new FakeVerifier((token) => Promise.resolve(account(token)));
    const cache = new CachingTokenVerifier(inner, options, clock, (outcome) =>
      outcomes.push(outcome),
    );
    return { cache, inner, clock, outcomes };
  }

  it('uses the last success once fresh has passed, when the authority is unavailable', async () => {
    const { cache, inner, clock, outcomes } = staleHarness();
    await cache.verify('ns1', new AbortController().signal);
    clock.advance(OPTIONS.ttlMs + 1);
    inner.answer = unavailable;
    await expect(cache.verify('ns1', new AbortController().signal)).resolves.toEqual(
      account('ns1'),
    );
    expect(inner.calls).toBe(2);
    // The revalidation is a miss (a verification was started); its failure, a stale hit.
    expect(outcomes).toEqual(['miss', 'miss', 'stale-hit']);
  });

  it('uses the last success when the authority does not answer within the grace period', async () => {
    const { cache, inner, clock, outcomes } = staleHarness();
    await cache.verify('ns1', new AbortController().signal);
    clock.advance(OPTIONS.ttlMs + 1);
    inner.answer = () => new Promise(() => undefined); // black-holed
    const started = performance.now();
    await expect(cache.verify('ns1', new AbortController().signal)).resolves.toEqual(
      account('ns1'),
    );
    expect(performance.now() - started).toBeLessThan(3000);
    // The revalidation is a miss (a verification was started); its failure, a stale hit.
    expect(outcomes).toEqual(['miss', 'miss', 'stale-hit']);
  });

  it('takes a fresh answer when the authority gives one, refusals included', async () => {
    const { cache, inner, clock } = staleHarness();
    await cache.verify('ns1', new AbortController().signal);
    clock.advance(OPTIONS.ttlMs + 1);
    inner.answer = () =>
      Promise.reject(new UnauthenticatedError('ERR_AUTH_TOKEN_INVALID', 'token revoked'));
    await expect(cache.verify('ns1', new AbortController().signal)).rejects.toMatchObject({
      code: 'ERR_AUTH_TOKEN_INVALID',
    });
    // The refusal replaced the success: no stale answer afterwards either.
    inner.answer = unavailable;
    await expect(cache.verify('ns1', new AbortController().signal)).rejects.toMatchObject({
      code: 'ERR_AUTH_TOKEN_INVALID',
    });
  });

  it('never uses a success past the token expiry, nor past the stale period', async () => {
    const expiring = staleHarness();
    expiring.inner.answer = (token) =>
      Promise.resolve(account(token, new Date(START.getTime() + 90_000)));
    await expiring.cache.verify('ns1', new AbortController().signal);
    expiring.clock.advance(90_001);
    expiring.inner.answer = unavailable;
    await expect(expiring.cache.verify('ns1', new AbortController().signal)).rejects.toMatchObject({
      kind: 'unavailable',
    });

    const old = staleHarness();
    await old.cache.verify('ns1', new AbortController().signal);
    old.clock.advance(OPTIONS.ttlMs + STALE.staleTtlMs + 1);
    old.inner.answer = unavailable;
    await expect(old.cache.verify('ns1', new AbortController().signal)).rejects.toMatchObject({
      kind: 'unavailable',
    });
  });

  it('is off with staleTtlMs 0', async () => {
    const { cache, inner, clock } = staleHarness(OPTIONS);
    await cache.verify('ns1', new AbortController().signal);
    clock.advance(OPTIONS.ttlMs + 1);
    inner.answer = unavailable;
    await expect(cache.verify('ns1', new AbortController().signal)).rejects.toMatchObject({
      code: 'ERR_TOKEN_REVIEW_UNAVAILABLE',
    });
  });
});

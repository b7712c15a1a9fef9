import { MeshCaError } from '../../src/errors.js';
import { workloadSpiffeId } from '../../src/identity/index.js';
import {
  IssuanceRateLimiter,
  type RateLimitOptions,
  type RateLimitScope,
} from '../../src/limits/index.js';

const OFF: RateLimitOptions = {
  perIdentityPerSecond: 0,
  perIdentityBurst: 0,
  globalPerSecond: 0,
  globalBurst: 0,
  maxIdentities: 0,
};
const id = (sa: string): ReturnType<typeof workloadSpiffeId> =>
  workloadSpiffeId('cluster.local', 'default', sa);

/** A limiter on a pinned clock, and what it counted. */
function limiter(options: Partial<RateLimitOptions>): {
  limiter: IssuanceRateLimiter;
  counted: RateLimitScope[];
  advance: (ms: number) => void;
} {
  let now = 0;
  const counted: RateLimitScope[] = [];
  return {
    limiter: new IssuanceRateLimiter(
      { ...OFF, ...options },
      { rateLimited: (scope) => counted.push(scope) },
      () => now,
    ),
    counted,
    advance: (ms) => {
      now += ms;
    },
  };
}

/** How many of `count` requests for `sa` are admitted. */
function admitted(subject: IssuanceRateLimiter, sa: string, count: number): number {
  let passed = 0;
  for (let i = 0; i < count; i++) if (subject.admit(id(sa)) === undefined) passed++;
  return passed;
}

describe('IssuanceRateLimiter', () => {
  it('limits nothing when both limits are off', () => {
    const { limiter: subject, counted } = limiter({});
    expect(admitted(subject, 'app', 10_000)).toBe(10_000);
    expect(counted).toEqual([]);
    expect(subject.trackedIdentities).toBe(0);
  });

  it('lets a crash-looping identity have its burst, then its rate, and nobody else is affected', () => {
    const {
      limiter: subject,
      counted,
      advance,
    } = limiter({
      perIdentityPerSecond: 10,
      perIdentityBurst: 50,
      maxIdentities: 100,
    });
    expect(admitted(subject, 'looping', 1000)).toBe(50);
    expect(counted).toEqual(Array<RateLimitScope>(950).fill('identity'));
    // The rest of the mesh keeps its own budget.
    expect(admitted(subject, 'web', 50)).toBe(50);
    advance(1000);
    expect(admitted(subject, 'looping', 1000)).toBe(10);
  });

  it('refuses with UNAVAILABLE ERR_RATE_LIMITED, naming the scope to the client', () => {
    const { limiter: subject } = limiter({
      perIdentityPerSecond: 1,
      perIdentityBurst: 1,
      maxIdentities: 10,
      globalPerSecond: 1,
      globalBurst: 2,
    });
    expect(subject.admit(id('a'))).toBeUndefined();
    const perIdentity = subject.admit(id('a'));
    expect(perIdentity).toBeInstanceOf(MeshCaError);
    expect(perIdentity).toMatchObject({
      code: 'ERR_RATE_LIMITED',
      kind: 'unavailable',
      clientMessage: 'rate limited: too many certificate requests for this identity, retry later',
    });
    expect(perIdentity?.message).toBe(
      'spiffe://cluster.local/ns/default/sa/a is over its rate limit of 1 requests/s (burst 1)',
    );
    expect(subject.admit(id('b'))).toBeUndefined();
    expect(subject.admit(id('c'))).toMatchObject({
      code: 'ERR_RATE_LIMITED',
      clientMessage: 'rate limited: too many certificate requests, retry later',
    });
  });

  it('bounds every identity together with the global limit', () => {
    const {
      limiter: subject,
      counted,
      advance,
    } = limiter({ globalPerSecond: 100, globalBurst: 200 });
    let passed = 0;
    for (let i = 0; i < 1000; i++) if (subject.admit(id(`sa-${i}`)) === undefined) passed++;
    expect(passed).toBe(200);
    expect(new Set(counted)).toEqual(new Set(['global']));
    advance(500);
    expect(admitted(subject, 'late', 100)).toBe(50);
  });

  it('charges neither bucket for a refused request', () => {
    const { limiter: subject, advance } = limiter({
      perIdentityPerSecond: 1,
      perIdentityBurst: 2,
      maxIdentities: 10,
      globalPerSecond: 1,
      globalBurst: 3,
    });
    expect(admitted(subject, 'a', 5)).toBe(2); // a's bucket refuses 3: the global one keeps 1
    expect(admitted(subject, 'b', 5)).toBe(1); // the global bucket refuses: b keeps 1
    advance(1000); // one more global token
    expect(admitted(subject, 'b', 1)).toBe(1);
  });

  it('remembers at most maxIdentities buckets; a forgotten identity starts full again', () => {
    const { limiter: subject } = limiter({
      perIdentityPerSecond: 1,
      perIdentityBurst: 1,
      maxIdentities: 3,
    });
    for (let i = 0; i < 10_000; i++) subject.admit(id(`sa-${i}`));
    expect(subject.trackedIdentities).toBe(3);
    expect(admitted(subject, 'sa-0', 2)).toBe(1);
  });

  it.each<[string, Partial<RateLimitOptions>]>([
    [
      'a per-identity burst of 0',
      { perIdentityPerSecond: 1, perIdentityBurst: 0, maxIdentities: 1 },
    ],
    [
      'no identities remembered',
      { perIdentityPerSecond: 1, perIdentityBurst: 1, maxIdentities: 0 },
    ],
    ['a global burst of 0', { globalPerSecond: 1, globalBurst: 0 }],
  ])('refuses %s as a wiring bug', (_name, options) => {
    expect(() => limiter(options)).toThrow(TypeError);
  });
});

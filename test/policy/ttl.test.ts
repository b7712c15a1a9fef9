import { validityWindow } from '../../src/ca/index.js';
import { FixedClock, type Clock } from '../../src/clock.js';
import { InternalError } from '../../src/errors.js';
import { workloadSpiffeId } from '../../src/identity/index.js';
import { TtlPolicy, type TtlAdjustment, type TtlOptions } from '../../src/policy/index.js';

const S = 1000;
const HOUR = 3600;
const DAY = 24 * HOUR;

/** The pinned time, deliberately not on a whole second. */
const NOW = new Date('2030-03-01T12:00:00.750Z');
/** NOW truncated to whole seconds, as X.509 times are. */
const NOW_S = new Date('2030-03-01T12:00:00.000Z').getTime();
const CA_NOT_AFTER = new Date('2031-03-01T00:00:00Z');

const OPTIONS: TtlOptions = {
  defaultTtlSeconds: DAY,
  maxTtlSeconds: 90 * DAY,
  minTtlSeconds: HOUR,
  backdateSeconds: 120,
};

/**
 * The lifetime the policy settles, turned into the window the signer makes of it (the CA cap
 * lives in `ca/validity.ts`): together, what a workload certificate gets.
 */
class TtlWindow {
  readonly #policy: TtlPolicy;
  readonly #options: TtlOptions;
  readonly #clock: Clock;

  constructor(options: TtlOptions, clock: Clock) {
    this.#policy = new TtlPolicy(options);
    this.#options = options;
    this.#clock = clock;
  }

  window(
    requested: bigint,
    caNotAfter: Date,
  ): { notBefore: Date; notAfter: Date; adjustment: TtlAdjustment } {
    const { ttlSeconds, adjustment } = this.#policy.ttl(requested);
    const window = validityWindow(
      { ttlSeconds, backdateSeconds: this.#options.backdateSeconds },
      this.#clock.now(),
      caNotAfter,
    );
    return {
      notBefore: window.notBefore,
      notAfter: window.notAfter,
      adjustment: window.cappedByCa ? 'ca-expiry' : adjustment,
    };
  }
}

const policy = (options: Partial<TtlOptions> = {}, at = NOW): TtlWindow =>
  new TtlWindow({ ...OPTIONS, ...options }, new FixedClock(at));

describe('TtlPolicy.decide', () => {
  it('always allows, as the server layer, and carries the settled lifetime', async () => {
    const ttl = new TtlPolicy(OPTIONS);
    const identity = workloadSpiffeId('cluster.local', 'default', 'app');
    const decision = await ttl.decide({
      subject: identity,
      caller: {
        identity,
        namespace: 'default',
        serviceAccount: 'app',
        podName: undefined,
        podUid: undefined,
        expiresAt: undefined,
        clusterId: 'Kubernetes',
        method: 'jwt',
      },
      impersonated: false,
      key: { algorithm: 'EC', bits: 256, curve: 'P-256' },
      requestedTtlSeconds: BigInt(91 * DAY),
    });
    expect(decision).toEqual({
      effect: 'allow',
      layer: 'server',
      rule: 'ttl',
      reason: undefined,
      audits: [],
      ttlSeconds: 90 * DAY,
      ttlAdjustment: 'max',
    });
  });
});

describe('TtlPolicy lifetime and the signing window', () => {
  it.each<[string, bigint, number, TtlAdjustment]>([
    ['zero → default', 0n, DAY, 'default'],
    ['-1 → default', -1n, DAY, 'default'],
    ['int64 min → default', -9223372036854775808n, DAY, 'default'],
    ['1s → raised to min', 1n, HOUR, 'min'],
    ['min - 1 → raised to min', BigInt(HOUR - 1), HOUR, 'min'],
    ['exactly min → kept', BigInt(HOUR), HOUR, 'none'],
    ['between min and max → kept', 12345n, 12345, 'none'],
    ['exactly default → kept', BigInt(DAY), DAY, 'none'],
    ['exactly max → kept', BigInt(90 * DAY), 90 * DAY, 'none'],
    ['max + 1 → clamped to max', BigInt(90 * DAY + 1), 90 * DAY, 'max'],
    ['2^53 + 1 → clamped to max', 2n ** 53n + 1n, 90 * DAY, 'max'],
    ['int64 max → clamped to max', 9223372036854775807n, 90 * DAY, 'max'],
    ['beyond int64 → clamped to max', 2n ** 70n, 90 * DAY, 'max'],
  ])('%s', (_label, requested, ttlSeconds, adjustment) => {
    const window = policy().window(requested, CA_NOT_AFTER);
    expect(window).toEqual({
      notBefore: new Date(NOW_S - 120 * S),
      notAfter: new Date(NOW_S + ttlSeconds * S),
      adjustment,
    });
  });

  it('gives whole-second times, so notAfter - notBefore is exactly TTL + backdate', () => {
    const window = policy().window(7200n, CA_NOT_AFTER);
    expect(window.notBefore.getTime() % S).toBe(0);
    expect(window.notAfter.getTime() % S).toBe(0);
    expect(window.notAfter.getTime() - window.notBefore.getTime()).toBe((7200 + 120) * S);
  });

  it.each([
    [0, NOW_S],
    [120, NOW_S - 120 * S],
    [3600, NOW_S - 3600 * S],
  ])('backdates notBefore by %is', (backdateSeconds, notBefore) => {
    const window = policy({ backdateSeconds }).window(7200n, CA_NOT_AFTER);
    expect(window.notBefore.getTime()).toBe(notBefore);
    expect(window.notAfter.getTime()).toBe(NOW_S + 7200 * S);
  });

  it('follows the clock', () => {
    const clock = new FixedClock(NOW);
    const ttl = new TtlWindow(OPTIONS, clock);
    const first = ttl.window(0n, CA_NOT_AFTER);
    clock.advance(90 * S);
    const second = ttl.window(0n, CA_NOT_AFTER);
    expect(second.notBefore.getTime() - first.notBefore.getTime()).toBe(90 * S);
    expect(second.notAfter.getTime() - first.notAfter.getTime()).toBe(90 * S);
  });

  it.each<[string, bigint, number, TtlAdjustment]>([
    ['the default TTL', 0n, 10 * HOUR, 'ca-expiry'],
    ['a TTL already clamped to max', 2n ** 40n, 10 * HOUR, 'ca-expiry'],
    ['a TTL raised to min', 1n, 30 * 60, 'ca-expiry'],
    ['a kept TTL', BigInt(2 * DAY), 10 * HOUR, 'ca-expiry'],
  ])(
    'never lets notAfter pass the CA expiry: %s',
    (_label, requested, caLeftSeconds, adjustment) => {
      const caNotAfter = new Date(NOW_S + caLeftSeconds * S);
      const window = policy().window(requested, caNotAfter);
      expect(window.notAfter).toEqual(caNotAfter);
      expect(window.adjustment).toBe(adjustment);
    },
  );

  it('truncates a CA expiry with milliseconds to the second before it', () => {
    const caNotAfter = new Date(NOW_S + 2 * HOUR * S + 999);
    const window = policy().window(0n, caNotAfter);
    expect(window.notAfter.getTime()).toBe(NOW_S + 2 * HOUR * S);
    expect(window.adjustment).toBe('ca-expiry');
  });

  it('keeps a TTL that ends exactly at the CA expiry', () => {
    const caNotAfter = new Date(NOW_S + DAY * S);
    const window = policy().window(BigInt(DAY), caNotAfter);
    expect(window.notAfter).toEqual(caNotAfter);
    expect(window.adjustment).toBe('none');
  });

  it.each([
    ['a second ago', new Date(NOW_S - S)],
    ['at the current second', new Date(NOW_S)],
    ['long ago', new Date('2020-01-01T00:00:00Z')],
  ])('refuses with InternalError ERR_CA_EXPIRED when the CA expired %s', (_label, caNotAfter) => {
    let error: unknown;
    try {
      policy().window(0n, caNotAfter);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InternalError);
    expect(error).toMatchObject({
      code: 'ERR_CA_EXPIRED',
      kind: 'internal',
      message: `the CA expired at ${caNotAfter.toISOString()}`,
      clientMessage: 'internal error',
    });
  });
});

describe('TtlPolicy constructor', () => {
  it.each<[string, Partial<TtlOptions>]>([
    ['min = default = max', { minTtlSeconds: DAY, defaultTtlSeconds: DAY, maxTtlSeconds: DAY }],
    ['min < default < max', {}],
    ['no backdate', { backdateSeconds: 0 }],
  ])('accepts %s', (_label, options) => {
    expect(() => policy(options)).not.toThrow();
  });

  it.each<[string, Partial<TtlOptions>]>([
    ['min = 0', { minTtlSeconds: 0 }],
    ['min < 0', { minTtlSeconds: -1 }],
    ['min > default', { minTtlSeconds: DAY + 1 }],
    ['default > max', { defaultTtlSeconds: 91 * DAY }],
    ['max < min', { maxTtlSeconds: HOUR - 1 }],
    ['min NaN', { minTtlSeconds: Number.NaN }],
    ['default NaN', { defaultTtlSeconds: Number.NaN }],
    ['max NaN', { maxTtlSeconds: Number.NaN }],
  ])('refuses inconsistent options with TypeError: %s', (_label, options) => {
    expect(() => policy(options)).toThrow(
      new TypeError('TTL options must satisfy 0 < min <= default <= max'),
    );
  });
});

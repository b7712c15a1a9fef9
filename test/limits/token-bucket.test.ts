import { TokenBucket } from '../../src/limits/index.js';

describe('TokenBucket', () => {
  it('starts full, empties, and refills at its rate, never above its burst', () => {
    const bucket = new TokenBucket({ perSecond: 2, burst: 3 }, 0);
    for (let i = 0; i < 3; i++) {
      expect(bucket.available(0)).toBe(true);
      bucket.take();
    }
    expect(bucket.available(0)).toBe(false);
    expect(bucket.available(499)).toBe(false);
    expect(bucket.available(500)).toBe(true); // 2/s: one token after 500 ms
    bucket.take();
    expect(bucket.available(500)).toBe(false);
    // A long pause refills to the burst, not beyond.
    expect(bucket.available(60_000)).toBe(true);
    for (let i = 0; i < 3; i++) bucket.take();
    expect(bucket.available(60_000)).toBe(false);
  });

  it('ignores a clock that steps back', () => {
    const bucket = new TokenBucket({ perSecond: 1, burst: 1 }, 1000);
    bucket.take();
    expect(bucket.available(0)).toBe(false);
    expect(bucket.available(1000)).toBe(false);
    expect(bucket.available(2000)).toBe(true);
  });

  it.each([
    [{ perSecond: 0, burst: 1 }],
    [{ perSecond: 1, burst: 0 }],
    [{ perSecond: Number.NaN, burst: 1 }],
  ])('refuses %p', (rate) => {
    expect(() => new TokenBucket(rate, 0)).toThrow(TypeError);
  });
});

import { RateLimiter } from '../../src/util/index.js';

describe('RateLimiter.tryTake', () => {
  it('takes the burst, refuses the next, refills over time', () => {
    let now = 0;
    const limiter = new RateLimiter(10, 3, () => now);
    expect([limiter.tryTake(), limiter.tryTake(), limiter.tryTake(), limiter.tryTake()]).toEqual([
      true,
      true,
      true,
      false,
    ]);
    now += 50;
    expect(limiter.tryTake()).toBe(false);
    now += 50;
    expect(limiter.tryTake()).toBe(true);
    expect(limiter.tryTake()).toBe(false);
  });
});

import { formatDuration, parseDurationMs } from '../../src/util/index.js';

describe('parseDurationMs', () => {
  it.each<[string | number, number]>([
    ['24h', 86_400_000],
    ['1h30m', 5_400_000],
    ['90s', 90_000],
    ['500ms', 500],
    ['1d', 86_400_000],
    ['3600', 3_600_000],
    [3600, 3_600_000],
    [' 2m ', 120_000],
  ])('%j', (value, ms) => {
    expect(parseDurationMs(value)).toBe(ms);
  });

  it.each(['', 'soon', '1y', '-1h', '1h 30m'])('refuses %j', (value) => {
    expect(() => parseDurationMs(value)).toThrow(/is not a duration/);
  });

  it('formats back', () => {
    expect([86_400_000, 3_600_000, 90_000, 500].map(formatDuration)).toEqual([
      '1d',
      '1h',
      '90s',
      '500ms',
    ]);
  });
});

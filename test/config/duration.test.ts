import { formatDuration, parseDurationMs } from '../../src/config/index.js';

describe('parseDurationMs', () => {
  it.each<[string | number, number]>([
    ['24h', 86_400_000],
    ['1h30m', 5_400_000],
    ['90s', 90_000],
    ['500ms', 500],
    ['1.5h', 5_400_000],
    ['2d', 172_800_000],
    ['1m30s', 90_000],
    ['1h0m0s', 3_600_000],
    ['1s500ms', 1_500],
    ['10m', 600_000],
    ['0s', 0],
    [' 10s ', 10_000],
    ['1.0005s', 1_001],
    // A plain number is seconds, as a string (env, flags) or a number (YAML/JSON file).
    ['60', 60_000],
    ['0.5', 500],
    ['0', 0],
    [60, 60_000],
    [0.25, 250],
    [0, 0],
  ])('reads %p as %i ms', (value, ms) => {
    expect(parseDurationMs(value)).toBe(ms);
  });

  it.each<string | number>([
    '',
    '   ',
    '5x',
    'h',
    'ms',
    '-5s',
    '+5s',
    '5 s',
    '1h 30m',
    '24H',
    '.5h',
    '1e3',
    '5s5',
    '1,5h',
    'Infinity',
    -1,
    Number.NaN,
    Number.POSITIVE_INFINITY,
  ])('refuses %p', (value) => {
    expect(() => parseDurationMs(value)).toThrow(/is not a duration/);
  });

  it('gives examples of the notation when refusing a string', () => {
    expect(() => parseDurationMs('5x')).toThrow(
      '"5x" is not a duration (examples: 24h, 1h30m, 90s, 500ms)',
    );
  });
});

describe('formatDuration', () => {
  it.each<[number, string]>([
    [86_400_000, '1d'],
    [172_800_000, '2d'],
    [3_600_000, '1h'],
    [90_000_000, '25h'],
    [5_400_000, '90m'],
    [60_000, '1m'],
    [90_000, '90s'],
    [1_000, '1s'],
    [1_500, '1500ms'],
    [500, '500ms'],
    [0, '0ms'],
  ])('formats %i ms as %s, which reads back the same', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
    expect(parseDurationMs(text)).toBe(ms);
  });
});

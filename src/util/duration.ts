/**
 * Durations as Istio and Kubernetes users write them: Go's notation (`24h`, `1h30m`, `90s`,
 * `500ms`, plus `d` for days), or a plain number of seconds. A leaf, so that documents outside
 * the configuration (issuance policies) read durations exactly as the settings do.
 *
 * @module
 */

const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;

/**
 * Parses a duration into milliseconds.
 *
 * @throws `Error` when `value` is not a duration.
 */
export function parseDurationMs(value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new Error(`${value} is not a duration`);
    return value * 1000;
  }
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  PART.lastIndex = 0;
  let total = 0;
  let consumed = 0;
  for (let match = PART.exec(text); match; match = PART.exec(text)) {
    const [whole, amount = '0', unit = 's'] = match;
    total += Number(amount) * (UNIT_MS[unit] ?? 0);
    consumed += whole.length;
  }
  if (text === '' || consumed !== text.length) {
    throw new Error(`"${value}" is not a duration (examples: 24h, 1h30m, 90s, 500ms)`);
  }
  return Math.round(total);
}

/** Formats milliseconds the way {@link parseDurationMs} reads them. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ['d', UNIT_MS['d']],
    ['h', UNIT_MS['h']],
    ['m', UNIT_MS['m']],
    ['s', UNIT_MS['s']],
  ] as const) {
    if (size !== undefined && ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/**
 * How values read: times in UTC without milliseconds, short fingerprints, durations from now.
 *
 * @module
 */

/** `2026-12-06 07:50:04Z`, or `—`. */
export function time(iso: string | null | undefined): string {
  if (iso === null || iso === undefined) return '—';
  return iso.replace('T', ' ').replace(/\.\d{3}Z$/, 'Z');
}

/** The first 12 hex digits of a fingerprint, as the CLI prints it. */
export function short(fingerprint: string | null | undefined): string {
  return fingerprint === null || fingerprint === undefined ? '—' : fingerprint.slice(0, 12);
}

/** `in 3d 4h`, `2h 5m ago`: the distance from `now` to `iso`. */
export function relative(iso: string, now: number): string {
  const ms = Date.parse(iso) - now;
  const abs = Math.abs(ms);
  const units: [number, string][] = [
    [86_400_000, 'd'],
    [3_600_000, 'h'],
    [60_000, 'm'],
  ];
  const parts: string[] = [];
  let rest = abs;
  for (const [size, unit] of units) {
    if (rest >= size && parts.length < 2) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  const text = parts.length === 0 ? 'now' : parts.join(' ');
  if (text === 'now') return text;
  return ms >= 0 ? `in ${text}` : `${text} ago`;
}

/** A count with thousands separators. */
export function count(n: number): string {
  return n.toLocaleString('en-US');
}

/**
 * Durations in settings (`24h`, `1h30m`, `90s`, `500ms`, or seconds): the parser lives in util/
 * so that other concerns (policy documents) read durations the same way without importing
 * config/.
 *
 * @module
 */
export { formatDuration, parseDurationMs } from '../util/index.js';

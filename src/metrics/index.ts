/**
 * Prometheus metrics: the only folder that imports prom-client.
 *
 * @module
 */
export type { RequestOutcome } from './ca-metrics.js';
export { CaMetrics } from './ca-metrics.js';
export { PolicyMetrics } from './policy-metrics.js';

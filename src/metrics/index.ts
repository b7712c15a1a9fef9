/**
 * Prometheus metrics: the only folder that imports prom-client.
 *
 * @module
 */
export type { RequestOutcome } from './ca-metrics.js';
export { CaMetrics } from './ca-metrics.js';
export { IssuanceMetricsObserver } from './issuance-metrics.js';
export { LimitMetrics } from './limit-metrics.js';

/**
 * Prometheus metrics: the only folder that imports prom-client.
 *
 * @module
 */
export type { RequestOutcome } from './ca-metrics.js';
export { CaMetrics } from './ca-metrics.js';
export { IssuanceMetricsObserver } from './issuance-metrics.js';
export { LedgerMetrics } from './ledger-metrics.js';
export type { FindingCount } from './discovery-metrics.js';
export { DiscoveryMetrics } from './discovery-metrics.js';
export { PolicyMetrics } from './policy-metrics.js';
export { LimitMetrics } from './limit-metrics.js';

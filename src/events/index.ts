/**
 * The issuance event and its observers: the seam between the issuance path and what watches it
 * (metrics, logs, the ledger). Types and a small fan-out only.
 *
 * @module
 */
export type {
  DecisionRecord,
  EventCaller,
  EventCertificate,
  EventIdentity,
  EventKey,
  IssuanceEvent,
  IssuanceObserver,
  IssuanceOutcome,
  PolicyVerdict,
} from './issuance-event.js';
export type { IssuanceGate } from './observers.js';
export { IssuanceObservers } from './observers.js';
export { RequestLogObserver } from './request-log.js';

/**
 * The lifecycle of workload identities: certificates retired when their pod is gone, and the CRL
 * that lists retired and revoked ones, signed by the intermediate and served at `/crl`.
 *
 * @module
 */
export type {
  PodRetirementDeps,
  PodRetirementOptions,
  PodWatch,
  RetirementRecorder,
  WatchedPod,
} from './pod-retirement.js';
export { POD_DELETED, PodRetirement } from './pod-retirement.js';
export type {
  CrlListener,
  CrlPublisherDeps,
  CrlPublisherOptions,
  PublishedCrl,
} from './crl-publisher.js';
export { CrlPublisher } from './crl-publisher.js';
export { CRL_PATH, crlRoute } from './crl-route.js';

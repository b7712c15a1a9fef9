/**
 * Narrow interfaces over the Kubernetes API: the only folder that imports the client library.
 *
 * @module
 */
export type { KubeClientOptions, KubeConnection } from './client.js';
export { KubeApiError, KubeClient, apiStatus } from './client.js';
export type { KubeTokenReviewOptions, TokenReviewApi, TokenReviewStatus } from './token-review.js';
export { KubeTokenReviewApi } from './token-review.js';
export type { InformerEvent, InformerHandler, InformerOptions, RawObject } from './informer.js';
export { Informer, keyOf } from './informer.js';
export type { LeaderElectionOptions, LeadershipListener } from './lease.js';
export { LeaseElector } from './lease.js';
export { LabelSelector } from './label-selector.js';
export type { PodIndexOptions, PodRecord } from './pod-index.js';
export { PodIndex } from './pod-index.js';
export type { ApiReachabilityOptions } from './reachability.js';
export { ApiReachability, DEFAULT_REACHABILITY } from './reachability.js';
export type { KubeClusterCertificateReaderOptions } from './cluster-certificates.js';
export { KubeClusterCertificateReader } from './cluster-certificates.js';
export type { ReducedSecret } from './secret-reduction.js';
export {
  CERTIFICATE_KEYS,
  EXCLUDED_SECRET_TYPES,
  isPrivateKeyName,
  secretListReviver,
  toSecretRecord,
  withoutPrivateKeyBlocks,
} from './secret-reduction.js';
export type {
  EventObject,
  EventRecorderStats,
  KubeEventRecorderOptions,
  RecordedEvent,
} from './event-recorder.js';
export { KubeEventRecorder, eventName } from './event-recorder.js';
// The issuance policy's facts and sources (ports declared in policy/).
export type { KubePodLookupOptions } from './policy-pods.js';
export { DEFAULT_POD_LOOKUP_OPTIONS, KubePodLookup } from './policy-pods.js';
export type { KubeNamespaceLookupOptions } from './policy-namespaces.js';
export { KubeNamespaceLookup } from './policy-namespaces.js';
export type { KubeObjectLookupOptions } from './policy-objects.js';
export { KubeObjectLookup } from './policy-objects.js';
export type { KubePolicyFactsOptions } from './policy-facts.js';
export { DEFAULT_POLICY_FACTS_OPTIONS, KubePolicyFacts } from './policy-facts.js';
export { KubeDirectPolicyFacts } from './policy-direct-facts.js';
export type { KubeConfigMapPolicyReaderOptions } from './policy-configmap.js';
export { KubeConfigMapPolicyReader } from './policy-configmap.js';

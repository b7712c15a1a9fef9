/**
 * Fakes that implement meshca's real interfaces, for unit tests of its own logic. The fake
 * kube-apiserver lives in `kube/`; the fake clock is `FixedClock` in src/clock.ts.
 */
export type { CallerSpec } from './authenticator.js';
export { FakeAuthenticator, FakeImpersonationAuthorizer, makeCaller } from './authenticator.js';
export { FakeCsrChecker } from './csr-checker.js';
export { FakeDecider, allowDecision } from './decider.js';
export { FAKE_CERTIFICATE, FakeSigner } from './signer.js';
export { FakeGate, RecordingObserver, ThrowingObserver } from './observers.js';
export type { FakePod } from './pod-directory.js';
export { FakePodDirectory } from './pod-directory.js';
export type { FakePartOptions } from './parts.js';
export { FakePart } from './parts.js';
export type {
  FailureRule,
  FakeKubeApiServerOptions,
  RecordedRequest,
  RequestMatcher,
} from './kube/server.js';
export { FakeKubeApiServer } from './kube/server.js';
export type { FakeObject, FakeObjectMeta, StoreEvent } from './kube/store.js';
export { ObjectStore, StoreError } from './kube/store.js';

/**
 * Generic helpers with no domain knowledge.
 *
 * @module
 */
export { raceSignal, sleep, withDeadline } from './abort.js';
export { CallScope } from './call-scope.js';
export { Semaphore } from './semaphore.js';
export {
  KeyFilePermissionError,
  keyFileModeProblem,
  readPrivateKeyFile,
  writeFileAtomically,
} from './files.js';
export { Backoff } from './backoff.js';
export { RateLimiter } from './rate-limiter.js';
export { formatDuration, parseDurationMs } from './duration.js';
export type { KeyHandler, WorkQueueOptions } from './work-queue.js';
export { WorkQueue } from './work-queue.js';

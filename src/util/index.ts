/**
 * Generic helpers with no domain knowledge.
 *
 * @module
 */
export { raceSignal, sleep } from './abort.js';
export { Semaphore } from './semaphore.js';
export { writeFileAtomically } from './files.js';

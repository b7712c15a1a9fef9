/**
 * The lifecycle of a running meshca: the {@link Part} shape, the runner that orders parts, and
 * the background loops a part owns.
 *
 * @module
 */
export type { LeadershipFollower, Part, ReadinessCheck } from './part.js';
export type { Readiness } from './runner.js';
export { PartRunner } from './runner.js';
export { BackgroundLoops } from './loops.js';

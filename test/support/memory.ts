/**
 * Memory readings for the tests that bound growth (fuzz, slow API server, soak): taken after a
 * full GC, so that garbage not yet collected does not count.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** One reading, in bytes. */
export interface MemoryReading {
  readonly heap: number;
  /** Native memory tied to JS objects: keys, TLS and HTTP/2 state, buffers. */
  readonly external: number;
  readonly rss: number;
}

let gc: (() => void) | undefined;

/** `global.gc`, exposed at run time (Jest does not pass --expose-gc to its workers). */
function forcedGc(): () => void {
  if (gc === undefined) {
    setFlagsFromString('--expose_gc');
    gc = runInNewContext('gc') as () => void;
  }
  return gc;
}

/** Collects garbage (twice: finalizers free more on the second pass), then reads. */
export function memoryAfterGc(): MemoryReading {
  const collect = forcedGc();
  collect();
  collect();
  const usage = process.memoryUsage();
  return { heap: usage.heapUsed, external: usage.external, rss: usage.rss };
}

/** A reading in MiB, for logs. */
export function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(1);
}

/**
 * Every log line the tests see, kept for the secret scan: `memoryLogger` (in-process meshca), the
 * meshca child processes' stderr and the CLI's stderr append here. The global setup names a
 * directory per run (`MESHCA_TEST_LOG_DIR`); each Jest worker writes its own file in it, and the
 * global teardown scans them all (`secret-scan-cli.ts`) and fails the run on any secret.
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';

/** The environment variable naming the run's capture directory. */
export const LOG_DIR_VARIABLE = 'MESHCA_TEST_LOG_DIR';

/** This worker's capture file, or undefined outside a Jest run with the global setup. */
export function captureFile(): string | undefined {
  const dir = process.env[LOG_DIR_VARIABLE];
  return dir === undefined || dir === '' ? undefined : join(dir, `worker-${process.pid}.log`);
}

/**
 * Appends log text (whole lines or raw chunks; a chunk split mid-line is rejoined in the file,
 * since each process writes its own file in order).
 */
export function captureLog(text: string): void {
  const file = captureFile();
  if (file !== undefined && text !== '') appendFileSync(file, text);
}

/**
 * File writes that never leave a half-written file behind: a reader (meshca after a restart, a
 * kubelet-style watcher, an operator) sees the old content or the new, nothing in between.
 *
 * @module
 */
import { rename, writeFile } from 'node:fs/promises';

/** Writes `content` to `path` through a temporary file and a rename. */
export async function writeFileAtomically(
  path: string,
  content: string,
  mode = 0o644,
): Promise<void> {
  const temporary = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await writeFile(temporary, content, { mode });
  await rename(temporary, path);
}

/**
 * Files: writes that never leave a half-written file behind (a reader — meshca after a restart, a
 * kubelet-style watcher, an operator — sees the old content or the new, nothing in between), and
 * private-key reads that refuse a key other users could read.
 *
 * @module
 */
import { open, rename, writeFile } from 'node:fs/promises';

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

/**
 * Permission bits a private key file must not have: any for others, and group write or execute.
 * Group read is allowed on purpose: Kubernetes mounts a Secret with the pod's `fsGroup` as the
 * file's group and adds group read to its mode (`defaultMode: 0400` becomes 0440), which is how a
 * non-root container reads a Secret at all; that group is the pod's own.
 */
const KEY_FILE_FORBIDDEN_BITS = 0o037;

/** A private key file others could read or change; the message names the file and the fix. */
export class KeyFilePermissionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyFilePermissionError';
  }
}

/**
 * Why a private key file with `mode` may not be used, or undefined when it may.
 *
 * @param mode `stat.mode` (the file type bits are ignored).
 */
export function keyFileModeProblem(path: string, mode: number): string | undefined {
  const permissions = mode & 0o777;
  if ((permissions & KEY_FILE_FORBIDDEN_BITS) === 0) return undefined;
  const octal = permissions.toString(8).padStart(4, '0');
  const who = (permissions & 0o007) !== 0 ? 'other users' : 'its group';
  return (
    `private key file ${path} has mode ${octal}: ${who} may read or change it; ` +
    `run "chmod 600 ${path}" (in Kubernetes, mount the Secret with defaultMode: 0400, ` +
    "which becomes 0440 with the pod's fsGroup)"
  );
}

/**
 * Reads a private key file, refusing it when other users could read or change it (like ssh and
 * kubectl's client keys): mode 0600 or 0400, or 0640 and 0440 (see {@link keyFileModeProblem}).
 * The mode is read from the opened file, so it is the mode of the bytes read.
 *
 * @throws {@link KeyFilePermissionError} for a file others may read or change.
 * @throws the file system's error when it cannot be read.
 */
export async function readPrivateKeyFile(path: string): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const problem = keyFileModeProblem(path, (await handle.stat()).mode);
    if (problem !== undefined) throw new KeyFilePermissionError(problem);
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

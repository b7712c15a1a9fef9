/**
 * A small real filesystem that a test fills and frees, for the full-disk faults: a tmpfs of a few
 * MiB mounted on a temporary directory. A full tmpfs answers writes exactly as a full disk does
 * (ENOSPC, short writes, SQLITE_FULL), which RLIMIT_FSIZE (EFBIG, per file) or /dev/full (every
 * write fails, nothing can be freed) do not. Filling writes a filler file until ENOSPC; freeing
 * deletes it, as an operator who makes room would.
 *
 * Mounting needs root (CAP_SYS_ADMIN), which CI has (`.ci/run` runs as root): in CI a tmpfs that
 * cannot be mounted is a failure, never a skip; elsewhere the tests skip with a warning.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, rmSync, statfsSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { IN_CI } from './environment.js';
import { tempDir } from './tmp.js';

/** A mounted small filesystem. */
export interface SmallDisk {
  /** The mount point. */
  readonly path: string;
  /** Writes a filler file until the filesystem is full (ENOSPC). */
  fill(): void;
  /** Deletes the filler: the space comes back. */
  free(): void;
  /** Bytes available to a writer now. */
  available(): number;
  /** Unmounts (lazily if busy); idempotent. */
  unmount(): void;
}

const FILLER = '.filler';
const mounted = new Set<string>();

function mount(dir: string, sizeBytes: number): string | undefined {
  const result = spawnSync(
    'mount',
    ['-t', 'tmpfs', '-o', `size=${sizeBytes},mode=0700`, 'meshca-test', dir],
    { encoding: 'utf8' },
  );
  if (result.error !== undefined) return result.error.message;
  return result.status === 0 ? undefined : result.stderr.trim() || `mount exited ${result.status}`;
}

function unmount(dir: string): void {
  if (!mounted.delete(dir)) return;
  if (spawnSync('umount', [dir]).status !== 0) spawnSync('umount', ['-l', dir]);
}

// A test that dies half-way must not leave its mounts behind.
process.once('exit', () => {
  for (const dir of [...mounted]) unmount(dir);
});

let probed: string | null | undefined;

/** Why a small tmpfs cannot be mounted here, or undefined when it can (probed once). */
export function smallDiskUnavailableReason(): string | undefined {
  if (probed === undefined) {
    const dir = tempDir('meshca-disk-probe-');
    const failure = mount(dir, 1 << 20);
    if (failure === undefined) {
      mounted.add(dir);
      unmount(dir);
    }
    probed = failure === undefined ? null : `cannot mount a tmpfs (${failure}); run as root`;
  }
  return probed ?? undefined;
}

/**
 * Whether the full-disk tests run: true when a tmpfs can be mounted; in CI a failure throws, so
 * the run fails; elsewhere it warns and the caller skips.
 */
export function smallDiskAvailable(): boolean {
  const reason = smallDiskUnavailableReason();
  if (reason === undefined) return true;
  if (IN_CI) throw new Error(`the full-disk tests need a tmpfs in CI: ${reason}`);
  console.warn(`skipping the full-disk tests: ${reason}`);
  return false;
}

/** Mounts a tmpfs of `sizeBytes` (rounded up to pages) on a fresh temporary directory. */
export function mountSmallDisk(sizeBytes: number): SmallDisk {
  const path = tempDir('meshca-disk-');
  const failure = mount(path, sizeBytes);
  if (failure !== undefined) throw new Error(`cannot mount a tmpfs on ${path}: ${failure}`);
  mounted.add(path);
  const filler = join(path, FILLER);
  return {
    path,
    fill() {
      const fd = openSync(filler, 'a');
      try {
        for (const chunk of [Buffer.alloc(1 << 20), Buffer.alloc(4096), Buffer.alloc(1)]) {
          for (;;) {
            try {
              if (writeSync(fd, chunk) < chunk.length) break;
            } catch (error) {
              if ((error as NodeJS.ErrnoException).code === 'ENOSPC') break;
              throw error;
            }
          }
        }
      } finally {
        closeSync(fd);
      }
    },
    free() {
      rmSync(filler, { force: true });
    },
    available() {
      const stats = statfsSync(path);
      return stats.bavail * stats.bsize;
    },
    unmount() {
      unmount(path);
    },
  };
}

/** Unmounts every small disk still mounted; call from `afterAll`, before removing temp dirs. */
export function unmountSmallDisks(): void {
  for (const dir of [...mounted]) unmount(dir);
}

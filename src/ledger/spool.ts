/**
 * The spool: records waiting for the database, on local disk, so that they survive a restart. One
 * JSON line per record, appended and fsynced per batch; a crash mid-append leaves at most a torn
 * last line, which is skipped on load. Records dropped because the spool was full are marked with
 * a tombstone line, so that a restart does not bring them back.
 *
 * The file keeps written records until it is compacted (rewritten through a temporary file and a
 * rename) or emptied; replaying them is harmless, since the database ignores records it has.
 *
 * A full disk (ENOSPC, or EFBIG past a file-size limit) never leaves a torn line behind: an append
 * that cannot be written whole is cut back to where it started, and a compaction that cannot be
 * written removes its temporary file, so that the space it took is given back. The caller keeps
 * the records that could not be appended (see `backlog.ts`).
 *
 * @module
 */
import {
  closeSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readFileSync,
  writeSync,
} from 'node:fs';
import { mkdir, open, rename, rm, truncate } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { ChainedRecord } from './records.js';

/** Sequences of one chain, both ends included. */
export interface SequenceRange {
  readonly chainId: string;
  readonly from: number;
  readonly to: number;
}

interface Tombstone {
  readonly dropped: readonly SequenceRange[];
}

/** The spool file. Not shared between processes. */
export class Spool {
  readonly path: string;
  /** Lines in the file (records, written or not, and tombstones). */
  #lines = 0;

  constructor(path: string) {
    this.path = path;
  }

  /** Lines in the file, for compaction decisions. */
  get lines(): number {
    return this.#lines;
  }

  /** The records waiting in the file, in order, without those dropped. Sync: at start-up only. */
  load(): ChainedRecord[] {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ENOENT') return [];
      throw error;
    }
    const records: ChainedRecord[] = [];
    const dropped: SequenceRange[] = [];
    const lines = text.split('\n').filter((line) => line !== '');
    this.#lines = lines.length;
    for (const line of lines) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        // A torn last line from a crash in the middle of an append.
        continue;
      }
      if (typeof parsed !== 'object' || parsed === null) continue;
      if ('dropped' in parsed) dropped.push(...(parsed as Tombstone).dropped);
      else records.push(parsed as ChainedRecord);
    }
    const isDropped = (record: ChainedRecord): boolean =>
      dropped.some(
        (range) =>
          range.chainId === record.chainId &&
          record.sequence >= range.from &&
          record.sequence <= range.to,
      );
    const seen = new Set<string>();
    return records.filter((record) => {
      const key = `${record.chainId}/${record.sequence}`;
      if (seen.has(key) || isDropped(record)) return false;
      seen.add(key);
      return true;
    });
  }

  /** Appends `records` and waits until they are on disk. */
  async append(records: readonly ChainedRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.#appendLines(records.map((record) => JSON.stringify(record)));
  }

  /** Marks `ranges` as dropped (they must not come back after a restart). */
  async markDropped(ranges: readonly SequenceRange[]): Promise<void> {
    if (ranges.length === 0) return;
    await this.#appendLines([JSON.stringify({ dropped: ranges } satisfies Tombstone)]);
  }

  /**
   * {@link append}, synchronously: for records that arrive after the recorder closed (requests
   * still finishing during shutdown), when no loop is left to write them.
   */
  appendSync(records: readonly ChainedRecord[]): void {
    if (records.length === 0) return;
    const data = Buffer.from(records.map((record) => `${JSON.stringify(record)}\n`).join(''));
    const fd = openSync(this.path, 'a', 0o600);
    const start = fstatSync(fd).size;
    try {
      for (let offset = 0; offset < data.length;) {
        const written = writeSync(fd, data, offset);
        if (written === 0) throw shortWrite(this.path);
        offset += written;
      }
      fsyncSync(fd);
    } catch (error) {
      try {
        ftruncateSync(fd, start);
      } catch {
        // The append failed already; a torn line left behind is skipped on load.
      }
      throw error;
    } finally {
      closeSync(fd);
    }
    this.#lines += records.length;
  }

  /** Replaces the file's content with `records` (compaction), atomically. */
  async rewrite(records: readonly ChainedRecord[]): Promise<void> {
    if (records.length === 0) {
      await this.clear();
      return;
    }
    const temporary = `${this.path}.tmp`;
    try {
      const handle = await open(temporary, 'w', 0o600);
      try {
        await handle.writeFile(records.map((record) => `${JSON.stringify(record)}\n`).join(''));
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temporary, this.path);
    } catch (error) {
      // The old file is still whole; give back the space the partial copy took (a full disk).
      await rm(temporary, { force: true }).catch(() => undefined);
      throw error;
    }
    this.#lines = records.length;
  }

  /** Empties the file (everything in it reached the database). */
  async clear(): Promise<void> {
    if (this.#lines === 0) return;
    await truncate(this.path, 0).catch((error: unknown) => {
      if ((error as { code?: unknown }).code !== 'ENOENT') throw error;
    });
    this.#lines = 0;
  }

  /** Appends whole lines or nothing: a write that fails half-way is cut back (no torn line). */
  async #appendLines(lines: readonly string[]): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    const data = Buffer.from(lines.map((line) => `${line}\n`).join(''));
    const handle = await open(this.path, 'a', 0o600);
    const start = (await handle.stat()).size;
    try {
      for (let offset = 0; offset < data.length;) {
        // A short write is how a disk that fills up mid-way answers first; the next one fails.
        const { bytesWritten } = await handle.write(data, offset);
        if (bytesWritten === 0) throw shortWrite(this.path);
        offset += bytesWritten;
      }
      await handle.datasync();
    } catch (error) {
      await handle.truncate(start).catch(() => undefined);
      throw error;
    } finally {
      await handle.close();
    }
    this.#lines += lines.length;
  }
}

/** A write that made no progress, as ENOSPC (what the next attempt would report). */
function shortWrite(path: string): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(
    `ENOSPC: no space left on device, write '${path}'`,
  );
  error.code = 'ENOSPC';
  return error;
}

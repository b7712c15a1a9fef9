/**
 * One writer's chain: assigns sequence numbers and hashes as records are made (not when they
 * reach the database), so that a record keeps its place while it waits in the queue or the spool.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { recordHash, ZERO_HASH } from './canonical.js';
import type { ChainedRecord, RecordBody } from './records.js';

/** Where a chain stands: its id, its last sequence and that record's hash. */
export interface ChainHead {
  readonly chainId: string;
  readonly writer: string;
  /** 0 before the first record. */
  readonly sequence: number;
  readonly hash: string;
}

/** A new random chain id (128 bits, hex). */
export function newChainId(): string {
  return randomBytes(16).toString('hex');
}

/** Makes the records of one chain, in order. Not shared between processes. */
export class ChainWriter {
  readonly chainId: string;
  readonly writer: string;
  #sequence = 0;
  #hash = ZERO_HASH;

  /** @param writer A label for the chain's writer (a pod name, `pruner@pod`); not secret. */
  constructor(writer: string, chainId: string = newChainId()) {
    this.chainId = chainId;
    this.writer = writer;
  }

  /** The last record made. */
  head(): ChainHead {
    return {
      chainId: this.chainId,
      writer: this.writer,
      sequence: this.#sequence,
      hash: this.#hash,
    };
  }

  /**
   * The next record, without taking its place: {@link commit} it once it is stored, or drop it
   * (the next draft then takes the same place). For writers that store directly (the pruner).
   */
  draft(body: RecordBody, time: number, keepUntil: number | null): ChainedRecord {
    const unhashed = {
      chainId: this.chainId,
      sequence: this.#sequence + 1,
      writer: this.writer,
      time,
      keepUntil,
      body,
      prevHash: this.#hash,
    };
    return { ...unhashed, hash: recordHash(unhashed) };
  }

  /** Takes the place of a record made by {@link draft}. */
  commit(record: ChainedRecord): void {
    if (record.chainId !== this.chainId || record.sequence !== this.#sequence + 1) {
      throw new TypeError(`record ${record.chainId}/${record.sequence} is not this chain's next`);
    }
    this.#sequence = record.sequence;
    this.#hash = record.hash;
  }

  /** The next record, its place taken at once. */
  next(body: RecordBody, time: number, keepUntil: number | null): ChainedRecord {
    const record = this.draft(body, time, keepUntil);
    this.commit(record);
    return record;
  }
}

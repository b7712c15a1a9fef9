/**
 * Proofs of possession checked on worker threads: the key import and the signature check leave
 * the event loop, and so do the native key objects they create (their clean-up is part of the
 * worker's garbage collection, not of the pauses that stall every call in flight).
 *
 * Calls queue in one list; each idle thread takes a batch (a fair share of the queue, at most
 * {@link MAX_BATCH}), so that under load one message carries many checks: measured on 2 cores,
 * ~10 µs of event-loop time per check instead of ~110 µs, for the same total CPU.
 *
 * A thread that stops fails only the batch it held (UNAVAILABLE `ERR_CSR_VERIFIER_UNAVAILABLE`,
 * which the proxies retry) and is replaced.
 *
 * @module
 */
import { Worker } from 'node:worker_threads';
import { UnavailableError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Part, ReadinessCheck } from '../runtime/index.js';
import type { ProofJob, ProofOutcome, ProofVerifier } from './proof.js';

/** Checks one message carries at most. */
const MAX_BATCH = 64;

/** Outcome codes on the wire between the threads. */
const OUTCOMES: readonly ProofOutcome[] = ['valid', 'invalid-signature', 'unreadable-key'];

/**
 * The thread's program. It is evaluated from this string rather than loaded from a file so that
 * it runs the same from `dist/`, from the TypeScript sources under test and from a bundle. It
 * imports the key and verifies as `ThreadPoolProofVerifier` does, synchronously (the thread is
 * its own): codes index {@link OUTCOMES}.
 */
const WORKER_SOURCE = `
'use strict';
const { parentPort } = require('node:worker_threads');
const { createPublicKey, verify } = require('node:crypto');
parentPort.on('message', ({ bytes, jobs }) => {
  const outcomes = new Uint8Array(jobs.length);
  for (let i = 0; i < jobs.length; i++) {
    const job = jobs[i];
    let key;
    try {
      key = createPublicKey({ key: job.jwk, format: 'jwk' });
    } catch {
      outcomes[i] = 2;
      continue;
    }
    const info = new Uint8Array(bytes, job.info, job.infoLength);
    const signature = new Uint8Array(bytes, job.info + job.infoLength, job.signatureLength);
    try {
      outcomes[i] = verify(job.digest, info, key, signature) ? 0 : 1;
    } catch {
      outcomes[i] = 1;
    }
  }
  parentPort.postMessage(outcomes);
});
`;

interface Pending {
  readonly job: ProofJob;
  resolve(outcome: ProofOutcome): void;
  reject(error: Error): void;
}

interface Slot {
  readonly worker: Worker;
  /** Settles when the thread runs (or fails to start). */
  readonly online: Promise<void>;
  batch: readonly Pending[] | undefined;
}

/** Sizing of the pool. */
export interface ProofWorkerPoolOptions {
  /** Worker threads (at least 1). */
  readonly threads: number;
  /** The threads' program; tests replace it (with one that stops) to check recovery. */
  readonly program?: string;
}

/** A {@link ProofVerifier} on worker threads; a {@link Part} so that it stops with meshca. */
export class ProofWorkerPool implements ProofVerifier, Part {
  readonly name = 'csr-verification';
  readonly #threads: number;
  readonly #program: string;
  readonly #logger: Logger;
  readonly #slots = new Set<Slot>();
  #queue: Pending[] = [];
  #flushQueued = false;
  #closed = false;
  /** Threads that stopped unexpectedly since start, for the readiness details and tests. */
  #replaced = 0;

  constructor(options: ProofWorkerPoolOptions, logger: Logger) {
    if (!Number.isInteger(options.threads) || options.threads < 1) {
      throw new RangeError('a proof worker pool needs at least one thread');
    }
    this.#threads = options.threads;
    this.#program = options.program ?? WORKER_SOURCE;
    this.#logger = logger;
  }

  /** Threads replaced after stopping unexpectedly. */
  get replacedThreads(): number {
    return this.#replaced;
  }

  /** Starts the threads (if a check has not already) and waits until each runs. */
  async start(): Promise<void> {
    this.#fill();
    await Promise.all([...this.#slots].map((slot) => slot.online));
  }

  verify(job: ProofJob): Promise<ProofOutcome> {
    if (this.#closed) {
      return Promise.reject(
        new UnavailableError('ERR_CSR_VERIFIER_UNAVAILABLE', 'CSR verification is shutting down'),
      );
    }
    this.#fill();
    return new Promise((resolve, reject) => {
      this.#queue.push({ job, resolve, reject });
      if (!this.#flushQueued) {
        // Checks asked for in the same turn of the event loop (every call whose frames one
        // socket read brought) go out together, in one message per thread.
        this.#flushQueued = true;
        setImmediate(() => {
          this.#flushQueued = false;
          this.#flush();
        });
      }
    });
  }

  readiness(): readonly ReadinessCheck[] {
    return [
      {
        name: 'csr-verification',
        check: () => (this.#closed ? 'CSR verification threads stopped' : undefined),
      },
    ];
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const queued = this.#queue;
    this.#queue = [];
    const stopping = new UnavailableError(
      'ERR_CSR_VERIFIER_UNAVAILABLE',
      'CSR verification is shutting down',
    );
    for (const pending of queued) pending.reject(stopping);
    await Promise.all([...this.#slots].map((slot) => slot.worker.terminate()));
    this.#slots.clear();
  }

  /** Starts threads up to the configured number (at first use, and after one stopped). */
  #fill(): void {
    while (!this.#closed && this.#slots.size < this.#threads) this.#spawn();
  }

  #spawn(): void {
    const worker = new Worker(this.#program, { eval: true, name: 'meshca-csr-verification' });
    // An idle thread must not keep a process alive that has nothing else to do.
    worker.unref();
    const online = new Promise<void>((resolve, reject) => {
      worker.once('online', resolve);
      worker.once('error', reject);
    });
    // A thread that fails to start is reported by 'error' below, and replaced on 'exit'.
    online.catch(() => undefined);
    const slot: Slot = { worker, online, batch: undefined };
    this.#slots.add(slot);
    worker.on('message', (codes: Uint8Array) => {
      const batch = slot.batch ?? [];
      slot.batch = undefined;
      worker.unref();
      batch.forEach((pending, index) => {
        pending.resolve(OUTCOMES[codes[index] ?? 1] ?? 'invalid-signature');
      });
      this.#flush();
    });
    worker.on('error', (error) => {
      this.#logger.error({ err: error }, 'a CSR verification thread failed; replacing it');
    });
    worker.on('exit', (code) => {
      this.#slots.delete(slot);
      const lost = slot.batch ?? [];
      slot.batch = undefined;
      const failure = new UnavailableError(
        'ERR_CSR_VERIFIER_UNAVAILABLE',
        `a CSR verification thread stopped (exit code ${code}); retry`,
      );
      for (const pending of lost) pending.reject(failure);
      if (this.#closed) return;
      this.#replaced++;
      this.#fill();
      this.#flush();
    });
  }

  /** Hands each idle thread a fair share of the queue. */
  #flush(): void {
    const idle = [...this.#slots].filter((slot) => slot.batch === undefined);
    for (const [index, slot] of idle.entries()) {
      if (this.#queue.length === 0) return;
      const share = Math.min(MAX_BATCH, Math.ceil(this.#queue.length / (idle.length - index)));
      this.#send(slot, this.#queue.splice(0, share));
    }
  }

  #send(slot: Slot, batch: Pending[]): void {
    // One buffer for the whole batch, transferred rather than copied; the jobs' own buffers are
    // usually views of larger ones (the request body), which a copy would clone whole.
    let size = 0;
    for (const { job } of batch) size += job.infoDer.byteLength + job.signature.byteLength;
    const bytes = new ArrayBuffer(size);
    const view = new Uint8Array(bytes);
    let offset = 0;
    const jobs = batch.map(({ job }) => {
      const info = offset;
      view.set(job.infoDer, offset);
      offset += job.infoDer.byteLength;
      view.set(job.signature, offset);
      offset += job.signature.byteLength;
      return {
        info,
        infoLength: job.infoDer.byteLength,
        signatureLength: job.signature.byteLength,
        digest: job.digest,
        jwk: job.jwk,
      };
    });
    slot.batch = batch;
    slot.worker.ref();
    slot.worker.postMessage({ bytes, jobs }, [bytes]);
  }
}

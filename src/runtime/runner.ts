/**
 * Starts the parts of a running meshca in order, stops them in reverse, and answers readiness
 * from the parts' own checks. The composition root adds parts; it keeps no lists of its own.
 *
 * @module
 */
import { errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Part, ReadinessCheck } from './part.js';

/** The state of every readiness check, as `/readyz` reports it. */
export interface Readiness {
  /** True when every required check passes: this replica can issue certificates. */
  readonly ready: boolean;
  /** Each required check's name and `ok` or its reason. */
  readonly checks: Readonly<Record<string, string>>;
  /** Each informational check's name and `ok` or its reason; never affects {@link ready}. */
  readonly details: Readonly<Record<string, string>>;
}

/** Owns the start order, the stop order and readiness. */
export class PartRunner {
  readonly #parts: Part[] = [];
  readonly #started: Part[] = [];
  readonly #checks: ReadinessCheck[] = [];
  readonly #logger: Logger;
  /** One controller per started part: each part's signal has its own few listeners. */
  readonly #lifetimes: AbortController[] = [];
  #unlink: (() => void) | undefined;
  #closing: Promise<void> | undefined;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** Adds a part; parts start in the order they are added. Returns it, for wiring. */
  add<T extends Part>(part: T): T {
    this.#parts.push(part);
    return part;
  }

  /** Adds a readiness check that belongs to no part. */
  addCheck(check: ReadinessCheck): void {
    this.#checks.push(check);
  }

  /**
   * Starts every part not started yet, in order. When one fails, those already started are closed
   * in reverse order and the error is rethrown.
   *
   * Each part gets a signal of its own, aborted when `signal` aborts or the part is closed: one
   * listener on `signal` however many parts there are, so that a long-lived signal never
   * collects listeners (Node warns past ten).
   */
  async start(signal: AbortSignal): Promise<void> {
    if (this.#unlink === undefined) {
      const abortAll = (): void => {
        for (const lifetime of this.#lifetimes) lifetime.abort();
      };
      signal.addEventListener('abort', abortAll, { once: true });
      this.#unlink = () => {
        signal.removeEventListener('abort', abortAll);
      };
    }
    for (const part of this.#parts.slice(this.#started.length)) {
      const lifetime = new AbortController();
      this.#lifetimes.push(lifetime);
      if (signal.aborted) lifetime.abort();
      try {
        await part.start(lifetime.signal);
      } catch (error) {
        this.#logger.error({ part: part.name, err: errorMessage(error) }, 'part failed to start');
        // Close it too: it may have started loops before it failed.
        this.#started.push(part);
        await this.close();
        throw error;
      }
      this.#started.push(part);
      this.#logger.debug({ part: part.name }, 'part started');
    }
  }

  /** Closes every started part in reverse order, awaiting each. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#closeAll();
    return this.#closing;
  }

  async #closeAll(): Promise<void> {
    this.#unlink?.();
    const lifetimes = this.#lifetimes.splice(0);
    for (const [index, part] of [...this.#started.entries()].reverse()) {
      lifetimes[index]?.abort();
      try {
        await part.close();
        this.#logger.debug({ part: part.name }, 'part closed');
      } catch (error) {
        // close() must not throw; a part that does is logged and the others still close.
        this.#logger.error({ part: part.name, err: errorMessage(error) }, 'part failed to close');
      }
    }
    this.#started.length = 0;
  }

  /** Every readiness check of every part (started or not), then the free-standing ones. */
  checks(): ReadinessCheck[] {
    return [...this.#parts.flatMap((part) => part.readiness?.() ?? []), ...this.#checks];
  }

  /** Evaluates every check: ready when every required one passes. */
  readiness(): Readiness {
    const checks: Record<string, string> = {};
    const details: Record<string, string> = {};
    let ready = true;
    for (const condition of this.checks()) {
      let reason: string | undefined;
      try {
        reason = condition.check();
      } catch (error) {
        reason = `check failed: ${errorMessage(error)}`;
      }
      if (condition.severity === 'informational') {
        details[condition.name] = reason ?? 'ok';
      } else {
        checks[condition.name] = reason ?? 'ok';
        if (reason !== undefined) ready = false;
      }
    }
    return { ready, checks, details };
  }
}

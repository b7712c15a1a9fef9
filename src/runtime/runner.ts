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
  readonly ready: boolean;
  /** Each check's name and `ok` or its reason; informational ones are marked so. */
  readonly checks: Readonly<Record<string, string>>;
}

/** Owns the start order, the stop order and readiness. */
export class PartRunner {
  readonly #parts: Part[] = [];
  readonly #started: Part[] = [];
  readonly #checks: ReadinessCheck[] = [];
  readonly #logger: Logger;
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
   */
  async start(signal: AbortSignal): Promise<void> {
    for (const part of this.#parts.slice(this.#started.length)) {
      try {
        await part.start(signal);
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
    for (const part of this.#started.reverse()) {
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
    let ready = true;
    for (const condition of this.checks()) {
      let reason: string | undefined;
      try {
        reason = condition.check();
      } catch (error) {
        reason = `check failed: ${errorMessage(error)}`;
      }
      const informational = condition.severity === 'informational';
      if (reason !== undefined && !informational) ready = false;
      checks[condition.name] =
        reason === undefined ? 'ok' : informational ? `${reason} (informational)` : reason;
    }
    return { ready, checks };
  }
}

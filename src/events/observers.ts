/**
 * The fan-out from the issuance path to its observers, and the gates that may hold issuance back.
 *
 * @module
 */
import { errorMessage, type MeshCaError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { IssuanceEvent, IssuanceObserver } from './issuance-event.js';

/**
 * Calls every observer with each event, in order. An observer that throws is logged (once per
 * failure, with its name) and skipped: observing never blocks or fails a request.
 */
export class IssuanceObservers {
  readonly #observers: readonly IssuanceObserver[];
  readonly #logger: Logger;

  constructor(observers: readonly IssuanceObserver[], logger: Logger) {
    this.#observers = observers;
    this.#logger = logger;
  }

  /** Hands `event` (frozen here) to every observer. */
  notify(event: IssuanceEvent): void {
    Object.freeze(event);
    for (const observer of this.#observers) {
      try {
        observer.observe(event);
      } catch (error) {
        this.#logger.error(
          { observer: observer.name, requestId: event.requestId, err: errorMessage(error) },
          'issuance observer failed',
        );
      }
    }
  }
}

/**
 * A condition that must hold before anything is signed, checked synchronously and cheaply on
 * every request: for example, that the ledger can still record (its spool is not full while the
 * configured behaviour is `fail-closed`).
 */
export interface IssuanceGate {
  readonly name: string;
  /** Undefined when issuance may go on; else the error to answer with (usually UNAVAILABLE). */
  admit(): MeshCaError | undefined;
}

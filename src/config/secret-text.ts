/**
 * A secret held in the configuration (the ledger's PostgreSQL password, when it comes from the
 * environment): it reads as `[redacted]` in logs, JSON and `util.inspect`, so that printing the
 * configuration can never print it. Only {@link SecretText.reveal} gives the value.
 *
 * @module
 */
import { inspect } from 'node:util';

const REDACTED = '[redacted]';

/** A string that never prints itself. */
export class SecretText {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  /** The secret, for the one place that uses it. */
  reveal(): string {
    return this.#value;
  }

  toJSON(): string {
    return REDACTED;
  }

  toString(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}

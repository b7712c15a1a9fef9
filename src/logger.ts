/**
 * Structured logging with pino. One root logger is built in `cli/main.ts` and handed down; each
 * RPC gets a child with its request ID. Redaction is a second line of defence: code never puts
 * tokens or key material into log fields in the first place (STYLE.md, "never log tokens").
 *
 * @module
 */
import { pino, type Logger, type LevelWithSilent, type DestinationStream } from 'pino';

export type { Logger } from 'pino';

/** Log levels accepted in configuration. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Field names whose values must never reach a log sink even if a bug puts them there. */
const SECRET_FIELDS = ['token', 'authorization', 'privateKey', 'key', 'password'] as const;
const SECRET_FIELD_SET: ReadonlySet<string> = new Set(SECRET_FIELDS);
const CENSOR = '[redacted]';

/**
 * Redacts a secret field one level down (`{ headers: { authorization } }`); the top level is
 * pino's own `redact` (a lookup per key that is present). Pino 10 implements wildcard paths such
 * as `*.token` by cloning every logged value on every line, which was 16 % of everything a busy
 * meshca allocated (one request log line per certificate); this copies only what it censors.
 */
export function redactNestedSecrets(fields: Record<string, unknown>): Record<string, unknown> {
  let copy: Record<string, unknown> | undefined;
  for (const name of Object.keys(fields)) {
    const value = fields[name];
    if (value === null || typeof value !== 'object' || Array.isArray(value)) continue;
    if (!Object.keys(value).some((inner) => SECRET_FIELD_SET.has(inner))) continue;
    // Keep the prototype and the non-enumerable message and stack of an Error.
    const cleaned: Record<string, unknown> = Object.assign(
      Object.create(Object.getPrototypeOf(value) as object | null) as object,
      value,
      value instanceof Error ? { message: value.message, stack: value.stack } : {},
    );
    for (const secret of SECRET_FIELDS) if (secret in cleaned) cleaned[secret] = CENSOR;
    copy ??= { ...fields };
    copy[name] = cleaned;
  }
  return copy ?? fields;
}

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  readonly level: LevelWithSilent;
  /** Where lines go; stderr when absent, so stdout stays clean for command output. */
  readonly destination?: DestinationStream;
}

/** Builds the process's root logger. */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      name: 'meshca',
      level: options.level,
      redact: { paths: [...SECRET_FIELDS], censor: CENSOR },
      formatters: { log: redactNestedSecrets },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ?? pino.destination({ fd: 2, sync: false }),
  );
}

/** A logger that drops everything; for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

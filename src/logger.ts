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

/** Field paths that must never reach a log sink even if a bug puts them there. */
const REDACTED_PATHS = [
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'privateKey',
  '*.privateKey',
  'key',
  '*.key',
  'password',
  '*.password',
];

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
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
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

/**
 * What a command may touch of the process: its output streams, arguments, environment and
 * working directory. Injected so that commands are testable in-process.
 *
 * @module
 */

/** A sink for text. */
export interface TextSink {
  write(text: string): unknown;
  /** True on a terminal (process.stderr has it): progress is then drawn, not logged. */
  readonly isTTY?: boolean;
}

/** The process as a command sees it. */
export interface CommandIo {
  readonly stdout: TextSink;
  readonly stderr: TextSink;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
}

/** A command's failure that should print `message` and exit with `exitCode`. */
export class UsageError extends Error {
  readonly exitCode: number;

  constructor(message: string, exitCode = 2) {
    super(message);
    this.name = 'UsageError';
    this.exitCode = exitCode;
  }
}

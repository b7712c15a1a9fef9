/**
 * The `meshca` command line: dispatches to `serve`, `token`, `request`, `scan`, `policy` and
 * `version`, turns
 * failures into a message and an exit code, and owns process signals for `serve`.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { ConfigError, loadConfig } from '../config/index.js';
import { createLogger } from '../logger.js';
import { MAIN_USAGE, serveUsage } from './help.js';
import { UsageError, type CommandIo } from './io.js';
import { POLICY_USAGE, policyCommand } from './policy.js';
import { REQUEST_USAGE, requestCommand } from './request.js';
import { scanCommand } from './scan.js';
import { startServer } from './serve.js';
import { TOKEN_USAGE, tokenCommand } from './token.js';

/** The package version, from package.json. */
export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/**
 * Runs one command.
 *
 * @param stopSignal For `serve`: aborting it shuts the server down.
 * @returns the process exit code.
 */
export async function runCommand(
  argv: readonly string[],
  io: CommandIo,
  stopSignal: AbortSignal,
): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'serve':
        return await serveCommand(rest, io, stopSignal);
      case 'token':
        return await tokenCommand(rest, io);
      case 'request':
        return await requestCommand(rest, io);
      case 'scan':
        return await scanCommand(rest, io, stopSignal);
      case 'policy':
        return await policyCommand(rest, io);
      case 'version':
      case '--version':
        io.stdout.write(`meshca ${version()}\n`);
        return 0;
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.stdout.write(MAIN_USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`meshca: unknown command "${command}"\n\n${MAIN_USAGE}`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`${error.message}\n`);
      return error.exitCode;
    }
    if (error instanceof ConfigError) {
      io.stderr.write(`meshca: ${error.message}\n`);
      return 2;
    }
    const { code } = error as { code?: unknown };
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
      io.stderr.write(`meshca ${command ?? ''}: ${(error as Error).message}\n`);
      return 2;
    }
    io.stderr.write(`meshca ${command ?? ''}: ${(error as Error).message}\n`);
    return 1;
  }
}

async function serveCommand(
  argv: readonly string[],
  io: CommandIo,
  stopSignal: AbortSignal,
): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.stdout.write(serveUsage());
    return 0;
  }
  const { config, warnings } = await loadConfig({ argv, env: io.env, cwd: io.cwd });
  const logger = createLogger({ level: config.logLevel });
  for (const warning of warnings) logger.warn(warning);
  try {
    const server = await startServer(config, { logger });
    if (config.mode === 'development') {
      io.stderr.write(
        `\nmeshca is running in development mode (state in ${config.stateDir}).\n` +
          `Try:  npx meshca request --namespace default --service-account demo\n\n`,
      );
    }
    await new Promise<void>((resolve) => {
      if (stopSignal.aborted) resolve();
      else
        stopSignal.addEventListener(
          'abort',
          () => {
            resolve();
          },
          { once: true },
        );
    });
    logger.info('shutting down');
    await server.stop();
    return 0;
  } catch (error) {
    logger.fatal({ err: (error as Error).message }, 'meshca failed to start');
    throw error;
  } finally {
    logger.flush();
  }
}

/** Entry point of the `meshca` binary. */
export async function main(): Promise<void> {
  const controller = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      controller.abort();
    });
  }
  const code = await runCommand(
    process.argv.slice(2),
    { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() },
    controller.signal,
  );
  process.exitCode = code;
}

export { POLICY_USAGE, REQUEST_USAGE, TOKEN_USAGE };

/**
 * Starting meshca in-process for tests, on 127.0.0.1 with ephemeral ports.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { startServer, type RunningServer } from '../../src/cli/serve.js';
import { CaClient } from '../../src/client/index.js';
import { loadConfig } from '../../src/config/index.js';
import { issueDevToken } from '../../src/devmode/index.js';
import { systemClock } from '../../src/clock.js';
import type { Logger } from '../../src/logger.js';
import { captureLog } from './log-capture.js';
import { tempDir } from './tmp.js';

/**
 * A logger whose output is kept in memory, so tests can assert on what is (not) logged; every
 * line also goes to the run's secret scan (`log-capture.ts`).
 */
export function memoryLogger(): { readonly logger: Logger; readonly lines: () => string[] } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      const text = chunk.toString('utf8');
      chunks.push(text);
      captureLog(text);
      callback();
    },
  });
  const logger = pino({ level: 'debug' }, sink);
  return { logger, lines: () => chunks.join('').split('\n').filter(Boolean) };
}

/**
 * A logger whose lines go only to the run's secret scan: for long runs (the fuzz) whose logs
 * would otherwise pile up in memory.
 */
export function captureLogger(): Logger {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      captureLog(chunk.toString('utf8'));
      callback();
    },
  });
  return pino({ level: 'debug' }, sink);
}

/** A running development-mode meshca. */
export interface DevServer {
  readonly server: RunningServer;
  readonly stateDir: string;
  readonly address: string;
  readonly rootCertPem: string;
  readonly logs: () => string[];
  token(
    namespace: string,
    serviceAccount: string,
    options?: { audiences?: string[]; ttlSeconds?: number },
  ): Promise<string>;
  client(options?: { keepaliveMs?: number }): CaClient;
  stop(): Promise<void>;
}

/**
 * Starts `meshca serve` with extra flags: development mode when they configure nothing else.
 */
export async function startDevServer(extraArgs: readonly string[] = []): Promise<DevServer> {
  const stateDir = tempDir('meshca-state-');
  const { config } = await loadConfig({
    argv: [
      '--state-dir',
      stateDir,
      '--listen',
      '127.0.0.1:0',
      '--http-listen',
      '127.0.0.1:0',
      ...extraArgs,
    ],
    env: {},
    cwd: process.cwd(),
  });
  const { logger, lines } = memoryLogger();
  const server = await startServer(config, { logger, processMetrics: false });
  const address = `127.0.0.1:${server.grpcPort}`;
  const rootCertPem = server.authority.current().material.trustBundle.pem;
  const clients: CaClient[] = [];
  return {
    server,
    stateDir,
    address,
    rootCertPem,
    logs: lines,
    token: (namespace, serviceAccount, options = {}) =>
      issueDevToken(
        stateDir,
        {
          namespace,
          serviceAccount,
          audiences: options.audiences ?? ['istio-ca'],
          ttlSeconds: options.ttlSeconds ?? 600,
        },
        systemClock,
      ),
    client: (options = {}) => {
      const client = new CaClient({
        address: `localhost:${server.grpcPort}`,
        rootCertPem,
        ...(options.keepaliveMs === undefined ? {} : { keepaliveMs: options.keepaliveMs }),
      });
      clients.push(client);
      return client;
    },
    stop: async () => {
      for (const client of clients) client.close();
      await server.stop();
    },
  };
}

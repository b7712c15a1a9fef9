/** Shared pieces of the recorder tests. */
import { Registry } from 'prom-client';
import { FixedClock } from '../../src/clock.js';
import { createLogger, silentLogger, type Logger } from '../../src/logger.js';
import { LedgerMetrics } from '../../src/metrics/index.js';
import { LedgerRecorder, SqliteLedgerStore } from '../../src/ledger/index.js';
import type { LedgerRecorderOptions, LedgerStore } from '../../src/ledger/index.js';
import type { ChainedRecord, AppendResult } from '../../src/ledger/index.js';
import { T0 } from './fixtures.js';

/** A real SQLite store whose writes can be made to fail, as while a database is down. */
export class FlakySqliteStore extends SqliteLedgerStore {
  down = false;
  /** Writes never answer, as with a database that hangs. */
  hung = false;
  appends = 0;

  override open(): Promise<void> {
    return this.down ? Promise.reject(new Error('database down')) : super.open();
  }

  override append(records: readonly ChainedRecord[]): Promise<AppendResult> {
    this.appends++;
    if (this.hung) return new Promise(() => undefined);
    return this.down ? Promise.reject(new Error('database down')) : super.append(records);
  }
}

/** A logger whose JSON lines are kept. */
export function recordingLogger(): { logger: Logger; lines: () => Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    level: 'debug',
    destination: {
      write: (line: string) => {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      },
    },
  });
  return { logger, lines: () => lines };
}

/** The value of a metric (the first series, or the one with `labels`). */
export async function metric(registry: Registry, name: string): Promise<number> {
  const found = registry.getSingleMetric(name);
  if (found === undefined) throw new Error(`no metric ${name}`);
  const values = (await found.get()).values;
  return values[0]?.value ?? 0;
}

/** A recorder on `store` with its own registry. */
export function recorder(
  store: LedgerStore,
  options: Partial<LedgerRecorderOptions> & { readonly spoolPath: string },
  logger: Logger = silentLogger(),
): { recorder: LedgerRecorder; registry: Registry } {
  const registry = new Registry();
  return {
    registry,
    recorder: new LedgerRecorder(
      { writer: 'test-pod', flushIntervalMs: 20, retryInitialMs: 20, retryMaxMs: 100, ...options },
      {
        store,
        clock: new FixedClock(new Date(T0)),
        logger,
        metrics: new LedgerMetrics(registry),
      },
    ),
  };
}

/** Waits until `condition` holds (polling), or fails after `timeoutMs`. */
export async function eventually(
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * A separate process writing one SQLite ledger through a recorder, for the multi-process test:
 * `node --import tsx sqlite-writer.ts PATH WRITER COUNT`. Prints its chain head and its write
 * error count as JSON on stdout.
 */
import { join, dirname } from 'node:path';
import { Registry } from 'prom-client';
import { systemClock } from '../../../src/clock.js';
import { createLogger } from '../../../src/logger.js';
import { LedgerRecorder, SqliteLedgerStore } from '../../../src/ledger/index.js';
import { LedgerMetrics } from '../../../src/metrics/index.js';
import { event } from '../fixtures.js';

const [path, writer, countText] = process.argv.slice(2);
if (path === undefined || writer === undefined || countText === undefined) {
  throw new Error('usage: sqlite-writer PATH WRITER COUNT');
}
const registry = new Registry();
const logger = createLogger({ level: 'warn' });
const store = new SqliteLedgerStore({ path }, systemClock);
const recorder = new LedgerRecorder(
  {
    writer,
    spoolPath: join(dirname(path), `${writer}-spool.jsonl`),
    flushIntervalMs: 5,
    batchSize: 50,
  },
  { store, clock: systemClock, logger, metrics: new LedgerMetrics(registry) },
);
const controller = new AbortController();
await recorder.start(controller.signal);
for (let i = 0; i < Number(countText); i++) {
  recorder.observe(event({ serviceAccount: `${writer}-${i % 7}` }));
  if (i % 20 === 0) await new Promise((resolve) => setImmediate(resolve));
}
await recorder.flush(60_000);
const errors =
  (await registry.getSingleMetric('meshca_ledger_write_errors_total')?.get())?.values[0]?.value ??
  0;
const head = recorder.head();
await recorder.close();
controller.abort();
process.stdout.write(`${JSON.stringify({ head, errors })}\n`);

/**
 * The ledger section of `npm run bench`: what recording costs the issuance path (the synchronous
 * `observe`: map, chain, hash, queue) and how fast the background writer drains into SQLite.
 * The end-to-end comparison (issuance throughput with the ledger on and off) belongs to the storm.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { systemClock } from '../src/clock.js';
import type { IssuanceEvent } from '../src/events/index.js';
import { LedgerRecorder, SqliteLedgerStore } from '../src/ledger/index.js';
import { silentLogger } from '../src/logger.js';
import { LedgerMetrics } from '../src/metrics/index.js';

function issued(index: number): IssuanceEvent {
  const identity = {
    uri: `spiffe://cluster.local/ns/bench/sa/sa-${index % 500}`,
    trustDomain: 'cluster.local',
    namespace: 'bench',
    serviceAccount: `sa-${index % 500}`,
  };
  const now = systemClock.now();
  return {
    requestId: randomBytes(8).toString('hex'),
    time: now,
    durationMs: 1,
    outcome: 'issued',
    errorCode: undefined,
    errorMessage: undefined,
    errorCause: undefined,
    trustDomain: 'cluster.local',
    clusterId: 'bench',
    caller: {
      identity,
      method: 'token-review',
      podName: `pod-${index}`,
      podUid: `uid-${index}`,
      nodeName: 'node',
    },
    subject: identity,
    subjectPod: undefined,
    csrSha256: 'c'.repeat(64),
    key: { algorithm: 'EC', bits: 256, curve: 'P-256' },
    decision: { effect: 'allow', layer: 'server', rule: 'ttl', reason: undefined, audits: [] },
    certificate: {
      serialHex: randomBytes(16).toString('hex'),
      notBefore: now,
      notAfter: new Date(now.getTime() + 86_400_000),
      issuerFingerprint: 'a'.repeat(64),
      ttlAdjustment: 'none',
    },
  };
}

/** Runs the section, printing its figures with `out`. */
export async function ledgerBench(
  stateDir: string,
  count: number,
  out: (line?: string) => void,
): Promise<void> {
  out(`5. Ledger recorder (SQLite in the state directory), ${count} issuance events`);
  const store = new SqliteLedgerStore({ path: join(stateDir, 'bench-ledger.db') }, systemClock);
  const recorder = new LedgerRecorder(
    { writer: 'bench', spoolPath: join(stateDir, 'bench-spool.jsonl'), spoolMaxRecords: count * 2 },
    {
      store,
      clock: systemClock,
      logger: silentLogger(),
      metrics: new LedgerMetrics(new Registry()),
    },
  );
  const controller = new AbortController();
  await recorder.start(controller.signal);
  const events = Array.from({ length: count }, (_, i) => issued(i));
  const started = performance.now();
  for (const event of events) recorder.observe(event);
  const observeMs = performance.now() - started;
  await recorder.flush(300_000);
  const totalMs = performance.now() - started;
  await recorder.close();
  controller.abort();
  out(`   observe (on the issuance path)  ${((observeMs * 1000) / count).toFixed(1)} µs per event`);
  out(
    `   written to SQLite               ${Math.round((count * 1000) / totalMs)} records/s (batches of 200, WAL, synchronous=NORMAL)`,
  );
  out();
}

/**
 * Ledger contents at scale, for the console's speed test and the EXPLAIN checks: `count`
 * decisions spread over the day before `nowMs` (issuances in two clusters and two intermediates,
 * a refusal every 20th, an audit verdict every 25th, a retirement and a revocation now and then),
 * written through the store API as a recorder would, in batches of one transaction each.
 */
import type { LedgerStore } from '../../src/ledger/index.js';
import type { ChainedRecord } from '../../src/ledger/index.js';
import { ISSUER_A, ISSUER_B, serialOf, TestChain } from '../ledger/fixtures.js';

const NAMESPACES = ['shop', 'bank', 'payments', 'search', 'media', 'ads', 'auth', 'mail'];
const SERVICE_ACCOUNTS = ['api', 'web', 'worker', 'cart', 'db', 'cache'];

/** Writes `count` records over the 24 h before `nowMs`; returns how many are issuances. */
export async function seedLedgerAtScale(
  store: LedgerStore,
  nowMs: number,
  count: number,
): Promise<{ readonly issued: number }> {
  const chain = new TestChain('seed-east');
  const west = new TestChain('seed-west');
  const spanMs = 24 * 3_600_000;
  let batch: ChainedRecord[] = [];
  let issued = 0;
  for (let i = 0; i < count; i++) {
    const cluster = i % 3 === 0 ? 'west' : 'east';
    const writer = cluster === 'west' ? west : chain;
    const namespace = NAMESPACES[i % NAMESPACES.length] ?? 'shop';
    const serviceAccount = SERVICE_ACCOUNTS[(i >> 3) % SERVICE_ACCOUNTS.length] ?? 'api';
    const timeMs = nowMs - spanMs + Math.floor((i * spanMs) / count);
    const pod = { name: `${serviceAccount}-${i % 500}`, uid: `uid-${namespace}-${i % 500}` };
    const common = { cluster, namespace, serviceAccount, timeMs, pod };
    let record: ChainedRecord;
    if (i % 20 === 7) {
      record = writer.issuance({ ...common, outcome: 'denied', denyRule: `rule-${i % 3}` });
    } else {
      record = writer.issuance({
        ...common,
        issuer: i % 4 === 0 ? ISSUER_B : ISSUER_A,
        audits:
          i % 25 === 3
            ? [{ layer: 'local', rule: 'audit-only', effect: 'audit', reason: 'would deny' }]
            : [],
      });
      issued++;
      if (i % 50 === 11) {
        batch.push(record);
        record = writer.next(
          {
            type: i % 100 === 11 ? 'revoke' : 'retire',
            time: new Date(timeMs + 1).toISOString(),
            serials: [serialOf(record)],
            ...(i % 100 === 11
              ? { reason: 'keyCompromise', by: 'seed' }
              : { reason: 'pod-deleted', pod: null }),
          } as never,
          timeMs + 1,
        );
      }
    }
    batch.push(record);
    if (batch.length >= 1000) {
      await store.append(batch);
      batch = [];
    }
  }
  if (batch.length > 0) await store.append(batch);
  return { issued };
}

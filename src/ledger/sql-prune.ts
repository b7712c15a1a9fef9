/**
 * Retention, one small step at a time: expired certificates, old refusals and findings leave the
 * derived tables, and one chain loses a prefix of records that retention no longer keeps. The
 * prefix is announced by a chained prune record in the same transaction ("chain X pruned through
 * sequence N, whose hash was H"), so that the verifier knows where the chain legitimately starts.
 *
 * Only a prefix is ever removed: a chain with a hole in its middle would be indistinguishable
 * from one someone deleted from. Prune records (kept forever: `keep_until_ms` is NULL) stop a
 * prefix; that is why the pruner writes its own chain, never the recorder's.
 *
 * @module
 */
import type { GapFact, GapRecordBody, PruneFact } from './records.js';
import type { PruneRequest, PruneResult } from './store.js';
import { appendRecords } from './sql-append.js';
import type { SqlExecutor, SqlValue } from './sql-driver.js';
import { numberColumn, textColumn } from './sql-driver.js';

/** Derived rows retention removes, each as "key columns, table, condition". */
const DERIVED: readonly { readonly table: string; readonly key: string; readonly where: string }[] =
  [
    { table: 'ledger_certificates', key: 'issuer_fingerprint, serial', where: 'not_after_ms < ?' },
    { table: 'ledger_decisions', key: 'chain_id, sequence, idx', where: 'time_ms < ?' },
    { table: 'ledger_findings', key: 'chain_id, sequence', where: 'time_ms < ?' },
    { table: 'ledger_retired_pods', key: 'pod_uid', where: 'time_ms < ?' },
    {
      table: 'ledger_serial_status',
      key: 'serial',
      where:
        'time_ms < ? AND NOT EXISTS (SELECT 1 FROM ledger_certificates c WHERE c.serial = ledger_serial_status.serial)',
    },
  ];

/** One retention step (inside a transaction the caller opened and serialized). */
export async function pruneStep(tx: SqlExecutor, request: PruneRequest): Promise<PruneResult> {
  const { cutoff, limit } = request;
  let derivedRows = 0;
  for (const { table, key, where } of DERIVED) {
    const removed = await tx.query(
      `DELETE FROM ${table} WHERE (${key}) IN (SELECT ${key} FROM ${table} WHERE ${where} LIMIT ?)
       RETURNING 1 AS one`,
      [cutoff, limit],
    );
    derivedRows += removed.length;
  }

  // A chain whose first record retention no longer keeps.
  const candidates = await tx.query(
    `SELECT f.chain_id AS chain_id, f.first AS first FROM
       (SELECT chain_id, MIN(sequence) AS first FROM ledger_records GROUP BY chain_id) f
     JOIN ledger_records r ON r.chain_id = f.chain_id AND r.sequence = f.first
     WHERE r.keep_until_ms IS NOT NULL AND r.keep_until_ms < ?
     ORDER BY r.time_ms LIMIT 1`,
    [cutoff],
  );
  const candidate = candidates[0];
  if (candidate === undefined) return { records: 0, pruneRecord: undefined, derivedRows };
  const chainId = textColumn(candidate, 'chain_id');
  const first = numberColumn(candidate, 'first');

  // The prefix ends before the first record still kept, and after at most `limit` records.
  const blockers = await tx.query(
    `SELECT MIN(sequence) AS blocker FROM ledger_records
     WHERE chain_id = ? AND (keep_until_ms IS NULL OR keep_until_ms >= ?)`,
    [chainId, cutoff],
  );
  const blocker = blockers[0]?.['blocker'];
  const bound: SqlValue[] = [chainId, first + limit - 1];
  let condition = 'chain_id = ? AND sequence <= ?';
  if (blocker !== null && blocker !== undefined) {
    condition += ' AND sequence < ?';
    bound.push(Number(blocker));
  }
  const through = await tx.query(
    `SELECT sequence, hash FROM ledger_records WHERE ${condition} ORDER BY sequence DESC LIMIT 1`,
    bound,
  );
  const last = through[0];
  if (last === undefined) return { records: 0, pruneRecord: undefined, derivedRows };
  const pruned: PruneFact = {
    chainId,
    throughSequence: numberColumn(last, 'sequence'),
    throughHash: textColumn(last, 'hash'),
  };

  // Gap facts about other chains' holes must outlive the gap records that held them.
  const gapRows = await tx.query(
    `SELECT body FROM ledger_records WHERE chain_id = ? AND sequence <= ? AND kind = 'gap'`,
    [chainId, pruned.throughSequence],
  );
  const carriedGaps: GapFact[] = gapRows.flatMap((row) =>
    (JSON.parse(textColumn(row, 'body')) as GapRecordBody).gaps.filter(
      (gap) => gap.chainId !== chainId,
    ),
  );

  const removed = await tx.query(
    'DELETE FROM ledger_records WHERE chain_id = ? AND sequence <= ? RETURNING sequence',
    [chainId, pruned.throughSequence],
  );
  const pruneRecord = request.record(pruned, carriedGaps);
  if (pruneRecord.keepUntil !== null) {
    throw new TypeError('a prune record must be kept forever (keepUntil null)');
  }
  await appendRecords(tx, [pruneRecord]);
  return { records: removed.length, pruneRecord, derivedRows };
}

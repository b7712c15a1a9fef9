/**
 * Appending chained records and deriving, in the same transaction, the state queries need:
 * certificates and their status, refusals, findings. Shared by every SQL store. Each record is
 * inserted once (its key is its chain and sequence); the derived state is touched only when the
 * record is new, so a replayed batch changes nothing.
 *
 * @module
 */
import { canonicalBody, canonicalJson } from './canonical.js';
import type {
  ChainedRecord,
  FindingRecordBody,
  IssuanceRecordBody,
  RetireRecordBody,
  RevokeRecordBody,
} from './records.js';
import type { AppendResult } from './store.js';
import type { SqlExecutor, SqlValue } from './sql-driver.js';
import { optionalTextColumn } from './sql-driver.js';

/** Stores `records` (inside a transaction the caller opened). */
export async function appendRecords(
  tx: SqlExecutor,
  records: readonly ChainedRecord[],
): Promise<AppendResult> {
  let inserted = 0;
  for (const record of records) {
    const rows = await tx.query(
      `INSERT INTO ledger_records
         (chain_id, sequence, writer, kind, time_ms, keep_until_ms, body, prev_hash, hash)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (chain_id, sequence) DO NOTHING RETURNING sequence`,
      [
        record.chainId,
        record.sequence,
        record.writer,
        record.body.type,
        record.time,
        record.keepUntil,
        canonicalBody(record.body),
        record.prevHash,
        record.hash,
      ],
    );
    if (rows.length === 0) continue;
    inserted++;
    const body = record.body;
    switch (body.type) {
      case 'issuance':
        await deriveIssuance(tx, record, body);
        break;
      case 'retire':
        await deriveRetire(tx, body, Date.parse(body.time));
        break;
      case 'revoke':
        await deriveRevoke(tx, body, Date.parse(body.time));
        break;
      case 'finding':
        await deriveFinding(tx, record, body);
        break;
      case 'gap':
      case 'prune':
        // Read by the verifier from the records themselves.
        break;
    }
  }
  return { inserted, duplicates: records.length - inserted };
}

async function deriveIssuance(
  tx: SqlExecutor,
  record: ChainedRecord,
  body: IssuanceRecordBody,
): Promise<void> {
  const time = Date.parse(body.time);
  const common: SqlValue[] = [
    body.cluster,
    body.trustDomain,
    body.identity,
    body.namespace,
    body.serviceAccount,
  ];
  const certificate = body.certificate;
  if (certificate !== null) {
    const status = await initialStatus(tx, certificate.serial, body.pod?.uid ?? null, time);
    await tx.query(
      `INSERT INTO ledger_certificates
         (issuer_fingerprint, serial, cluster, trust_domain, identity, namespace, service_account,
          pod_name, pod_uid, node_name, caller, key_algorithm, key_bits, issued_at_ms,
          not_before_ms, not_after_ms, status, status_time_ms, status_reason, status_by,
          chain_id, sequence)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (issuer_fingerprint, serial) DO NOTHING`,
      [
        certificate.issuerFingerprint,
        certificate.serial,
        ...common,
        body.pod?.name ?? null,
        body.pod?.uid ?? null,
        body.pod?.node ?? null,
        body.caller,
        body.key?.algorithm ?? null,
        body.key?.bits ?? null,
        time,
        Date.parse(certificate.notBefore),
        Date.parse(certificate.notAfter),
        status.status,
        status.time,
        status.reason,
        status.by,
        record.chainId,
        record.sequence,
      ],
    );
  }
  // A refusal is one row; an issuance, one row per audit-mode "would deny" it met.
  const rows =
    body.outcome !== 'issued'
      ? [
          {
            audit: 0,
            layer: body.decision?.effect === 'deny' ? body.decision.layer : null,
            rule: body.decision?.effect === 'deny' ? body.decision.rule : null,
            reason: body.decision?.effect === 'deny' ? body.decision.reason : body.message,
          },
        ]
      : (body.decision?.audits ?? []).map((audit) => ({ audit: 1, ...audit }));
  for (const [idx, row] of rows.entries()) {
    await tx.query(
      `INSERT INTO ledger_decisions
         (chain_id, sequence, idx, time_ms, audit, outcome, error_code, layer, rule, reason,
          cluster, trust_domain, identity, namespace, service_account, pod_name, caller,
          issuer_fingerprint)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (chain_id, sequence, idx) DO NOTHING`,
      [
        record.chainId,
        record.sequence,
        idx,
        time,
        row.audit,
        body.outcome,
        body.errorCode,
        row.layer,
        row.rule,
        row.reason,
        ...common,
        body.pod?.name ?? null,
        body.caller,
        body.issuerFingerprint,
      ],
    );
  }
}

interface Status {
  readonly status: 'active' | 'retired' | 'revoked';
  readonly time: number | null;
  readonly reason: string | null;
  readonly by: string | null;
}

/**
 * The status of a certificate whose record arrives after its retirement or revocation (another
 * replica's spool, or a revocation by serial recorded before the issuance reached the database).
 */
async function initialStatus(
  tx: SqlExecutor,
  serial: string,
  podUid: string | null,
  issuedAt: number,
): Promise<Status> {
  // One statement for both (this runs for every issuance): a status by serial wins over a
  // retirement by pod.
  const rows = await tx.query(
    `SELECT 1 AS rank, status, time_ms, reason, status_by FROM ledger_serial_status
       WHERE serial = ?
     UNION ALL
     SELECT 2 AS rank, 'retired' AS status, time_ms, reason, NULL AS status_by
       FROM ledger_retired_pods WHERE pod_uid = ? AND time_ms >= ?
     ORDER BY rank LIMIT 1`,
    [serial, podUid, issuedAt],
  );
  const row = rows[0];
  if (row !== undefined) {
    return {
      status: row['status'] === 'revoked' ? 'revoked' : 'retired',
      time: Number(row['time_ms']),
      reason: optionalTextColumn(row, 'reason'),
      by: optionalTextColumn(row, 'status_by'),
    };
  }
  return { status: 'active', time: null, reason: null, by: null };
}

async function deriveRetire(tx: SqlExecutor, body: RetireRecordBody, time: number): Promise<void> {
  for (const serial of body.serials) {
    await tx.query(
      `UPDATE ledger_certificates SET status = 'retired', status_time_ms = ?, status_reason = ?
       WHERE serial = ? AND status = 'active'`,
      [time, body.reason, serial],
    );
    // A revocation wins over a retirement, and the first retirement stays.
    await tx.query(
      `INSERT INTO ledger_serial_status (serial, status, time_ms, reason, status_by)
       VALUES (?, 'retired', ?, ?, NULL) ON CONFLICT (serial) DO NOTHING`,
      [serial, time, body.reason],
    );
  }
  const pod = body.pod;
  if (pod !== null) {
    await tx.query(
      `INSERT INTO ledger_retired_pods (pod_uid, namespace, name, time_ms, reason)
       VALUES (?, ?, ?, ?, ?) ON CONFLICT (pod_uid) DO NOTHING`,
      [pod.uid, pod.namespace, pod.name, time, body.reason],
    );
    await tx.query(
      `UPDATE ledger_certificates SET status = 'retired', status_time_ms = ?, status_reason = ?
       WHERE pod_uid = ? AND issued_at_ms <= ? AND status = 'active'`,
      [time, body.reason, pod.uid, time],
    );
  }
}

async function deriveRevoke(tx: SqlExecutor, body: RevokeRecordBody, time: number): Promise<void> {
  for (const serial of body.serials) {
    await tx.query(
      `UPDATE ledger_certificates
       SET status = 'revoked', status_time_ms = ?, status_reason = ?, status_by = ?
       WHERE serial = ? AND status <> 'revoked'`,
      [time, body.reason, body.by, serial],
    );
    await tx.query(
      `INSERT INTO ledger_serial_status (serial, status, time_ms, reason, status_by)
       VALUES (?, 'revoked', ?, ?, ?)
       ON CONFLICT (serial) DO UPDATE SET status = 'revoked', time_ms = excluded.time_ms,
         reason = excluded.reason, status_by = excluded.status_by
       WHERE ledger_serial_status.status <> 'revoked'`,
      [serial, time, body.reason, body.by],
    );
  }
}

async function deriveFinding(
  tx: SqlExecutor,
  record: ChainedRecord,
  body: FindingRecordBody,
): Promise<void> {
  await tx.query(
    `INSERT INTO ledger_findings
       (chain_id, sequence, time_ms, cluster, kind, severity, object, fingerprint, detail,
        allowlisted)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (chain_id, sequence) DO NOTHING`,
    [
      record.chainId,
      record.sequence,
      Date.parse(body.time),
      body.cluster,
      body.kind,
      body.severity,
      body.object,
      body.fingerprint,
      canonicalJson(body.detail),
      isAllowlisted(body.detail) ? 1 : 0,
    ],
  );
}

/** True when discovery recorded the rule of an allowlist that covers the finding. */
function isAllowlisted(detail: FindingRecordBody['detail']): boolean {
  return (
    typeof detail === 'object' &&
    detail !== null &&
    !Array.isArray(detail) &&
    typeof (detail as Readonly<Record<string, unknown>>)['allowlisted'] === 'object' &&
    (detail as Readonly<Record<string, unknown>>)['allowlisted'] !== null
  );
}

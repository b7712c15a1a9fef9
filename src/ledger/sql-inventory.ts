/**
 * The inventory views in SQL, shared by every SQL store. Pages are keyset-paginated on a unique,
 * non-null sort key, so that a cursor stays valid (no row skipped or repeated) while new records
 * arrive; the cursor is that key, opaque to callers.
 *
 * @module
 */
import type {
  CertificateView,
  DenialView,
  FindingView,
  InventoryFilter,
  IssuerView,
  Page,
  PageRequest,
  RevocationView,
  WorkloadView,
} from './store.js';
import type { JsonValue } from './records.js';
import type { SqlExecutor, SqlRow } from './sql-driver.js';
import {
  decodeCursor,
  encodeCursor,
  iso,
  optionalIso,
  paged,
  pageSize,
  Where,
} from './sql-paging.js';
import {
  numberColumn,
  optionalNumberColumn,
  optionalTextColumn,
  textColumn,
} from './sql-driver.js';

/** The columns of a certificate view. */
export const CERTIFICATE_COLUMNS =
  'issuer_fingerprint, serial, cluster, trust_domain, identity, namespace, service_account, ' +
  'pod_name, pod_uid, node_name, caller, key_algorithm, key_bits, issued_at_ms, not_before_ms, ' +
  'not_after_ms, status, status_time_ms, status_reason, status_by';

/** A `ledger_certificates` row as the inventory shows it. */
export function certificateView(row: SqlRow): CertificateView {
  const status = textColumn(row, 'status');
  return {
    serial: textColumn(row, 'serial'),
    issuerFingerprint: textColumn(row, 'issuer_fingerprint'),
    identity: textColumn(row, 'identity'),
    trustDomain: textColumn(row, 'trust_domain'),
    namespace: textColumn(row, 'namespace'),
    serviceAccount: textColumn(row, 'service_account'),
    cluster: optionalTextColumn(row, 'cluster'),
    podName: optionalTextColumn(row, 'pod_name'),
    podUid: optionalTextColumn(row, 'pod_uid'),
    nodeName: optionalTextColumn(row, 'node_name'),
    caller: optionalTextColumn(row, 'caller'),
    keyAlgorithm: optionalTextColumn(row, 'key_algorithm'),
    keyBits: optionalNumberColumn(row, 'key_bits'),
    issuedAt: iso(numberColumn(row, 'issued_at_ms')),
    notBefore: iso(numberColumn(row, 'not_before_ms')),
    notAfter: iso(numberColumn(row, 'not_after_ms')),
    status: status === 'retired' || status === 'revoked' ? status : 'active',
    statusTime: optionalIso(optionalNumberColumn(row, 'status_time_ms')),
    statusReason: optionalTextColumn(row, 'status_reason'),
    statusBy: optionalTextColumn(row, 'status_by'),
  };
}

/** See `InventoryQuery.identities`. */
export function identities(
  db: SqlExecutor,
  now: Date,
  filter?: InventoryFilter,
  page?: PageRequest,
): Promise<Page<CertificateView>> {
  const where = new Where().add("status = 'active'").add('not_after_ms > ?', now.getTime());
  const order = ['namespace', 'identity', 'serial', 'issuer_fingerprint'];
  return paged(
    db,
    `SELECT ${CERTIFICATE_COLUMNS} FROM ledger_certificates`,
    where.filter(filter),
    order,
    page,
    certificateView,
    (row) => order.map((column) => textColumn(row, column)),
  );
}

/** See `InventoryQuery.expiring`. */
export function expiring(
  db: SqlExecutor,
  now: Date,
  withinMs: number,
  filter?: InventoryFilter,
  page?: PageRequest,
): Promise<Page<CertificateView>> {
  const where = new Where()
    .add("status = 'active'")
    .add('not_after_ms > ?', now.getTime())
    .add('not_after_ms <= ?', now.getTime() + withinMs);
  return paged(
    db,
    `SELECT ${CERTIFICATE_COLUMNS} FROM ledger_certificates`,
    where.filter(filter),
    ['not_after_ms', 'serial', 'issuer_fingerprint'],
    page,
    certificateView,
    (row) => [
      numberColumn(row, 'not_after_ms'),
      textColumn(row, 'serial'),
      textColumn(row, 'issuer_fingerprint'),
    ],
  );
}

/** See `InventoryQuery.denials`. */
export function denials(
  db: SqlExecutor,
  since: Date,
  filter?: InventoryFilter,
  page?: PageRequest,
): Promise<Page<DenialView>> {
  return paged(
    db,
    `SELECT chain_id, sequence, idx, time_ms, audit, outcome, error_code, layer, rule, reason,
       cluster, identity, namespace, service_account, pod_name, caller, issuer_fingerprint
     FROM ledger_decisions`,
    new Where().add('time_ms >= ?', since.getTime()).filter(filter),
    ['time_ms', 'chain_id', 'sequence', 'idx'],
    page,
    (row) => ({
      time: iso(numberColumn(row, 'time_ms')),
      audit: numberColumn(row, 'audit') === 1,
      outcome: textColumn(row, 'outcome'),
      errorCode: optionalTextColumn(row, 'error_code'),
      layer: optionalTextColumn(row, 'layer'),
      rule: optionalTextColumn(row, 'rule'),
      reason: optionalTextColumn(row, 'reason'),
      identity: textColumn(row, 'identity'),
      namespace: textColumn(row, 'namespace'),
      serviceAccount: textColumn(row, 'service_account'),
      cluster: optionalTextColumn(row, 'cluster'),
      podName: optionalTextColumn(row, 'pod_name'),
      caller: optionalTextColumn(row, 'caller'),
      issuerFingerprint: optionalTextColumn(row, 'issuer_fingerprint'),
    }),
    (row) => [
      numberColumn(row, 'time_ms'),
      textColumn(row, 'chain_id'),
      numberColumn(row, 'sequence'),
      numberColumn(row, 'idx'),
    ],
  );
}

/** See `InventoryQuery.issuers`: over what retention keeps. */
export async function issuers(
  db: SqlExecutor,
  now: Date,
  filter?: InventoryFilter,
  page?: PageRequest,
): Promise<Page<IssuerView>> {
  const issued = new Where().filter(filter);
  const issuedRows = await db.query(
    `SELECT issuer_fingerprint, COUNT(*) AS issued,
       SUM(CASE WHEN status = 'active' AND not_after_ms > ? THEN 1 ELSE 0 END) AS active,
       MIN(issued_at_ms) AS first_ms, MAX(issued_at_ms) AS last_ms
     FROM ledger_certificates ${issued.toString()} GROUP BY issuer_fingerprint`,
    [now.getTime(), ...issued.params],
  );
  const denied = new Where().add('audit = 0').add('issuer_fingerprint IS NOT NULL').filter(filter);
  const deniedRows = await db.query(
    `SELECT issuer_fingerprint, COUNT(*) AS denied, MIN(time_ms) AS first_ms,
       MAX(time_ms) AS last_ms
     FROM ledger_decisions ${denied.toString()} GROUP BY issuer_fingerprint`,
    denied.params,
  );
  const stats = new Map<
    string,
    { issued: number; denied: number; active: number; first: number | null; last: number | null }
  >();
  const merge = (row: SqlRow, issuedCount: number, deniedCount: number, active: number): void => {
    const fingerprint = textColumn(row, 'issuer_fingerprint');
    const first = numberColumn(row, 'first_ms');
    const last = numberColumn(row, 'last_ms');
    const entry = stats.get(fingerprint) ?? {
      issued: 0,
      denied: 0,
      active: 0,
      first: null,
      last: null,
    };
    entry.issued += issuedCount;
    entry.denied += deniedCount;
    entry.active += active;
    entry.first = entry.first === null ? first : Math.min(entry.first, first);
    entry.last = entry.last === null ? last : Math.max(entry.last, last);
    stats.set(fingerprint, entry);
  };
  for (const row of issuedRows) {
    merge(row, numberColumn(row, 'issued'), 0, numberColumn(row, 'active'));
  }
  for (const row of deniedRows) merge(row, 0, numberColumn(row, 'denied'), 0);
  const after = page?.cursor === undefined ? undefined : decodeCursor(page.cursor, 1)[0];
  const limit = pageSize(page);
  const all = [...stats.entries()]
    .filter(([fingerprint]) => after === undefined || fingerprint > String(after))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const items = all.slice(0, limit).map(([fingerprint, entry]) => ({
    issuerFingerprint: fingerprint,
    issued: entry.issued,
    denied: entry.denied,
    active: entry.active,
    firstUse: optionalIso(entry.first),
    lastUse: optionalIso(entry.last),
  }));
  const last = items[items.length - 1];
  return all.length > limit && last !== undefined
    ? { items, nextCursor: encodeCursor([last.issuerFingerprint]) }
    : { items };
}

/** See `InventoryQuery.workloads`. */
export async function workloads(
  db: SqlExecutor,
  filter?: InventoryFilter,
  page?: PageRequest,
): Promise<Page<WorkloadView>> {
  const pods = await paged(
    db,
    `SELECT namespace, pod_name, pod_uid, MIN(cluster) AS cluster, MIN(node_name) AS node_name
     FROM ledger_certificates`,
    new Where().add('pod_uid IS NOT NULL').add('pod_name IS NOT NULL').filter(filter),
    ['namespace', 'pod_name', 'pod_uid'],
    page,
    (row) => ({
      cluster: optionalTextColumn(row, 'cluster'),
      namespace: textColumn(row, 'namespace'),
      podName: textColumn(row, 'pod_name'),
      podUid: textColumn(row, 'pod_uid'),
      nodeName: optionalTextColumn(row, 'node_name'),
    }),
    (row) => [
      textColumn(row, 'namespace'),
      textColumn(row, 'pod_name'),
      textColumn(row, 'pod_uid'),
    ],
    'GROUP BY namespace, pod_name, pod_uid',
  );
  if (pods.items.length === 0) return { items: [] };
  const uids = pods.items.map((pod) => pod.podUid);
  const rows = await db.query(
    `SELECT ${CERTIFICATE_COLUMNS} FROM ledger_certificates
     WHERE pod_uid IN (${uids.map(() => '?').join(', ')}) ORDER BY issued_at_ms, serial`,
    uids,
  );
  const byPod = new Map<string, CertificateView[]>();
  for (const row of rows) {
    const uid = textColumn(row, 'pod_uid');
    const list = byPod.get(uid) ?? [];
    list.push(certificateView(row));
    byPod.set(uid, list);
  }
  const items = pods.items.map((pod) => ({ ...pod, certificates: byPod.get(pod.podUid) ?? [] }));
  return pods.nextCursor === undefined ? { items } : { items, nextCursor: pods.nextCursor };
}

/** See `InventoryQuery.findings`: filtered by cluster only (findings have no identity). */
export function findings(
  db: SqlExecutor,
  since: Date,
  filter?: InventoryFilter,
  page?: PageRequest,
): Promise<Page<FindingView>> {
  const where = new Where().add('time_ms >= ?', since.getTime());
  if (filter?.cluster !== undefined) where.add('cluster = ?', filter.cluster);
  return paged(
    db,
    `SELECT chain_id, sequence, time_ms, cluster, kind, severity, object, fingerprint, detail
     FROM ledger_findings`,
    where,
    ['time_ms', 'chain_id', 'sequence'],
    page,
    (row) => ({
      time: iso(numberColumn(row, 'time_ms')),
      cluster: optionalTextColumn(row, 'cluster'),
      kind: textColumn(row, 'kind'),
      severity: textColumn(row, 'severity'),
      object: textColumn(row, 'object'),
      fingerprint: optionalTextColumn(row, 'fingerprint'),
      detail: JSON.parse(textColumn(row, 'detail')) as JsonValue,
    }),
    (row) => [
      numberColumn(row, 'time_ms'),
      textColumn(row, 'chain_id'),
      numberColumn(row, 'sequence'),
    ],
  );
}

/** See `InventoryQuery.revocations`. */
export function revocations(
  db: SqlExecutor,
  now: Date,
  issuer: string,
  page?: PageRequest,
): Promise<Page<RevocationView>> {
  return paged(
    db,
    'SELECT serial, issuer_fingerprint, status, status_time_ms, status_reason, not_after_ms FROM ledger_certificates',
    new Where()
      .add("status IN ('retired', 'revoked')")
      .add('issuer_fingerprint = ?', issuer.toLowerCase())
      .add('not_after_ms > ?', now.getTime()),
    ['serial'],
    page,
    (row) => {
      const status = textColumn(row, 'status') === 'revoked' ? 'revoked' : 'retired';
      return {
        serial: textColumn(row, 'serial'),
        issuerFingerprint: textColumn(row, 'issuer_fingerprint'),
        status,
        revokedAt: iso(numberColumn(row, 'status_time_ms')),
        // RFC 5280 §5.3.1: a workload that is gone has ceased operation.
        reason:
          status === 'revoked'
            ? (optionalTextColumn(row, 'status_reason') ?? 'unspecified')
            : 'cessationOfOperation',
        notAfter: iso(numberColumn(row, 'not_after_ms')),
      } satisfies RevocationView;
    },
    (row) => [textColumn(row, 'serial')],
  );
}

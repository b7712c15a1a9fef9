/**
 * The aggregate views in SQL (the console's overview and denials by rule, and the list of every
 * certificate), shared by every SQL store. Each reads a bounded range of an index: the overview
 * scans the window's rows of `issued_at_ms` and `time_ms` and the unexpired rows of
 * `not_after_ms` (schema 3 makes those indexes cover the columns read, so neither database visits
 * the tables), never the whole ledger. Sums are made in the database; what comes back is a few
 * rows per cluster, intermediate and bucket.
 *
 * @module
 */
import type {
  CertificateQuery,
  CertificateView,
  DenialRuleView,
  InventoryFilter,
  LedgerOverview,
  OverviewTotals,
  Page,
  PageRequest,
} from './store.js';
import type { SqlExecutor, SqlRow, SqlValue } from './sql-driver.js';
import { numberColumn, optionalTextColumn, textColumn } from './sql-driver.js';
import { CERTIFICATE_COLUMNS, certificateView } from './sql-inventory.js';
import { iso, paged, Where } from './sql-paging.js';

/** Buckets of the overview's timeline. */
export const OVERVIEW_BUCKETS = 48;

/** Groups of the denial-rules view at most. */
const MAX_DENIAL_RULES = 1000;

/** Severities most severe first (discovery's scale); others after, by name. */
const SEVERITY_ORDER = ['critical', 'high', 'medium', 'low', 'info'];

/** See `InventoryQuery.certificates`. */
export function certificates(
  db: SqlExecutor,
  now: Date,
  filter?: InventoryFilter,
  query?: CertificateQuery,
  page?: PageRequest,
): Promise<Page<CertificateView>> {
  const where = new Where().filter(filter);
  switch (query?.state) {
    case undefined:
      break;
    case 'active':
      where.add("status = 'active'").add('not_after_ms > ?', now.getTime());
      break;
    case 'expired':
      where.add("status = 'active'").add('not_after_ms <= ?', now.getTime());
      break;
    case 'retired':
    case 'revoked':
      where.add('status = ?', query.state);
      break;
  }
  const search = query?.search?.trim().toLowerCase();
  if (search !== undefined && search !== '') {
    // `!` escapes LIKE's wildcards: both databases take an ESCAPE clause (SQLite has no default).
    const pattern = `%${search.replace(/[!%_]/g, (c) => `!${c}`)}%`;
    where.add(
      `(LOWER(identity) LIKE ? ESCAPE '!' OR LOWER(COALESCE(pod_name, '')) LIKE ? ESCAPE '!'
        OR LOWER(COALESCE(node_name, '')) LIKE ? ESCAPE '!' OR serial LIKE ? ESCAPE '!')`,
      pattern,
      pattern,
      pattern,
      pattern,
    );
  }
  const order = ['namespace', 'identity', 'issued_at_ms', 'serial', 'issuer_fingerprint'];
  return paged(
    db,
    `SELECT ${CERTIFICATE_COLUMNS} FROM ledger_certificates`,
    where,
    order,
    page,
    certificateView,
    (row) => [
      textColumn(row, 'namespace'),
      textColumn(row, 'identity'),
      numberColumn(row, 'issued_at_ms'),
      textColumn(row, 'serial'),
      textColumn(row, 'issuer_fingerprint'),
    ],
  );
}

/** Totals being summed. */
type MutableTotals = { -readonly [K in keyof OverviewTotals]: OverviewTotals[K] };

function zero(): MutableTotals {
  return { issued: 0, denied: 0, audit: 0, active: 0, retired: 0, revoked: 0 };
}

/** One statement with its parameters. */
export interface SqlStatement {
  readonly sql: string;
  readonly params: readonly SqlValue[];
}

/** The overview's window: aligned buckets of whole minutes covering `since`..`now`. */
export interface OverviewWindow {
  readonly startMs: number;
  readonly endMs: number;
  readonly bucketMs: number;
  readonly buckets: number;
}

/** The window of an overview read at `now` since `since`. */
export function overviewWindow(now: Date, since: Date): OverviewWindow {
  const nowMs = now.getTime();
  const spanMs = Math.max(nowMs - since.getTime(), 60_000);
  // Whole minutes, aligned on multiples of the bucket size, so that two reads agree.
  const bucketMs = Math.ceil(spanMs / OVERVIEW_BUCKETS / 60_000) * 60_000;
  const startMs = Math.floor((nowMs - spanMs) / bucketMs) * bucketMs;
  const buckets = Math.floor((nowMs - startMs) / bucketMs) + 1;
  return { startMs, endMs: startMs + buckets * bucketMs, bucketMs, buckets };
}

/**
 * The overview's four statements: issued per bucket, decisions per bucket (each by cluster and
 * intermediate), certificates unexpired at `now` by status, and distinct findings by severity.
 * Exported so that the tests can EXPLAIN exactly what runs.
 */
export function overviewStatements(
  window: OverviewWindow,
  now: Date,
  findingsSince: Date,
  filter?: InventoryFilter,
): { issued: SqlStatement; decided: SqlStatement; live: SqlStatement; findings: SqlStatement } {
  const { startMs, endMs, bucketMs } = window;
  // The bucket is cast: SQLite binds JavaScript numbers as REAL, and would divide exactly.
  const issued = new Where()
    .add('issued_at_ms >= ?', startMs)
    .add('issued_at_ms < ?', endMs)
    .filter(filter);
  const decided = new Where().add('time_ms >= ?', startMs).add('time_ms < ?', endMs).filter(filter);
  const live = new Where().add('not_after_ms > ?', now.getTime()).filter(filter);
  const findings = new Where().add('time_ms >= ?', findingsSince.getTime()).add('allowlisted = 0');
  if (filter?.cluster !== undefined) findings.add('cluster = ?', filter.cluster);
  return {
    issued: {
      sql: `SELECT cluster, issuer_fingerprint,
              CAST((issued_at_ms - ?) / ? AS INTEGER) AS bucket, COUNT(*) AS n
            FROM ledger_certificates ${issued.toString()}
            GROUP BY cluster, issuer_fingerprint, bucket`,
      params: [startMs, bucketMs, ...issued.params],
    },
    decided: {
      sql: `SELECT cluster, issuer_fingerprint, audit,
              CAST((time_ms - ?) / ? AS INTEGER) AS bucket, COUNT(*) AS n
            FROM ledger_decisions ${decided.toString()}
            GROUP BY cluster, issuer_fingerprint, audit, bucket`,
      params: [startMs, bucketMs, ...decided.params],
    },
    live: {
      sql: `SELECT cluster, issuer_fingerprint, status, COUNT(*) AS n
            FROM ledger_certificates ${live.toString()}
            GROUP BY cluster, issuer_fingerprint, status`,
      params: live.params,
    },
    findings: {
      sql: `SELECT severity, COUNT(*) AS n FROM (
              SELECT DISTINCT kind, object, fingerprint, severity
              FROM ledger_findings ${findings.toString()}) AS distinct_findings
            GROUP BY severity`,
      params: findings.params,
    },
  };
}

/** See `InventoryQuery.overview`. */
export async function overview(
  db: SqlExecutor,
  now: Date,
  since: Date,
  findingsSince: Date,
  filter?: InventoryFilter,
): Promise<LedgerOverview> {
  const window = overviewWindow(now, since);
  const { startMs, bucketMs, buckets } = window;
  const statements = overviewStatements(window, now, findingsSince, filter);
  const issuedRows = await db.query(statements.issued.sql, statements.issued.params);
  const decidedRows = await db.query(statements.decided.sql, statements.decided.params);
  const liveRows = await db.query(statements.live.sql, statements.live.params);
  const findingRows = await db.query(statements.findings.sql, statements.findings.params);

  const timeline = Array.from({ length: buckets }, (_, index) => ({
    start: iso(startMs + index * bucketMs),
    issued: 0,
    denied: 0,
    audit: 0,
  }));
  const totals = zero();
  const clusters = new Map<string | null, MutableTotals>();
  const issuers = new Map<string, MutableTotals>();
  const add = (row: SqlRow, key: keyof OverviewTotals, n: number): void => {
    totals[key] += n;
    const cluster = optionalTextColumn(row, 'cluster');
    const byCluster = clusters.get(cluster) ?? zero();
    byCluster[key] += n;
    clusters.set(cluster, byCluster);
    const issuer = optionalTextColumn(row, 'issuer_fingerprint');
    if (issuer === null) return;
    const byIssuer = issuers.get(issuer) ?? zero();
    byIssuer[key] += n;
    issuers.set(issuer, byIssuer);
  };
  for (const row of issuedRows) {
    const n = numberColumn(row, 'n');
    const bucket = timeline[numberColumn(row, 'bucket')];
    if (bucket !== undefined) bucket.issued += n;
    add(row, 'issued', n);
  }
  for (const row of decidedRows) {
    const n = numberColumn(row, 'n');
    const key = numberColumn(row, 'audit') === 1 ? 'audit' : 'denied';
    const bucket = timeline[numberColumn(row, 'bucket')];
    if (bucket !== undefined) bucket[key] += n;
    add(row, key, n);
  }
  for (const row of liveRows) {
    const status = textColumn(row, 'status');
    add(
      row,
      status === 'retired' || status === 'revoked' ? status : 'active',
      numberColumn(row, 'n'),
    );
  }
  const byName = <K>(a: [K, unknown], b: [K, unknown]): number =>
    String(a[0] ?? '') < String(b[0] ?? '') ? -1 : String(a[0] ?? '') > String(b[0] ?? '') ? 1 : 0;
  const rank = (severity: string): number => {
    const index = SEVERITY_ORDER.indexOf(severity);
    return index === -1 ? SEVERITY_ORDER.length : index;
  };
  return {
    since: iso(startMs),
    until: now.toISOString(),
    bucketSeconds: bucketMs / 1000,
    timeline,
    totals,
    clusters: [...clusters.entries()].sort(byName).map(([cluster, t]) => ({ cluster, ...t })),
    issuers: [...issuers.entries()]
      .sort(byName)
      .map(([issuerFingerprint, t]) => ({ issuerFingerprint, ...t })),
    findings: findingRows
      .map((row) => ({ severity: textColumn(row, 'severity'), open: numberColumn(row, 'n') }))
      .sort((a, b) => rank(a.severity) - rank(b.severity) || (a.severity < b.severity ? -1 : 1)),
    findingsSince: findingsSince.toISOString(),
  };
}

/** See `InventoryQuery.denialRules`. */
export async function denialRules(
  db: SqlExecutor,
  since: Date,
  filter?: InventoryFilter,
  examples = 3,
): Promise<DenialRuleView[]> {
  const where = new Where().add('time_ms >= ?', since.getTime()).filter(filter);
  const groups = await db.query(
    `SELECT audit, layer, rule, error_code, COUNT(*) AS n, MIN(time_ms) AS first_ms,
       MAX(time_ms) AS last_ms
     FROM ledger_decisions ${where.toString()}
     GROUP BY audit, layer, rule, error_code
     ORDER BY audit, COUNT(*) DESC, MAX(time_ms) DESC
     LIMIT ?`,
    [...where.params, MAX_DENIAL_RULES],
  );
  // The newest few of every group in one pass over the window (window functions: SQLite 3.25+).
  const latest = await db.query(
    `SELECT * FROM (
       SELECT audit, layer, rule, error_code, time_ms, identity, namespace, service_account,
         cluster, pod_name, outcome, reason,
         ROW_NUMBER() OVER (PARTITION BY audit, layer, rule, error_code
                            ORDER BY time_ms DESC, chain_id, sequence, idx) AS nth
       FROM ledger_decisions ${where.toString()}) AS ranked
     WHERE nth <= ? ORDER BY time_ms DESC`,
    [...where.params, examples],
  );
  const keyOf = (row: SqlRow): string =>
    JSON.stringify([
      numberColumn(row, 'audit'),
      optionalTextColumn(row, 'layer'),
      optionalTextColumn(row, 'rule'),
      optionalTextColumn(row, 'error_code'),
    ]);
  const examplesByKey = new Map<string, DenialRuleView['latest'][number][]>();
  for (const row of latest) {
    const key = keyOf(row);
    const list = examplesByKey.get(key) ?? [];
    list.push({
      time: iso(numberColumn(row, 'time_ms')),
      identity: textColumn(row, 'identity'),
      namespace: textColumn(row, 'namespace'),
      serviceAccount: textColumn(row, 'service_account'),
      cluster: optionalTextColumn(row, 'cluster'),
      podName: optionalTextColumn(row, 'pod_name'),
      outcome: textColumn(row, 'outcome'),
      reason: optionalTextColumn(row, 'reason'),
    });
    examplesByKey.set(key, list);
  }
  return groups.map((row) => ({
    audit: numberColumn(row, 'audit') === 1,
    layer: optionalTextColumn(row, 'layer'),
    rule: optionalTextColumn(row, 'rule'),
    errorCode: optionalTextColumn(row, 'error_code'),
    count: numberColumn(row, 'n'),
    firstTime: iso(numberColumn(row, 'first_ms')),
    lastTime: iso(numberColumn(row, 'last_ms')),
    latest: examplesByKey.get(keyOf(row)) ?? [],
  }));
}

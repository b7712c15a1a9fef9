/**
 * How `meshca inventory` prints the aggregate views: `denial-rules` as one table, and `overview`
 * as a few small tables (totals, clusters, intermediates, findings, and the CA and policies in
 * force when a running meshca answered), with the timeline under `-o wide`.
 *
 * @module
 */
import type { OverviewItem } from '../inventory/index.js';
import type { DenialRuleView } from '../ledger/index.js';
import { table, time, type Column } from './table.js';

/** `layer/rule`, or the error code of a refusal that is no policy decision. */
function ruleName(group: Pick<DenialRuleView, 'layer' | 'rule' | 'errorCode'>): string | null {
  return group.rule === null ? group.errorCode : `${group.layer ?? ''}/${group.rule}`;
}

/** Columns of the `denial-rules` view. */
export const DENIAL_RULE_COLUMNS: readonly Column<DenialRuleView>[] = [
  { header: 'KIND', cell: (g) => (g.audit ? 'audit' : 'denied') },
  { header: 'RULE', cell: (g) => ruleName(g) },
  { header: 'COUNT', cell: (g) => g.count },
  { header: 'LAST', cell: (g) => time(g.lastTime) },
  { header: 'LATEST-IDENTITY', cell: (g) => g.latest[0]?.identity ?? null },
  { header: 'LATEST-REASON', cell: (g) => g.latest[0]?.reason ?? null },
  { header: 'FIRST', wide: true, cell: (g) => time(g.firstTime) },
  { header: 'CODE', wide: true, cell: (g) => g.errorCode },
];

type Totals = OverviewItem['totals'];

const TOTAL_COLUMNS: readonly Column<Totals>[] = [
  { header: 'ISSUED', cell: (t) => t.issued },
  { header: 'DENIED', cell: (t) => t.denied },
  { header: 'AUDIT', cell: (t) => t.audit },
  { header: 'ACTIVE', cell: (t) => t.active },
  { header: 'RETIRED', cell: (t) => t.retired },
  { header: 'REVOKED', cell: (t) => t.revoked },
];

/** The overview as text: one small table per part, a blank line apart. */
export function overviewText(overview: OverviewItem, wide: boolean): string {
  const parts = [
    `WINDOW ${time(overview.since) ?? ''} .. ${time(overview.until) ?? ''} (issued, denied, audit in it; active, retired, revoked now)`,
    table([overview.totals], TOTAL_COLUMNS, wide),
    table(
      overview.clusters,
      [{ header: 'CLUSTER', cell: (c) => c.cluster }, ...TOTAL_COLUMNS],
      wide,
    ),
    table(
      overview.issuers,
      [
        { header: 'ISSUER', cell: (i) => i.issuerFingerprint.slice(0, 12) },
        ...TOTAL_COLUMNS,
        { header: 'FINGERPRINT', wide: true, cell: (i) => i.issuerFingerprint },
      ],
      wide,
    ),
    table(
      overview.findings,
      [
        { header: 'SEVERITY', cell: (f) => f.severity },
        { header: 'OPEN-FINDINGS', cell: (f) => f.open },
      ],
      wide,
    ),
  ];
  const { authority, policies } = overview;
  if (authority === null || policies === null) {
    parts.push(
      'CA and policy in force: known to a running meshca only (GET /v1/inventory/overview)',
    );
  }
  if (authority !== null) {
    parts.push(
      table(
        [
          { role: 'intermediate', ...authority.intermediate },
          ...authority.roots.map((root) => ({ role: 'root', ...root })),
        ],
        [
          { header: 'CA', cell: (c) => c.role },
          { header: 'SUBJECT', cell: (c) => c.subject },
          { header: 'NOT-AFTER', cell: (c) => time(c.notAfter) },
          { header: 'FINGERPRINT', cell: (c) => c.fingerprint.slice(0, 12) },
        ],
        wide,
      ),
    );
  }
  if (policies !== null) {
    parts.push(
      policies.length === 0
        ? "POLICY <none>: meshca's TTL limits decide alone"
        : table(
            policies,
            [
              { header: 'POLICY', cell: (p) => p.layer },
              { header: 'NAME', cell: (p) => p.name },
              { header: 'SHA256', cell: (p) => p.sha256 },
              { header: 'SIGNATURE', cell: (p) => p.signature },
              { header: 'SIGNED-BY', cell: (p) => p.signedBy },
            ],
            wide,
          ),
    );
  }
  if (wide) {
    parts.push(
      table(
        overview.timeline,
        [
          { header: 'BUCKET', cell: (b) => time(b.start) },
          { header: 'ISSUED', cell: (b) => b.issued },
          { header: 'DENIED', cell: (b) => b.denied },
          { header: 'AUDIT', cell: (b) => b.audit },
        ],
        wide,
      ),
    );
  }
  return parts.join('\n\n');
}

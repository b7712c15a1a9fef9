/**
 * How `meshca inventory` prints a view: a kubectl-like table (upper-case headers, columns three
 * spaces apart, `<none>` for what is unknown), more columns with `-o wide`, or the
 * `meshca.io/inventory/v1` document as JSON or YAML.
 *
 * @module
 */
import { stringify } from 'yaml';
import { DENIAL_RULE_COLUMNS, overviewText } from './inventory-output-aggregates.js';
import { table, time, type Column } from './table.js';
import type { InventoryDocument, OverviewItem } from '../inventory/index.js';
import type {
  CertificateView,
  DenialRuleView,
  DenialView,
  FindingView,
  IssuerView,
  WorkloadView,
} from '../ledger/index.js';

/** The output formats. */
export const OUTPUT_FORMATS = ['table', 'wide', 'json', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

const CERTIFICATE_COLUMNS: readonly Column<CertificateView>[] = [
  { header: 'NAMESPACE', cell: (c) => c.namespace },
  { header: 'SERVICE-ACCOUNT', cell: (c) => c.serviceAccount },
  { header: 'POD', cell: (c) => c.podName },
  { header: 'SERIAL', cell: (c) => c.serial },
  { header: 'NOT-AFTER', cell: (c) => time(c.notAfter) },
  { header: 'ISSUER', cell: (c) => c.issuerFingerprint.slice(0, 12) },
  { header: 'CLUSTER', wide: true, cell: (c) => c.cluster },
  { header: 'NODE', wide: true, cell: (c) => c.nodeName },
  {
    header: 'KEY',
    wide: true,
    cell: (c) => (c.keyAlgorithm === null ? null : `${c.keyAlgorithm}-${String(c.keyBits)}`),
  },
  { header: 'CALLER', wide: true, cell: (c) => c.caller },
  { header: 'ISSUED', wide: true, cell: (c) => time(c.issuedAt) },
];

const DENIAL_COLUMNS: readonly Column<DenialView>[] = [
  { header: 'TIME', cell: (d) => time(d.time) },
  { header: 'NAMESPACE', cell: (d) => d.namespace },
  { header: 'SERVICE-ACCOUNT', cell: (d) => d.serviceAccount },
  { header: 'OUTCOME', cell: (d) => (d.audit ? 'audit' : d.outcome) },
  { header: 'RULE', cell: (d) => (d.rule === null ? d.errorCode : `${d.layer ?? ''}/${d.rule}`) },
  { header: 'REASON', cell: (d) => d.reason },
  { header: 'CODE', wide: true, cell: (d) => d.errorCode },
  { header: 'POD', wide: true, cell: (d) => d.podName },
  { header: 'CALLER', wide: true, cell: (d) => d.caller },
  { header: 'CLUSTER', wide: true, cell: (d) => d.cluster },
];

const ISSUER_COLUMNS: readonly Column<IssuerView>[] = [
  { header: 'ISSUER', cell: (i) => i.issuerFingerprint.slice(0, 12) },
  { header: 'ISSUED', cell: (i) => i.issued },
  { header: 'DENIED', cell: (i) => i.denied },
  { header: 'ACTIVE', cell: (i) => i.active },
  { header: 'FIRST-USE', cell: (i) => time(i.firstUse) },
  { header: 'LAST-USE', cell: (i) => time(i.lastUse) },
  { header: 'FINGERPRINT', wide: true, cell: (i) => i.issuerFingerprint },
];

/** `workloads` prints one row per certificate of each pod. */
interface WorkloadRow {
  readonly pod: WorkloadView;
  readonly certificate: CertificateView;
}

const WORKLOAD_COLUMNS: readonly Column<WorkloadRow>[] = [
  { header: 'NAMESPACE', cell: (r) => r.pod.namespace },
  { header: 'POD', cell: (r) => r.pod.podName },
  { header: 'SERIAL', cell: (r) => r.certificate.serial },
  { header: 'STATUS', cell: (r) => r.certificate.status },
  { header: 'REASON', cell: (r) => r.certificate.statusReason },
  { header: 'NOT-AFTER', cell: (r) => time(r.certificate.notAfter) },
  { header: 'SERVICE-ACCOUNT', wide: true, cell: (r) => r.certificate.serviceAccount },
  { header: 'UID', wide: true, cell: (r) => r.pod.podUid },
  { header: 'NODE', wide: true, cell: (r) => r.pod.nodeName },
  { header: 'CLUSTER', wide: true, cell: (r) => r.pod.cluster },
  { header: 'STATUS-TIME', wide: true, cell: (r) => time(r.certificate.statusTime) },
];

const FINDING_COLUMNS: readonly Column<FindingView>[] = [
  { header: 'TIME', cell: (f) => time(f.time) },
  { header: 'SEVERITY', cell: (f) => f.severity },
  { header: 'KIND', cell: (f) => f.kind },
  { header: 'OBJECT', cell: (f) => f.object },
  { header: 'CLUSTER', wide: true, cell: (f) => f.cluster },
  { header: 'FINGERPRINT', wide: true, cell: (f) => f.fingerprint },
];

/** A certificate's state at `now`: its status, or `expired` for an active one past notAfter. */
function state(certificate: CertificateView, now: string): string {
  return certificate.status === 'active' && certificate.notAfter <= now
    ? 'expired'
    : certificate.status;
}

/** The rows of a view as a table. Items are the ledger's view objects. */
function viewTable(document: InventoryDocument, wide: boolean): string {
  const { view, items, generatedAt } = document;
  switch (view) {
    case 'certificates':
      return table(
        items as CertificateView[],
        [
          ...CERTIFICATE_COLUMNS.slice(0, 4),
          { header: 'STATE', cell: (c) => state(c, generatedAt) },
          ...CERTIFICATE_COLUMNS.slice(4),
          { header: 'REASON', wide: true, cell: (c) => c.statusReason },
        ],
        wide,
      );
    case 'denial-rules':
      return table(items as DenialRuleView[], DENIAL_RULE_COLUMNS, wide);
    case 'overview':
      return overviewText(items[0] as OverviewItem, wide);
    case 'identities':
    case 'expiring':
      return table(items as CertificateView[], CERTIFICATE_COLUMNS, wide);
    case 'denials':
      return table(items as DenialView[], DENIAL_COLUMNS, wide);
    case 'issuers':
      return table(items as IssuerView[], ISSUER_COLUMNS, wide);
    case 'workloads':
      return table(
        (items as WorkloadView[]).flatMap((pod) =>
          pod.certificates.map((certificate) => ({ pod, certificate })),
        ),
        WORKLOAD_COLUMNS,
        wide,
      );
    case 'findings':
      return table(items as FindingView[], FINDING_COLUMNS, wide);
  }
}

/**
 * The document as the format asks; an empty table is left to the caller (kubectl prints
 * "No resources found" on stderr).
 */
export function formatInventory(document: InventoryDocument, format: OutputFormat): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(document, null, 2)}\n`;
    case 'yaml':
      return stringify(document);
    case 'table':
    case 'wide':
      return `${viewTable(document, format === 'wide')}\n`;
  }
}

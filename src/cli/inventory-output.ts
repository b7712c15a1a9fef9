/**
 * How `meshca inventory` prints a view: a kubectl-like table (upper-case headers, columns three
 * spaces apart, `<none>` for what is unknown), more columns with `-o wide`, or the
 * `meshca.io/inventory/v1` document as JSON or YAML.
 *
 * @module
 */
import { stringify } from 'yaml';
import type { InventoryDocument, InventoryView } from '../inventory/index.js';
import type {
  CertificateView,
  DenialView,
  FindingView,
  IssuerView,
  WorkloadView,
} from '../ledger/index.js';

/** The output formats. */
export const OUTPUT_FORMATS = ['table', 'wide', 'json', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

type Cell = string | number | boolean | null;

/** One column: its header, whether only `-o wide` shows it, and its cell. */
interface Column<T> {
  readonly header: string;
  readonly wide?: boolean;
  readonly cell: (item: T) => Cell;
}

/** An ISO time without milliseconds: `2026-12-07T06:58:19Z`. */
function time(value: string | null): string | null {
  return value === null ? null : value.replace(/\.\d{3}Z$/, 'Z');
}

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

function table<T>(items: readonly T[], columns: readonly Column<T>[], wide: boolean): string {
  const shown = columns.filter((column) => wide || column.wide !== true);
  const rows = [
    shown.map((column) => column.header),
    ...items.map((item) =>
      shown.map((column) => {
        const value = column.cell(item);
        return value === null || value === '' ? '<none>' : String(value);
      }),
    ),
  ];
  const widths = shown.map((_, index) => Math.max(...rows.map((row) => (row[index] ?? '').length)));
  return rows
    .map((row) =>
      row
        .map((cell, index) => (index === row.length - 1 ? cell : cell.padEnd(widths[index] ?? 0)))
        .join('   '),
    )
    .join('\n');
}

/** The rows of a view as a table. Items are the ledger's view objects. */
function viewTable(view: InventoryView, items: readonly unknown[], wide: boolean): string {
  switch (view) {
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
      return `${viewTable(document.view, document.items, format === 'wide')}\n`;
  }
}

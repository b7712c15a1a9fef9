/**
 * The discovery report: one JSON document with a stable schema (`meshca scan -o json`, and the
 * same document from the continuous scanner), and its rendering as text for people.
 *
 * Schema `meshca.io/discovery-report/v1` — every key is always present; absent values are
 * `null`, never omitted; times are RFC 3339 UTC; new keys may be added, none removed or renamed:
 *
 * ```
 * { schemaVersion, scanId, startedAt, finishedAt, cluster, scope: { namespaces: [] },
 *   complete, anchors, certificates, unreadable,
 *   coverage: [ { source, state, resource, objects, detail } ],
 *   summary: { findings, allowlisted, actionable, bySeverity: { critical..info }, byKind: {...} },
 *   findings: [ { id, kind, severity, why, location,
 *                 object: { apiVersion, kind, namespace, name, uid },
 *                 via: object | null,
 *                 certificate: { subject, issuer, serialNumber, sha256, notBefore, notAfter,
 *                                isCa, selfSigned, key, signatureAlgorithm } | null,
 *                 allowlisted: { rule, value, reason } | null } ] }
 * ```
 *
 * Findings are ordered: actionable ones by severity (most severe first), then kind, then object;
 * allowlisted ones last, in the same order.
 *
 * @module
 */
import {
  FINDING_KINDS,
  SEVERITIES,
  objectLabel,
  type Finding,
  type FindingKind,
  type ObjectRef,
  type Severity,
} from './finding.js';
import type { ScanSummary, SourceCoverage, SourceName } from './ports.js';

/** The schema identifier of {@link DiscoveryReport}. */
export const REPORT_SCHEMA = 'meshca.io/discovery-report/v1';

/** An object in the report. */
export interface ReportObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace: string | null;
  readonly name: string;
  readonly uid: string | null;
}

/** A finding in the report. */
export interface ReportFinding {
  readonly id: string;
  readonly kind: FindingKind;
  readonly severity: Severity;
  readonly why: string;
  readonly location: string;
  readonly object: ReportObject;
  readonly via: ReportObject | null;
  readonly certificate: {
    readonly subject: string;
    readonly issuer: string;
    readonly serialNumber: string;
    readonly sha256: string;
    readonly notBefore: string;
    readonly notAfter: string;
    readonly isCa: boolean;
    readonly selfSigned: boolean;
    readonly key: string;
    readonly signatureAlgorithm: string;
  } | null;
  readonly allowlisted: {
    readonly rule: string;
    readonly value: string;
    readonly reason: string;
  } | null;
}

/** The whole report. */
export interface DiscoveryReport {
  readonly schemaVersion: typeof REPORT_SCHEMA;
  readonly scanId: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  /** The API server URL, when known. */
  readonly cluster: string | null;
  readonly scope: { readonly namespaces: readonly string[] };
  readonly complete: boolean;
  readonly anchors: number;
  readonly certificates: number;
  readonly unreadable: number;
  readonly coverage: readonly {
    readonly source: SourceName;
    readonly state: SourceCoverage['state'];
    readonly resource: string | null;
    readonly objects: number;
    readonly detail: string | null;
  }[];
  readonly summary: {
    readonly findings: number;
    readonly allowlisted: number;
    /** Findings that are not allowlisted. */
    readonly actionable: number;
    readonly bySeverity: Readonly<Record<Severity, number>>;
    readonly byKind: Readonly<Record<FindingKind, number>>;
  };
  readonly findings: readonly ReportFinding[];
}

/** Orders findings as the report does. */
export function compareFindings(a: Finding, b: Finding): number {
  const allowlisted = Number(a.allowlisted !== undefined) - Number(b.allowlisted !== undefined);
  return (
    allowlisted ||
    SEVERITIES.indexOf(a.severity) - SEVERITIES.indexOf(b.severity) ||
    FINDING_KINDS.indexOf(a.kind) - FINDING_KINDS.indexOf(b.kind) ||
    objectLabel(a.object).localeCompare(objectLabel(b.object)) ||
    a.id.localeCompare(b.id)
  );
}

/** Builds the report of one scan. */
export function buildReport(
  summary: ScanSummary,
  findings: readonly Finding[],
  cluster?: string,
): DiscoveryReport {
  return {
    schemaVersion: REPORT_SCHEMA,
    scanId: summary.scanId,
    startedAt: summary.startedAt.toISOString(),
    finishedAt: summary.finishedAt.toISOString(),
    cluster: cluster ?? null,
    scope: { namespaces: [...summary.scope.namespaces] },
    complete: summary.complete,
    anchors: summary.anchors,
    certificates: summary.certificates,
    unreadable: summary.unreadable,
    coverage: summary.sources.map((entry) => ({
      source: entry.source,
      state: entry.state,
      resource: entry.resource ?? null,
      objects: entry.objects,
      detail: entry.detail ?? null,
    })),
    summary: {
      findings: summary.findings,
      allowlisted: summary.allowlisted,
      actionable: summary.findings - summary.allowlisted,
      bySeverity: { ...summary.bySeverity },
      byKind: { ...summary.byKind },
    },
    findings: [...findings].sort(compareFindings).map(reportFinding),
  };
}

function reportObject(ref: ObjectRef): ReportObject {
  return {
    apiVersion: ref.apiVersion,
    kind: ref.kind,
    namespace: ref.namespace ?? null,
    name: ref.name,
    uid: ref.uid ?? null,
  };
}

function reportFinding(finding: Finding): ReportFinding {
  const { certificate, allowlisted } = finding;
  return {
    id: finding.id,
    kind: finding.kind,
    severity: finding.severity,
    why: finding.why,
    location: finding.location,
    object: reportObject(finding.object),
    via: finding.via === undefined ? null : reportObject(finding.via),
    certificate:
      certificate === undefined
        ? null
        : {
            subject: certificate.subject,
            issuer: certificate.issuer,
            serialNumber: certificate.serialNumber,
            sha256: certificate.sha256,
            notBefore: certificate.notBefore.toISOString(),
            notAfter: certificate.notAfter.toISOString(),
            isCa: certificate.isCa,
            selfSigned: certificate.selfSigned,
            key: certificate.key,
            signatureAlgorithm: certificate.signatureAlgorithm,
          },
    allowlisted:
      allowlisted === undefined
        ? null
        : { rule: allowlisted.rule, value: allowlisted.value, reason: allowlisted.reason },
  };
}

const SEVERITY_MEANINGS: Readonly<Record<Severity, string>> = {
  critical: 'anyone who can read the object can mint certificates you trust',
  high: 'a trust path nobody approved exists, or is served to clients',
  medium: 'a weakness that needs more to exploit, or an outage about to happen',
  low: 'housekeeping with time to act',
  info: 'for the inventory; no action expected',
};

const SOURCE_LABELS: Readonly<Record<SourceName, string>> = {
  secrets: 'Secrets',
  ingresses: 'Ingresses',
  'istio-gateways': 'Istio Gateways',
  'gateway-api-gateways': 'Gateway API Gateways',
  'cert-manager-issuers': 'cert-manager Issuers',
  'cert-manager-cluster-issuers': 'cert-manager ClusterIssuers',
  'validating-webhook-configurations': 'ValidatingWebhookConfigurations',
  'mutating-webhook-configurations': 'MutatingWebhookConfigurations',
  'api-services': 'APIServices',
};

/** The report as text for a person who has never seen meshca. */
export function renderReport(report: DiscoveryReport): string {
  const lines: string[] = [];
  const { summary } = report;
  lines.push(
    'meshca scan: certificates and CAs in the cluster that do not chain to an approved root',
    '',
    `  cluster      ${report.cluster ?? '(unknown)'}`,
    `  scope        ${report.scope.namespaces.length === 0 ? 'all namespaces' : `namespaces ${report.scope.namespaces.join(', ')}`} (cluster-scoped objects always)`,
    `  scanned at   ${report.finishedAt}`,
    `  judged by    ${report.anchors} approved root${report.anchors === 1 ? '' : 's'}${report.anchors === 0 ? ' (none given: every CA counts as unapproved)' : ''}`,
    `  examined     ${report.certificates} distinct certificate${report.certificates === 1 ? '' : 's'}${report.unreadable > 0 ? `; ${report.unreadable} entr${report.unreadable === 1 ? 'y' : 'ies'} could not be read as certificates` : ''}`,
    '',
    'Coverage:',
  );
  for (const entry of report.coverage) {
    const label = SOURCE_LABELS[entry.source].padEnd(33);
    const state =
      entry.state === 'scanned'
        ? `${entry.objects} read`
        : entry.state === 'absent'
          ? 'not in this cluster'
          : `NOT SCANNED (${entry.state}${entry.detail === null ? '' : `: ${entry.detail}`})`;
    lines.push(`  ${label}${state}`);
  }
  if (!report.complete) {
    lines.push('', '  ! Some sources could not be read: this report is incomplete.');
  }
  lines.push(
    '',
    `Findings: ${summary.actionable} to act on` +
      (summary.allowlisted > 0 ? `, ${summary.allowlisted} allowlisted (shown last)` : ''),
  );
  for (const severity of SEVERITIES) {
    lines.push(
      `  ${severity.padEnd(9)}${String(summary.bySeverity[severity]).padStart(5)}   ${SEVERITY_MEANINGS[severity]}`,
    );
  }
  if (report.findings.length === 0) {
    lines.push('', 'No findings.');
    return `${lines.join('\n')}\n`;
  }
  for (const finding of report.findings) {
    const object = `${finding.object.kind} ${finding.object.namespace === null ? '' : `${finding.object.namespace}/`}${finding.object.name}`;
    lines.push(
      '',
      `[${finding.severity.toUpperCase()}] ${finding.kind}  ${object}  (${finding.location})`,
    );
    if (finding.via !== null) {
      lines.push(
        `    via          ${finding.via.kind} ${finding.via.namespace === null ? '' : `${finding.via.namespace}/`}${finding.via.name}`,
      );
    }
    const cert = finding.certificate;
    if (cert !== null) {
      lines.push(
        `    certificate  ${cert.subject === '' ? '(empty subject)' : cert.subject}`,
        `    issuer       ${cert.issuer === '' ? '(empty)' : cert.issuer}`,
        `    serial       ${cert.serialNumber}`,
        `    sha256       ${cert.sha256}`,
        `    valid        ${cert.notBefore} -> ${cert.notAfter}   ${cert.key}, ${cert.signatureAlgorithm}${cert.isCa ? ', CA' : ''}`,
      );
    }
    lines.push(`    why          ${finding.why}`);
    if (finding.allowlisted !== null) {
      lines.push(
        `    allowlisted  by ${finding.allowlisted.rule} ${finding.allowlisted.value}: ${finding.allowlisted.reason}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

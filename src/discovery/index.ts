/**
 * Rogue-CA discovery (GOVERNANCE.md §4): finds the certificates and CAs in a cluster that do not
 * chain to the approved anchors, reading through {@link ClusterCertificateReader} (implemented in
 * `kube/`) and reporting to {@link FindingSink}s (report, metrics, Events; the ledger's in
 * `ledger/`). `meshca scan` runs one {@link Scanner} scan; `meshca serve` runs the
 * {@link DiscoveryScanner} part on the leader.
 *
 * @module
 */
export type {
  AllowlistMatch,
  Finding,
  FindingCertificate,
  FindingDraft,
  FindingKind,
  ObjectRef,
  Severity,
} from './finding.js';
export { FINDING_KINDS, SEVERITIES, atLeast, findingId, objectLabel } from './finding.js';
export type {
  CaBundleRecord,
  CaBundleSource,
  ClusterCertificateReader,
  FindingSink,
  IssuerRecord,
  IssuerSource,
  ListProgress,
  ScanScope,
  ScanStart,
  ScanSummary,
  SecretRecord,
  ServingObject,
  ServingSource,
  SourceAvailability,
  SourceCoverage,
  SourceName,
} from './ports.js';
export { SOURCES } from './ports.js';
export type { AllowlistRule } from './allowlist.js';
export { Allowlist, loadAllowlist, parseAllowlist } from './allowlist.js';
export type { AnchorProvider } from './anchors.js';
export {
  loadApprovedRoots,
  loadCaDirectoryRoots,
  parseApprovedRoots,
  uniqueAnchors,
} from './anchors.js';
export type { AnchorVerdict, JudgeOptions } from './judge.js';
export { Judge, VerdictCache } from './judge.js';
export type { CertificateHolder, HolderEntry } from './classify.js';
export {
  MIN_RSA_BITS,
  URGENT_EXPIRY_MS,
  classifyCaIssuer,
  classifyHolder,
  classifySelfSignedIssuer,
  classifyServed,
  weaknesses,
} from './classify.js';
export type { ScanOptions, ScanProgress, ScannerDependencies } from './scanner.js';
export { Scanner } from './scanner.js';
export type { DiscoveryReport, ReportFinding, ReportObject } from './report.js';
export { REPORT_SCHEMA, buildReport, compareFindings, renderReport } from './report.js';
export type { ObjectEvent, ObjectEventRecorder } from './sinks.js';
export { EVENT_REASONS, EventFindingSink, MetricsFindingSink, ReportSink } from './sinks.js';
export type { DiscoveryScannerDependencies, DiscoveryScannerOptions } from './discovery-scanner.js';
export { DiscoveryScanner } from './discovery-scanner.js';
export type { DiscoveryReportRouteDeps } from './report-route.js';
export { DISCOVERY_REPORT_PATH, discoveryReportRoute } from './report-route.js';

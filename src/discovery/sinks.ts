/**
 * The finding sinks discovery ships: the report (kept in memory for `meshca scan` and for an
 * HTTP route), the metrics, and Kubernetes Events on the objects. The ledger's sink implements
 * the same {@link FindingSink} port in `ledger/`.
 *
 * @module
 */
import type { DiscoveryMetrics } from '../metrics/index.js';
import {
  FINDING_KINDS,
  SEVERITIES,
  atLeast,
  type Finding,
  type FindingKind,
  type ObjectRef,
} from './finding.js';
import type { FindingSink, ScanSummary } from './ports.js';
import { buildReport, type DiscoveryReport } from './report.js';

/** Keeps the findings of the last completed scan, and the report built from them. */
export class ReportSink implements FindingSink {
  readonly name = 'report';
  readonly #cluster: string | undefined;
  readonly #maxFindings: number;
  #pending: Finding[] = [];
  #dropped = 0;
  #latest: DiscoveryReport | undefined;

  /**
   * @param cluster The API server URL, shown in the report.
   * @param maxFindings Findings kept per scan (beyond it, the report's summary still counts
   * every finding but lists the first `maxFindings`); bounds memory in continuous mode.
   */
  constructor(options: { readonly cluster?: string; readonly maxFindings: number }) {
    this.#cluster = options.cluster;
    this.#maxFindings = options.maxFindings;
  }

  begin(): void {
    this.#pending = [];
    this.#dropped = 0;
  }

  record(finding: Finding): void {
    if (this.#pending.length < this.#maxFindings) this.#pending.push(finding);
    else this.#dropped++;
  }

  complete(summary: ScanSummary): void {
    this.#latest = buildReport(summary, this.#pending, this.#cluster);
    this.#pending = [];
  }

  /** The report of the last completed scan, or undefined before the first. */
  report(): DiscoveryReport | undefined {
    return this.#latest;
  }

  /** Findings of the last scan left out of the report by `maxFindings`. */
  get dropped(): number {
    return this.#dropped;
  }
}

/** Publishes `meshca_discovery_*`: the findings gauge is replaced only by complete scans. */
export class MetricsFindingSink implements FindingSink {
  readonly name = 'metrics';
  readonly #metrics: DiscoveryMetrics;
  readonly #counts = new Map<string, number>();

  constructor(metrics: DiscoveryMetrics) {
    this.#metrics = metrics;
  }

  begin(): void {
    this.#counts.clear();
  }

  record(finding: Finding): void {
    if (finding.allowlisted !== undefined) return;
    const key = `${finding.kind}|${finding.severity}`;
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
  }

  complete(summary: ScanSummary): void {
    if (summary.complete) {
      this.#metrics.setFindings(
        FINDING_KINDS.flatMap((kind) =>
          SEVERITIES.map((severity) => ({
            kind,
            severity,
            count: this.#counts.get(`${kind}|${severity}`) ?? 0,
          })),
        ),
      );
    }
    this.#metrics.scanFinished(summary.complete ? 'ok' : 'failed', summary.finishedAt);
    this.#counts.clear();
  }

  retract(): void {
    this.#metrics.clearFindings();
    this.#counts.clear();
  }
}

/** An Event about one object, as {@link ObjectEventRecorder} takes it. */
export interface ObjectEvent {
  readonly involvedObject: ObjectRef;
  readonly type: 'Normal' | 'Warning';
  /** UpperCamelCase, as Kubernetes reasons are. */
  readonly reason: string;
  readonly message: string;
  /** Deduplication identity: one Event per key, its count raised on repeats. */
  readonly key: string;
}

/**
 * Posts Events (implemented in `kube/` by `KubeEventRecorder`, which deduplicates by key and
 * rate-limits). Never blocks and never throws.
 */
export interface ObjectEventRecorder {
  record(event: ObjectEvent): void;
}

/** The Event reason of each kind. */
export const EVENT_REASONS: Readonly<Record<FindingKind, string>> = {
  'ca-key-in-cluster': 'CAKeyInCluster',
  'self-signed-ca': 'SelfSignedCA',
  'unapproved-ca': 'UnapprovedCA',
  'unapproved-ingress-certificate': 'UnapprovedIngressCertificate',
  'rogue-issuer': 'RogueIssuer',
  'weak-key': 'WeakKey',
  expired: 'CertificateExpired',
  'expiring-soon': 'CertificateExpiringSoon',
};

/** Longest Event message we post (events.k8s.io/v1 caps `note` at 1 kB; we keep to that). */
const MAX_MESSAGE = 1024;

/**
 * One Event per actionable finding on the object it names (`kubectl describe` shows it there):
 * `Warning` for `medium` and above, `Normal` below. Allowlisted findings get none: they are known
 * exceptions. Deduplication across scans and rate limiting are the recorder's.
 */
export class EventFindingSink implements FindingSink {
  readonly name = 'events';
  readonly #recorder: ObjectEventRecorder;

  constructor(recorder: ObjectEventRecorder) {
    this.#recorder = recorder;
  }

  record(finding: Finding): void {
    if (finding.allowlisted !== undefined) return;
    const fingerprint =
      finding.certificate === undefined
        ? ''
        : `, sha256 ${finding.certificate.sha256.slice(0, 16)}`;
    const suffix = ` [meshca discovery: ${finding.kind}, ${finding.severity}${fingerprint}]`;
    const room = MAX_MESSAGE - suffix.length;
    const why = finding.why.length > room ? `${finding.why.slice(0, room - 1)}…` : finding.why;
    this.#recorder.record({
      involvedObject: finding.object,
      type: atLeast(finding.severity, 'medium') ? 'Warning' : 'Normal',
      reason: EVENT_REASONS[finding.kind],
      message: `${why}${suffix}`,
      key: finding.id,
    });
  }

  complete(): void {
    // Events are posted per finding; nothing to settle at the end of a scan.
  }
}

/**
 * Discovery's findings into the ledger (the {@link FindingSink} port of `discovery/`), so that the
 * `findings` view shows what rogue-CA discovery saw, when, and where. Continuous discovery scans
 * every `discoveryInterval` and finds the same things again and again; recording each of them at
 * every scan would only repeat itself, so a finding is recorded
 * - the first time this process sees it, and again once it reappears after a complete scan that
 *   did not find it;
 * - once a day while it stays, so that `findings --since 24h` lists every finding still present.
 *
 * Allowlisted findings are recorded too, the same way, with the rule that covers them in
 * `detail.allowlisted` (`rule`, `value`, `reason`): the security team sees what was waived and
 * why. They are left out of the overview's open findings, as they are of the metrics and Events.
 *
 * @module
 */
import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock.js';
import type { Finding, FindingSink, ScanSummary } from '../discovery/index.js';
import type { JsonValue } from './records.js';
import type { FindingInput } from './lifecycle-records.js';

/** How often a finding that stays is recorded again. */
const REPEAT_AFTER_MS = 24 * 3_600_000;

/** Where findings are recorded (the ledger recorder). */
export interface FindingRecorder {
  finding(input: FindingInput): void;
}

/** Records discovery's findings; see the module documentation. */
export class LedgerFindingSink implements FindingSink {
  readonly name = 'ledger';
  readonly #recorder: FindingRecorder;
  readonly #clock: Clock;
  readonly #cluster: string;
  /** Finding id → when it was last recorded (ms). */
  readonly #recorded = new LRUCache<string, number>({ max: 100_000 });
  /** Ids seen by the scan in progress. */
  #seen = new Set<string>();

  /** @param cluster The cluster the findings are in (this cluster's ID). */
  constructor(recorder: FindingRecorder, clock: Clock, cluster: string) {
    this.#recorder = recorder;
    this.#clock = clock;
    this.#cluster = cluster;
  }

  begin(): void {
    this.#seen = new Set();
  }

  record(finding: Finding): void {
    this.#seen.add(finding.id);
    const now = this.#clock.now().getTime();
    const last = this.#recorded.get(finding.id);
    if (last !== undefined && now - last < REPEAT_AFTER_MS) return;
    this.#recorded.set(finding.id, now);
    this.#recorder.finding(findingInput(finding, this.#cluster));
  }

  /** After a complete scan, findings it did not see are gone: their return is recorded. */
  complete(summary: ScanSummary): void {
    if (!summary.complete) return;
    for (const id of [...this.#recorded.keys()]) {
      if (!this.#seen.has(id)) this.#recorded.delete(id);
    }
  }

  /** Another replica scans now: it records what it finds. */
  retract(): void {
    this.#recorded.clear();
  }
}

/**
 * `Secret team-a/ca`, as discovery's `objectLabel` writes it (type-only imports keep discovery's
 * runtime, and the Kubernetes client, out of the ledger).
 */
function label(ref: Finding['object']): string {
  return `${ref.kind} ${ref.namespace === undefined ? '' : `${ref.namespace}/`}${ref.name}`;
}

/** The ledger record of a finding. */
export function findingInput(finding: Finding, cluster: string): FindingInput {
  const { object, certificate } = finding;
  const detail: Record<string, JsonValue> = {
    id: finding.id,
    location: finding.location,
    why: finding.why,
  };
  if (finding.via !== undefined) {
    detail['via'] = label(finding.via);
  }
  if (finding.allowlisted !== undefined) {
    const { rule, value, reason } = finding.allowlisted;
    detail['allowlisted'] = { rule, value, reason };
  }
  if (certificate !== undefined) {
    detail['certificate'] = {
      subject: certificate.subject,
      issuer: certificate.issuer,
      serialNumber: certificate.serialNumber,
      notBefore: certificate.notBefore.toISOString(),
      notAfter: certificate.notAfter.toISOString(),
      isCa: certificate.isCa,
      selfSigned: certificate.selfSigned,
      key: certificate.key,
      signatureAlgorithm: certificate.signatureAlgorithm,
    };
  }
  return {
    kind: finding.kind,
    severity: finding.severity,
    object: label(object),
    cluster,
    ...(certificate === undefined ? {} : { fingerprint: certificate.sha256 }),
    detail,
  };
}

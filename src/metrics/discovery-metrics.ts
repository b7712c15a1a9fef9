/**
 * Metrics of rogue-CA discovery (issue #11). Closed label sets: the finding kinds and severities
 * are fixed unions of `discovery/`; object names never become labels (they are in the report,
 * the Events and the ledger).
 *
 * @module
 */
import { Counter, Gauge, type Registry } from 'prom-client';

/** The number of current findings of one kind and severity. */
export interface FindingCount {
  readonly kind: string;
  readonly severity: string;
  readonly count: number;
}

/** `meshca_discovery_*`. */
export class DiscoveryMetrics {
  readonly #findings: Gauge<'kind' | 'severity'>;
  readonly #scans: Counter<'result'>;
  readonly #lastScan: Gauge;

  /** @param registry The process's shared registry (`CaMetrics.registry`). */
  constructor(registry: Registry) {
    const registers = [registry];
    this.#findings = new Gauge({
      name: 'meshca_discovery_findings',
      help: 'Findings of the last complete discovery scan that are not allowlisted, by kind and severity.',
      labelNames: ['kind', 'severity'],
      registers,
    });
    this.#scans = new Counter({
      name: 'meshca_discovery_scans_total',
      help: 'Discovery scans, by result (ok: every source read; failed: some source could not be read).',
      labelNames: ['result'],
      registers,
    });
    this.#lastScan = new Gauge({
      name: 'meshca_discovery_last_scan_timestamp_seconds',
      help: 'End of the last complete (ok) discovery scan, in seconds since the epoch.',
      registers,
    });
  }

  /**
   * Replaces the findings gauge with the counts of a complete scan: pairs absent from `counts`
   * drop to absent, so the gauge never shows a finding that is gone.
   */
  setFindings(counts: readonly FindingCount[]): void {
    this.#findings.reset();
    for (const { kind, severity, count } of counts) {
      if (count > 0) this.#findings.set({ kind, severity }, count);
    }
  }

  /** Drops every findings series (this replica stopped scanning). */
  clearFindings(): void {
    this.#findings.reset();
  }

  /** Counts a finished scan; a complete one also moves the last-scan timestamp. */
  scanFinished(result: 'ok' | 'failed', at: Date): void {
    this.#scans.inc({ result });
    if (result === 'ok') this.#lastScan.set(at.getTime() / 1000);
  }
}

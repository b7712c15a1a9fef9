/**
 * One scan of a cluster: reads every source through the {@link ClusterCertificateReader},
 * classifies what it finds and hands each finding to the sinks as soon as it is known.
 *
 * Memory stays bounded by the size of one list page plus what problems were found: references
 * (which Secrets the Ingresses, Gateways and cert-manager issuers name) are read first and kept
 * as names only; then Secrets are paged through once, each one classified and dropped before the
 * next; a Secret that is referenced but out of scope is fetched alone afterwards. Across scans
 * only each certificate's fingerprint and verdict are kept ({@link VerdictCache}).
 *
 * @module
 */
import type { Clock } from '../clock.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Allowlist } from './allowlist.js';
import type { AnchorProvider } from './anchors.js';
import type { VerdictCache } from './judge.js';
import type {
  ClusterCertificateReader,
  FindingSink,
  ScanScope,
  ScanSummary,
  SourceName,
} from './ports.js';
import { ScanRun } from './scan-run.js';

/** What to scan and how to judge it. */
export interface ScanOptions {
  readonly scope: ScanScope;
  /** `expiring-soon` below this remaining validity (default in config: 30 days). */
  readonly expiringSoonMs: number;
  /** cert-manager's cluster resource namespace, where ClusterIssuers keep their CA Secret. */
  readonly certManagerNamespace: string;
}

/** Collaborators of a {@link Scanner}. */
export interface ScannerDependencies {
  readonly reader: ClusterCertificateReader;
  readonly anchors: AnchorProvider;
  readonly allowlist: Allowlist;
  readonly sinks: readonly FindingSink[];
  readonly cache: VerdictCache;
  readonly clock: Clock;
  readonly logger: Logger;
}

/** Where a scan is, for progress displays. */
export interface ScanProgress {
  readonly source: SourceName;
  /** Objects of this source read so far. */
  readonly objects: number;
  /** Objects the API server says remain in this list, when it says. */
  readonly remaining?: number;
  /** Findings so far, allowlisted ones excluded. */
  readonly findings: number;
  /** True once the source is finished. */
  readonly done: boolean;
}

/** Runs scans; one instance per process (it owns nothing but its options). */
export class Scanner {
  readonly #deps: ScannerDependencies;
  readonly #options: ScanOptions;

  constructor(dependencies: ScannerDependencies, options: ScanOptions) {
    this.#deps = dependencies;
    this.#options = options;
  }

  /**
   * Scans once. Sources that are absent are skipped; a source that cannot be read (RBAC, errors)
   * is recorded in the summary and the scan goes on, marked incomplete.
   *
   * When API discovery itself fails, every source is `failed` and the summary incomplete.
   *
   * @throws only when `signal` aborts (the sinks then see no `complete`).
   */
  async scan(
    signal: AbortSignal,
    progress?: (progress: ScanProgress) => void,
  ): Promise<ScanSummary> {
    const run = new ScanRun(this.#deps, this.#options, signal, progress);
    return run.execute();
  }

  /** Tells every sink that this replica no longer reports (it lost the leadership). */
  retract(): void {
    for (const sink of this.#deps.sinks) {
      try {
        sink.retract?.();
      } catch (error) {
        this.#deps.logger.error(
          { sink: sink.name, err: errorMessage(error) },
          'finding sink failed',
        );
      }
    }
  }
}

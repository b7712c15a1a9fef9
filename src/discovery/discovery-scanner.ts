/**
 * Continuous discovery in `meshca serve`: the same scan as `meshca scan`, repeated every
 * interval, on the leader only (one replica reads the cluster's Secrets and posts Events; the
 * others stay idle and publish no findings). Losing the leadership aborts a scan in progress and
 * retracts this replica's gauges, so that two replicas never report the same findings.
 *
 * @module
 */
import type { Clock } from '../clock.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import { BackgroundLoops, type Part, type ReadinessCheck } from '../runtime/index.js';
import { sleep } from '../util/index.js';
import type { ScanSummary } from './ports.js';
import type { Scanner } from './scanner.js';

/** Options of {@link DiscoveryScanner}. */
export interface DiscoveryScannerOptions {
  /** Time from the start of one scan to the start of the next. */
  readonly intervalMs: number;
  /** Wait after gaining the leadership before the first scan (lets a new leader settle). */
  readonly initialDelayMs: number;
}

/** Collaborators of {@link DiscoveryScanner}. */
export interface DiscoveryScannerDependencies {
  readonly scanner: Scanner;
  readonly logger: Logger;
  readonly clock: Clock;
}

/** The periodic, leader-only scanner. A {@link Part}. */
export class DiscoveryScanner implements Part {
  readonly name = 'discovery';
  readonly #deps: DiscoveryScannerDependencies;
  readonly #options: DiscoveryScannerOptions;
  readonly #loops: BackgroundLoops;
  #leadership: AbortController | undefined;
  #leadershipChanged: () => void = () => undefined;
  #last: ScanSummary | undefined;
  #lastError: string | undefined;
  #scanning = false;

  constructor(dependencies: DiscoveryScannerDependencies, options: DiscoveryScannerOptions) {
    if (!(options.intervalMs > 0)) throw new TypeError('discovery intervalMs must be positive');
    this.#deps = dependencies;
    this.#options = options;
    this.#loops = new BackgroundLoops(dependencies.logger);
  }

  /** Starts the loop and returns at once: scanning never delays start-up. */
  start(signal: AbortSignal): Promise<void> {
    this.#loops.link(signal);
    this.#loops.run('discovery', (loopSignal) => this.#run(loopSignal));
    return Promise.resolve();
  }

  /** Aborts a scan in progress and waits for the loop to end. */
  async close(): Promise<void> {
    this.#leadership?.abort();
    await this.#loops.close();
  }

  /** Only the leader scans. Wire it to the Lease elector like the other controllers. */
  setLeading(leading: boolean): void {
    if (leading && this.#leadership === undefined) {
      this.#leadership = new AbortController();
    } else if (!leading && this.#leadership !== undefined) {
      this.#leadership.abort();
      this.#leadership = undefined;
      this.#deps.scanner.retract();
    }
    this.#leadershipChanged();
  }

  /** The summary of the last scan, or undefined before the first. */
  lastScan(): ScanSummary | undefined {
    return this.#last;
  }

  /** Informational: a failing scan never takes the replica out of its Service. */
  readiness(): readonly ReadinessCheck[] {
    return [
      {
        name: 'discovery',
        severity: 'informational',
        check: () => this.#lastError,
      },
    ];
  }

  async #run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const leadership = this.#leadership;
      if (leadership === undefined) {
        await this.#leadershipChange(signal);
        continue;
      }
      const scanSignal = AbortSignal.any([signal, leadership.signal]);
      await sleep(this.#options.initialDelayMs, scanSignal);
      while (!scanSignal.aborted) {
        const startedMs = this.#deps.clock.now().getTime();
        await this.#scanOnce(scanSignal);
        const elapsedMs = this.#deps.clock.now().getTime() - startedMs;
        await sleep(Math.max(0, this.#options.intervalMs - elapsedMs), scanSignal);
      }
    }
  }

  async #scanOnce(signal: AbortSignal): Promise<void> {
    this.#scanning = true;
    try {
      const summary = await this.#deps.scanner.scan(signal);
      this.#last = summary;
      this.#lastError = summary.complete
        ? undefined
        : `last scan incomplete: ${summary.sources
            .filter((source) => source.state === 'forbidden' || source.state === 'failed')
            .map((source) => `${source.source} ${source.state}`)
            .join(', ')}`;
      this.#deps.logger.info(
        {
          scanId: summary.scanId,
          complete: summary.complete,
          findings: summary.findings - summary.allowlisted,
          allowlisted: summary.allowlisted,
          certificates: summary.certificates,
          durationMs: summary.finishedAt.getTime() - summary.startedAt.getTime(),
        },
        'discovery scan finished',
      );
    } catch (error) {
      if (!signal.aborted) {
        this.#lastError = `last scan failed: ${errorMessage(error)}`;
        this.#deps.logger.error({ err: errorMessage(error) }, 'discovery scan failed');
      }
    } finally {
      this.#scanning = false;
    }
  }

  /** True while a scan runs (for tests and diagnostics). */
  get scanning(): boolean {
    return this.#scanning;
  }

  #leadershipChange(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        signal.removeEventListener('abort', done);
        this.#leadershipChanged = () => undefined;
        resolve();
      };
      this.#leadershipChanged = done;
      signal.addEventListener('abort', done, { once: true });
    });
  }
}

/**
 * Whether an API server answers: asked for its version at a fixed interval. Without an answer
 * for `unreachableAfterMs` it counts as unreachable — a slow answer or two does not flap.
 *
 * Reported as an *informational* readiness check (in `/readyz` details), a metric and an alert,
 * never as a failed readiness: during an API-server outage every replica still serves every
 * cached identity and every locally verified token, so taking all of them out of the Service
 * would turn a partial outage (no new TokenReviews) into a total one (no CA at all).
 *
 * @module
 */
import type { Logger } from '../logger.js';
import { BackgroundLoops, type Part, type ReadinessCheck } from '../runtime/index.js';
import { sleep } from '../util/index.js';
import type { KubeClient } from './client.js';

/** Options of {@link ApiReachability}. */
export interface ApiReachabilityOptions {
  /** The API server counts as unreachable after this long without an answer. */
  readonly unreachableAfterMs: number;
  /** How often it is asked. */
  readonly probeIntervalMs: number;
  /** Timeout of one probe (default 5 s). */
  readonly probeTimeoutMs?: number;
}

/** The defaults: unreachable after 30 s without an answer, asked every 10 s. */
export const DEFAULT_REACHABILITY: ApiReachabilityOptions = {
  unreachableAfterMs: 30_000,
  probeIntervalMs: 10_000,
  probeTimeoutMs: 5_000,
};

/** Receives the state after every probe (the `meshca_kube_api_reachable` gauge). */
export type ReachabilityListener = (reachable: boolean) => void;

/** Probes one API server. */
export class ApiReachability implements Part {
  readonly name: string;
  readonly #client: KubeClient;
  readonly #options: ApiReachabilityOptions;
  readonly #loops: BackgroundLoops;
  readonly #logger: Logger;
  readonly #onChange: ReachabilityListener;
  #lastAnswerMs = -Infinity;
  #reachable: boolean | undefined;

  /**
   * @param clusterId Names the check: `kubernetes` for the local cluster (undefined), else
   * `kubernetes:<id>`.
   */
  constructor(
    client: KubeClient,
    options: ApiReachabilityOptions,
    deps: {
      readonly logger: Logger;
      readonly onChange: ReachabilityListener;
      readonly clusterId?: string;
    },
  ) {
    this.name = deps.clusterId === undefined ? 'kubernetes' : `kubernetes:${deps.clusterId}`;
    this.#client = client;
    this.#options = options;
    this.#logger = deps.logger;
    this.#onChange = deps.onChange;
    this.#loops = new BackgroundLoops(deps.logger);
  }

  /** Starts probing; resolves at once. */
  start(signal: AbortSignal): Promise<void> {
    this.#loops.link(signal);
    this.#loops.run('probe', (loopSignal) => this.#probe(loopSignal));
    return Promise.resolve();
  }

  /** Stops probing. */
  close(): Promise<void> {
    return this.#loops.close();
  }

  /** Milliseconds since the last answer; Infinity before the first. */
  get silenceMs(): number {
    return performance.now() - this.#lastAnswerMs;
  }

  /** True when the API server answered in the last `unreachableAfterMs`. */
  get reachable(): boolean {
    return this.silenceMs < this.#options.unreachableAfterMs;
  }

  /** `kubernetes`: informational, in `/readyz` details. */
  readiness(): readonly ReadinessCheck[] {
    return [
      {
        name: this.name,
        severity: 'informational',
        check: () => {
          const since = this.silenceMs;
          if (since === Infinity) return `API server ${this.#client.server} not reached yet`;
          return since < this.#options.unreachableAfterMs
            ? undefined
            : `API server ${this.#client.server} unreachable for ${Math.round(since / 1000)}s`;
        },
      },
    ];
  }

  /** Tells the listener after every probe; logs each change. */
  #report(): void {
    const reachable = this.reachable;
    this.#onChange(reachable);
    if (reachable === this.#reachable) return;
    const first = this.#reachable === undefined;
    this.#reachable = reachable;
    if (reachable) {
      this.#logger.info({ server: this.#client.server }, 'API server reachable');
    } else if (!first || this.silenceMs !== Infinity) {
      this.#logger.warn(
        { server: this.#client.server, silentForMs: Math.round(this.silenceMs) },
        'API server unreachable: cached identities are still served, new TokenReviews fail',
      );
    }
  }

  async #probe(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.#client.requestJson(
          'GET',
          '/version',
          undefined,
          AbortSignal.any([signal, AbortSignal.timeout(this.#options.probeTimeoutMs ?? 5_000)]),
        );
        this.#lastAnswerMs = performance.now();
      } catch {
        // Reported through readiness details, the metric and the log line below.
      }
      this.#report();
      await sleep(this.#options.probeIntervalMs, signal);
    }
  }
}

/**
 * Whether the API server answers: asked for its version at a fixed interval, reported as a
 * readiness check. Without an answer for `unreachableAfterMs` the check fails — until then a
 * slow answer or two does not flap readiness.
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

/** Probes one API server. */
export class ApiReachability implements Part {
  readonly name = 'kubernetes';
  readonly #client: KubeClient;
  readonly #options: ApiReachabilityOptions;
  readonly #loops: BackgroundLoops;
  #lastAnswerMs = -Infinity;

  constructor(client: KubeClient, options: ApiReachabilityOptions, logger: Logger) {
    this.#client = client;
    this.#options = options;
    this.#loops = new BackgroundLoops(logger);
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

  /**
   * `kubernetes`: the API server answered in the last `unreachableAfterMs`. A replica that has
   * never reached it is not ready.
   */
  readiness(): readonly ReadinessCheck[] {
    return [
      {
        name: 'kubernetes',
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
        // Reported through readiness.
      }
      await sleep(this.#options.probeIntervalMs, signal);
    }
  }
}

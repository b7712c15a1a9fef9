/**
 * CA material from a `cacerts` directory (a mounted Secret, or the development PKI), polled and
 * offered to the {@link CaReloader} whenever it changes. Polling (every few seconds, only hashing
 * small files) is used rather than inotify because Kubernetes updates mounted Secrets by swapping
 * a symlink, which inotify watches on the files miss.
 *
 * @module
 */
import type { Logger } from '../logger.js';
import { BackgroundLoops, type Part, type ReadinessCheck } from '../runtime/index.js';
import { sleep } from '../util/index.js';
import { readCaDirectory } from './material.js';
import type { CaReloader } from './reload.js';

/** Options of {@link DirectoryCaSource}. */
export interface DirectoryCaSourceOptions {
  readonly dir: string;
  /** How often the directory is read again. */
  readonly reloadIntervalMs: number;
  /** Runs once before the first read (the development PKI creates or renews the directory). */
  readonly prepare?: () => Promise<void>;
}

/** Loads CA material from a directory and keeps it current. */
export class DirectoryCaSource implements Part {
  readonly name = 'ca-source';
  readonly #reloader: CaReloader;
  readonly #options: DirectoryCaSourceOptions;
  readonly #logger: Logger;
  readonly #loops: BackgroundLoops;

  constructor(reloader: CaReloader, options: DirectoryCaSourceOptions, logger: Logger) {
    this.#reloader = reloader;
    this.#options = options;
    this.#logger = logger.child({ component: 'ca-source' });
    this.#loops = new BackgroundLoops(this.#logger);
  }

  /**
   * Loads the material once (meshca cannot serve without it), then polls in the background.
   *
   * @throws `CaMaterialError` when the directory does not hold valid material.
   */
  async start(signal: AbortSignal): Promise<void> {
    await this.#options.prepare?.();
    const { dir } = this.#options;
    this.#reloader.offer(await readCaDirectory(dir), dir);
    this.#loops.link(signal);
    this.#loops.run('poll', (loopSignal) => this.#poll(loopSignal));
  }

  /** Stops polling. */
  close(): Promise<void> {
    return this.#loops.close();
  }

  /** The CA's own checks (`ca`, `roots`). */
  readiness(): readonly ReadinessCheck[] {
    return this.#reloader.readiness();
  }

  async #poll(signal: AbortSignal): Promise<void> {
    const { dir, reloadIntervalMs } = this.#options;
    for (;;) {
      await sleep(reloadIntervalMs, signal);
      if (signal.aborted) return;
      try {
        this.#reloader.offer(await readCaDirectory(dir), dir);
        // Material refused only for now (rotation timing, not yet valid) is tried again.
        this.#reloader.retryPending();
      } catch (error) {
        this.#reloader.unreadable(dir, error);
      }
    }
  }
}

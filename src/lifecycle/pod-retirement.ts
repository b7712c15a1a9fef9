/**
 * Gone with the workload: when a pod is deleted (or finishes: the shared pod watch leaves finished
 * pods out, so they leave it as deletions), the certificates issued to it are retired in the
 * ledger, with the time and the reason `pod-deleted`, and so go on the CRL.
 *
 * Who writes the retirement, and why:
 * - **the replica that issued to the pod, at once.** Every replica watches pods and remembers the
 *   UIDs of the pods it issued certificates to; when one of them is deleted, it records the
 *   retirement. No record is written for the many pods that never had a certificate (jobs,
 *   system pods outside the mesh), and a replica never waits for another.
 * - **a sweep, by whoever is responsible for the database**: the leader for a shared database
 *   (PostgreSQL) — when it gains leadership, and every `sweepIntervalMs` while it leads — and each
 *   replica for its own SQLite file (which holds only its own certificates), at start and every
 *   `sweepIntervalMs`. It retires the pods of active certificates that the (synced) pod watch no
 *   longer holds: pods deleted while the replica that issued to them was down or restarting (its
 *   memory lost), deleted while nobody led, or whose records arrived late from a spool. One
 *   writer per database keeps those retirements single.
 *
 * A retirement is idempotent in the ledger (the first one stays), so two replicas retiring the
 * same pod change nothing but the record count.
 *
 * @module
 */
import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock.js';
import { errorMessage } from '../errors.js';
import type { IssuanceEvent, IssuanceObserver } from '../events/index.js';
import type { InformerHandler } from '../kube/index.js';
import type { InventoryQuery, RetireInput } from '../ledger/index.js';
import type { Logger } from '../logger.js';
import { BackgroundLoops, type LeadershipFollower, type Part } from '../runtime/index.js';
import { Wakeup } from './wakeup.js';

/** The reason recorded for the certificates of a deleted pod. */
export const POD_DELETED = 'pod-deleted';

/** What the retirement needs of a pod. */
export interface WatchedPod {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
}

/** One cluster's pod watch (the shared `PodIndex`). */
export interface PodWatch {
  /** Registers a change handler (before the watch starts). */
  on(handler: InformerHandler<WatchedPod>): void;
  /** The unfinished pod `namespace/name`, when it exists. */
  pod(namespace: string, name: string): WatchedPod | undefined;
  /** Resolves once the first list is in (or when `signal` aborts). */
  waitForSync(signal: AbortSignal): Promise<void>;
}

/** Where retirements are recorded (the ledger recorder). */
export interface RetirementRecorder {
  retire(input: RetireInput): void;
}

/** Options of {@link PodRetirement}. */
export interface PodRetirementOptions {
  /**
   * True when this process alone writes its database (SQLite in its state directory): it then
   * sweeps whether or not it leads.
   */
  readonly ownsDatabase: boolean;
  /** Between sweeps, ms. */
  readonly sweepIntervalMs: number;
  /**
   * A sweep leaves alone certificates issued less than this long ago (ms): the pod watch may not
   * have delivered their pod yet.
   */
  readonly graceMs: number;
  /** Pod UIDs remembered per process. Default 200000. */
  readonly rememberedPods?: number;
}

/** Collaborators of {@link PodRetirement}. */
export interface PodRetirementDeps {
  /** The pod watch of each cluster, by cluster ID (as certificates record it). */
  readonly pods: ReadonlyMap<string, PodWatch>;
  readonly recorder: RetirementRecorder;
  readonly ledger: Pick<InventoryQuery, 'identities'>;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Called after a retirement is recorded (the CRL then reads the ledger). */
  readonly onRetired?: () => void;
}

/** Active certificates read per sweep query. */
const SWEEP_PAGE = 500;

/** Retires the certificates of deleted pods; see the module documentation. */
export class PodRetirement implements IssuanceObserver, Part, LeadershipFollower {
  readonly name = 'pod-retirement';
  readonly #options: PodRetirementOptions;
  readonly #deps: PodRetirementDeps;
  readonly #loops: BackgroundLoops;
  readonly #wakeup = new Wakeup();
  /** UIDs of the pods this process issued certificates to. */
  readonly #issuedTo: LRUCache<string, true>;
  #leading = false;

  constructor(options: PodRetirementOptions, deps: PodRetirementDeps) {
    this.#options = options;
    this.#deps = deps;
    this.#loops = new BackgroundLoops(deps.logger);
    this.#issuedTo = new LRUCache({ max: options.rememberedPods ?? 200_000 });
    for (const watch of deps.pods.values()) {
      watch.on((event, pod) => {
        if (event === 'delete') this.#deleted(pod);
      });
    }
  }

  /** Remembers the pod of every certificate this process issues. */
  observe(event: IssuanceEvent): void {
    if (event.outcome !== 'issued') return;
    const uid =
      event.subjectPod?.uid ??
      (event.subject === undefined || event.subject.uri === event.caller?.identity.uri
        ? event.caller?.podUid
        : undefined);
    if (uid !== undefined) this.#issuedTo.set(uid, true);
  }

  /** Starts the sweep loop; resolves at once. */
  start(signal: AbortSignal): Promise<void> {
    this.#loops.link(signal);
    this.#loops.run('retirement-sweep', (loopSignal) => this.#sweepLoop(loopSignal));
    if (this.#options.ownsDatabase) this.#wakeup.wake();
    return Promise.resolve();
  }

  close(): Promise<void> {
    return this.#loops.close();
  }

  /** The leader sweeps a shared database, at once when it gains leadership. */
  setLeading(leading: boolean): void {
    const gained = leading && !this.#leading;
    this.#leading = leading;
    if (gained && !this.#options.ownsDatabase) this.#wakeup.wake();
  }

  /** True while this process sweeps its database. */
  get sweeping(): boolean {
    return this.#options.ownsDatabase || this.#leading;
  }

  /**
   * One sweep: retires the pods of active certificates that the pod watches no longer hold.
   *
   * @returns how many pods were retired.
   */
  async sweep(signal: AbortSignal): Promise<number> {
    for (const watch of this.#deps.pods.values()) await watch.waitForSync(signal);
    const now = this.#deps.clock.now();
    const issuedBefore = now.getTime() - this.#options.graceMs;
    const retired = new Set<string>();
    for (const [cluster, watch] of this.#deps.pods) {
      let cursor: string | undefined;
      do {
        if (signal.aborted) return retired.size;
        const page = await this.#deps.ledger.identities(
          now,
          { cluster },
          { limit: SWEEP_PAGE, ...(cursor === undefined ? {} : { cursor }) },
        );
        for (const certificate of page.items) {
          const { podName, podUid, namespace } = certificate;
          if (podName === null || podUid === null || retired.has(podUid)) continue;
          if (Date.parse(certificate.issuedAt) > issuedBefore) continue;
          if (watch.pod(namespace, podName)?.uid === podUid) continue;
          retired.add(podUid);
          this.#retire({ namespace, name: podName, uid: podUid });
        }
        cursor = page.nextCursor;
      } while (cursor !== undefined);
    }
    if (retired.size > 0) {
      this.#deps.logger.info(
        { pods: retired.size },
        'certificates of pods deleted unseen retired (sweep)',
      );
    }
    return retired.size;
  }

  #deleted(pod: WatchedPod): void {
    if (!this.#issuedTo.has(pod.uid)) return;
    this.#issuedTo.delete(pod.uid);
    this.#retire(pod);
    this.#deps.logger.info(
      { namespace: pod.namespace, pod: pod.name, uid: pod.uid },
      'pod deleted: its certificates retired',
    );
  }

  #retire(pod: WatchedPod): void {
    this.#deps.recorder.retire({
      pod: { namespace: pod.namespace, name: pod.name, uid: pod.uid },
      reason: POD_DELETED,
    });
    this.#deps.onRetired?.();
  }

  async #sweepLoop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.#wakeup.pause(this.#options.sweepIntervalMs, signal);
      // The pause may have ended because the signal aborted.
      if ((signal.aborted as boolean) || !this.sweeping) continue;
      try {
        await this.sweep(signal);
      } catch (error) {
        this.#deps.logger.warn(
          { err: errorMessage(error) },
          'retirement sweep failed; retried at the next one',
        );
      }
    }
  }
}

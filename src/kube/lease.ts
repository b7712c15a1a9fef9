/**
 * Leader election with a coordination.k8s.io/v1 Lease, following client-go's leaderelection:
 * a candidate takes the Lease when it is free or when its holder has not renewed it for a whole
 * lease duration as observed on the candidate's own clock (so clock skew between nodes does not
 * matter), the leader renews every retry period and steps down when it cannot renew within the
 * renew deadline, and a leader that shuts down releases the Lease so that another replica takes
 * over at once. Writes use the Lease's resourceVersion, so two candidates can never both win.
 *
 * Every replica serves certificates; only the leader writes (ConfigMaps, istiod's Secret).
 *
 * @module
 */
import type { Clock } from '../clock.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import { BackgroundLoops, type Part } from '../runtime/index.js';
import { sleep } from '../util/index.js';
import { apiStatus, type KubeClient } from './client.js';

/** Options of {@link LeaseElector}. */
export interface LeaderElectionOptions {
  readonly namespace: string;
  readonly name: string;
  /** This replica's identity, usually the pod name. */
  readonly identity: string;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: LeaseSpec;
}

/** Receives leadership changes. */
export type LeadershipListener = (leading: boolean) => void;

/** Campaigns for a Lease and keeps it while it can. */
export class LeaseElector implements Part {
  readonly name = 'leader-election';
  readonly #loops: BackgroundLoops;
  readonly #client: KubeClient;
  readonly #options: LeaderElectionOptions;
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #listeners: LeadershipListener[] = [];
  #leading = false;
  #observed: { record: string; atMs: number } | undefined;
  #lastRenewMs = 0;

  constructor(client: KubeClient, options: LeaderElectionOptions, logger: Logger, clock: Clock) {
    if (!(
      options.leaseDurationMs > options.renewDeadlineMs &&
      options.renewDeadlineMs > options.retryPeriodMs
    )) {
      throw new TypeError('leader election needs leaseDuration > renewDeadline > retryPeriod');
    }
    this.#client = client;
    this.#options = options;
    this.#logger = logger.child({
      lease: `${options.namespace}/${options.name}`,
      identity: options.identity,
    });
    this.#clock = clock;
    this.#loops = new BackgroundLoops(this.#logger);
  }

  /** True while this replica holds the Lease. */
  get leading(): boolean {
    return this.#leading;
  }

  /** Calls `listener` on every change of leadership. */
  onChange(listener: LeadershipListener): void {
    this.#listeners.push(listener);
  }

  /** Campaigns in the background until {@link close}; resolves at once. */
  start(signal: AbortSignal): Promise<void> {
    this.#loops.link(signal);
    this.#loops.run('campaign', (loopSignal) => this.#loop(loopSignal));
    return Promise.resolve();
  }

  /** Stops campaigning: the writers stop first, then the Lease is released if held. */
  close(): Promise<void> {
    return this.#loops.close();
  }

  async #loop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const started = performance.now();
      let outcome: 'held' | 'held-by-other' | 'failed' = 'failed';
      try {
        outcome = await this.#tryAcquireOrRenew(signal);
      } catch (error) {
        this.#logger.warn({ err: errorMessage(error) }, 'lease update failed');
      }
      if (outcome === 'held') {
        // Counted from when the renewal was sent: the others count from when they saw it.
        this.#lastRenewMs = started;
        this.#setLeading(true);
      } else if (outcome === 'held-by-other' && this.#leading) {
        this.#logger.warn('another replica holds the lease; stepping down');
        this.#setLeading(false);
      } else if (
        this.#leading &&
        performance.now() - this.#lastRenewMs > this.#options.renewDeadlineMs
      ) {
        this.#logger.warn('could not renew the lease within the renew deadline; stepping down');
        this.#setLeading(false);
      }
      const elapsed = performance.now() - started;
      await sleep(Math.max(0, this.#options.retryPeriodMs - elapsed), signal);
    }
    // Stop the writers first, then hand the Lease over.
    const wasLeading = this.#leading;
    this.#setLeading(false);
    if (wasLeading) await this.#release();
  }

  /** One round: whether we hold the Lease afterwards, or someone else provably does. */
  async #tryAcquireOrRenew(signal: AbortSignal): Promise<'held' | 'held-by-other' | 'failed'> {
    const now = this.#clock.now();
    const path = `/apis/coordination.k8s.io/v1/namespaces/${this.#options.namespace}/leases`;
    const timeout = AbortSignal.any([signal, AbortSignal.timeout(this.#options.retryPeriodMs * 2)]);
    let lease: Lease | undefined;
    try {
      lease = (await this.#client.requestJson(
        'GET',
        `${path}/${this.#options.name}`,
        undefined,
        timeout,
      )) as Lease;
    } catch (error) {
      if (apiStatus(error) !== 404) throw error;
    }
    const mine: LeaseSpec = {
      holderIdentity: this.#options.identity,
      leaseDurationSeconds: Math.ceil(this.#options.leaseDurationMs / 1000),
      renewTime: microTime(now),
    };
    if (lease === undefined) {
      await this.#client.requestJson(
        'POST',
        path,
        {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: this.#options.name, namespace: this.#options.namespace },
          spec: { ...mine, acquireTime: microTime(now), leaseTransitions: 0 },
        },
        timeout,
      );
      this.#logger.info('lease created; leading');
      return 'held';
    }

    const spec = lease.spec ?? {};
    const record = JSON.stringify([spec.holderIdentity, spec.renewTime, spec.acquireTime]);
    if (this.#observed?.record !== record) this.#observed = { record, atMs: performance.now() };
    const holder = spec.holderIdentity ?? '';
    const heldByOther = holder !== '' && holder !== this.#options.identity;
    const durationMs = (spec.leaseDurationSeconds ?? 0) * 1000;
    if (heldByOther && this.#observed.atMs + durationMs > performance.now()) {
      return 'held-by-other'; // someone else holds a live lease
    }
    const acquiring = holder !== this.#options.identity;
    const updated: Lease = {
      ...lease,
      spec: {
        ...spec,
        ...mine,
        acquireTime: acquiring ? microTime(now) : (spec.acquireTime ?? microTime(now)),
        // Like client-go: taking over a released Lease (holder "") is a transition too.
        leaseTransitions: (spec.leaseTransitions ?? 0) + (acquiring ? 1 : 0),
      },
    };
    try {
      await this.#client.requestJson('PUT', `${path}/${this.#options.name}`, updated, timeout);
    } catch (error) {
      if (apiStatus(error) === 409) return 'failed'; // another candidate wrote first
      throw error;
    }
    if (acquiring) this.#logger.info({ previous: holder || undefined }, 'lease acquired; leading');
    return 'held';
  }

  /** Gives the Lease up so that another replica does not wait out the lease duration. */
  async #release(): Promise<void> {
    const path = `/apis/coordination.k8s.io/v1/namespaces/${this.#options.namespace}/leases/${this.#options.name}`;
    try {
      const lease = (await this.#client.requestJson(
        'GET',
        path,
        undefined,
        AbortSignal.timeout(2000),
      )) as Lease;
      if (lease.spec?.holderIdentity !== this.#options.identity) return;
      await this.#client.requestJson(
        'PUT',
        path,
        {
          ...lease,
          spec: {
            ...lease.spec,
            holderIdentity: '',
            leaseDurationSeconds: 1,
            renewTime: microTime(this.#clock.now()),
          },
        },
        AbortSignal.timeout(2000),
      );
      this.#logger.info('lease released');
    } catch (error) {
      this.#logger.warn({ err: errorMessage(error) }, 'could not release the lease');
    }
  }

  #setLeading(leading: boolean): void {
    if (leading === this.#leading) return;
    this.#leading = leading;
    for (const listener of this.#listeners) listener(leading);
  }
}

/** Kubernetes MicroTime: RFC 3339 with microseconds. */
function microTime(at: Date): string {
  return at.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

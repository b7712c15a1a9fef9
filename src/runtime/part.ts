/**
 * The one shape of every long-lived part of a running meshca (informers, controllers, reloaders,
 * the leader elector, the listeners, the serving certificate, ledger writers...): started in
 * order, closed in reverse, each contributing its own readiness checks. The {@link PartRunner}
 * owns the order; the composition root only lists the parts.
 *
 * @module
 */

/**
 * One named readiness condition.
 *
 * `required` checks decide `/readyz`; `informational` ones are shown in its details (and usually
 * backed by a metric and an alert) but never take the replica out of its Service: readiness
 * means "this replica can issue certificates".
 */
export interface ReadinessCheck {
  readonly name: string;
  /** Defaults to `required`. */
  readonly severity?: 'required' | 'informational';
  /** Undefined when satisfied, else the reason. Cheap and synchronous: probes call it often. */
  check(): string | undefined;
}

/** A long-lived part. */
export interface Part {
  /** For logs: `ca-source`, `trust-bundle`, `grpc`... */
  readonly name: string;
  /**
   * Starts the part. Resolves once it is usable by the parts started after it (e.g. its first
   * load done); its background loops keep running until {@link close}. `signal` aborts when the
   * process shuts down (possibly before `start` resolves).
   *
   * @throws when the part cannot start: the runner then closes what it started and fails.
   */
  start(signal: AbortSignal): Promise<void>;
  /** Stops the part and awaits every loop it runs. Idempotent; never throws. */
  close(): Promise<void>;
  /** The part's readiness conditions. */
  readiness?(): readonly ReadinessCheck[];
}

/**
 * A part that writes to the cluster only while this replica leads (the Lease holder), and only
 * watches otherwise, so that a new leader starts warm.
 */
export interface LeadershipFollower {
  setLeading(leading: boolean): void;
}

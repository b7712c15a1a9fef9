/**
 * What the policy engine reports, as a port: `metrics/PolicyMetrics` implements it (so that only
 * `metrics/` imports prom-client), tests record it.
 *
 * @module
 */
import type { PolicyLayer } from './evaluate.js';

/** The result of one attempt to load a policy version; a metric label. */
export type PolicyReloadResult = 'loaded' | 'rejected' | 'unsigned' | 'bad-signature';

/** Receives the policy engine's counts and state. */
export interface PolicyMetricsSink {
  /**
   * One layer's verdict on one request: its deciding rule (or `default`) with `allow`/`deny`, or
   * an audit-mode rule's "would deny" with `audit`. Rule names come from the policy documents,
   * which the operator writes: a bounded label set.
   */
  decision(layer: string, rule: string, effect: 'allow' | 'deny' | 'audit'): void;
  /** One attempt to load a new version of a layer's policy. */
  reload(layer: PolicyLayer, result: PolicyReloadResult): void;
  /** The policy now in force for a layer. */
  inForce(layer: PolicyLayer, policy: { readonly name: string; readonly sha256: string }): void;
}

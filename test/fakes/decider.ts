/**
 * A fake {@link IssuanceDecider}: returns the decision a test set (by default: allow for one hour,
 * layer `server`, rule `ttl`), or waits on a test's promise, or fails.
 */
import type { Decision, DecisionRequest, IssuanceDecider } from '../../src/policy/index.js';

/** An allow decision, with `overrides`. */
export function allowDecision(overrides: Partial<Decision> = {}): Decision {
  return {
    effect: 'allow',
    layer: 'server',
    rule: 'ttl',
    reason: undefined,
    audits: [],
    ttlSeconds: 3600,
    ttlAdjustment: 'none',
    ...overrides,
  };
}

/** Decides as told. */
export class FakeDecider implements IssuanceDecider {
  decision: Decision = allowDecision();
  /** When set, every call rejects with it. */
  failure: Error | undefined;
  /** When set, a call answers only once this settles (for deadlines and overload). */
  hold: Promise<void> | undefined;
  readonly calls: DecisionRequest[] = [];
  /** The signal of every call, to check that cancellation reaches the decider. */
  readonly signals: AbortSignal[] = [];

  async decide(request: DecisionRequest, signal: AbortSignal): Promise<Decision> {
    this.calls.push(request);
    this.signals.push(signal);
    if (this.hold !== undefined) await this.hold;
    if (this.failure !== undefined) throw this.failure;
    return this.decision;
  }
}

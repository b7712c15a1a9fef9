/**
 * The layered issuance policy as an {@link IssuanceDecider}: the central and the local policy
 * (src/policy/evaluate.ts has the exact semantics), then meshca's own TTL limits (the inner
 * decider, layer `server`).
 *
 * The lifetime: a request that asks for none (`<= 0`) gets the smallest default of the applying
 * enforce rules of both layers, or, when none sets one, the server's default. The result is then
 * clamped, never refused (every proxy sends the same TTL), to the smallest maximum of those rules
 * and of the server's own limits. A policy maximum wins over the server's minimum.
 *
 * @module
 */
import type { PolicyVerdict } from '../events/index.js';
import type { Logger } from '../logger.js';
import type { Decision, DecisionRequest, IssuanceDecider, TtlAdjustment } from './decision.js';
import { evaluatePolicies, type PolicyEvaluation, type PolicySnapshot } from './evaluate.js';
import type { FactSource } from './facts.js';
import type { PolicyMetricsSink } from './policy-metrics-sink.js';

/** Options of {@link LayeredPolicyDecider}. */
export interface LayeredPolicyDeciderOptions {
  /** The policies in force (a `PolicyStore`). */
  readonly policies: { snapshot(): PolicySnapshot };
  /** Facts about the clusters meshca serves; empty in development mode. */
  readonly facts: FactSource;
  /** meshca's own limits (TTL), consulted after both layers allow. */
  readonly inner: IssuanceDecider;
  readonly metrics?: PolicyMetricsSink;
  readonly logger: Logger;
}

/** A decision, and how both layers reached it. */
export interface ExplainedDecision {
  readonly decision: Decision;
  /** Undefined when no policy is in force (the inner decider alone decided). */
  readonly evaluation: PolicyEvaluation | undefined;
}

/** Central AND local policy, then the server's limits. */
export class LayeredPolicyDecider implements IssuanceDecider {
  readonly #options: LayeredPolicyDeciderOptions;

  constructor(options: LayeredPolicyDeciderOptions) {
    this.#options = options;
  }

  /**
   * Decides, counts every layer's verdict and audit, and logs audit verdicts.
   *
   * @throws `UnavailableError` when a fact cannot be known now.
   */
  async decide(request: DecisionRequest, signal: AbortSignal): Promise<Decision> {
    const { decision, evaluation } = await this.explain(request, signal);
    if (evaluation !== undefined) this.#report(request, evaluation);
    return decision;
  }

  /** Decides without counting or logging: for `meshca policy explain`. */
  async explain(request: DecisionRequest, signal: AbortSignal): Promise<ExplainedDecision> {
    const { policies, facts, inner } = this.#options;
    const evaluation = await evaluatePolicies(policies.snapshot(), request, facts, signal);
    if (evaluation === undefined) {
      return { decision: await inner.decide(request, signal), evaluation };
    }
    if (evaluation.effect === 'deny') {
      return {
        evaluation,
        decision: {
          effect: 'deny',
          layer: evaluation.layer,
          rule: evaluation.rule,
          reason: evaluation.reason,
          audits: evaluation.audits,
          ttlSeconds: 0,
          ttlAdjustment: 'none',
        },
      };
    }

    const { maxSeconds, defaultSeconds } = evaluation.ttl;
    let requested = request.requestedTtlSeconds;
    let adjustment: TtlAdjustment = 'none';
    if (requested <= 0n && defaultSeconds !== undefined) {
      requested = BigInt(defaultSeconds);
      adjustment = 'default';
    }
    if (maxSeconds !== undefined && requested > BigInt(maxSeconds)) {
      requested = BigInt(maxSeconds);
      adjustment = 'policy';
    }
    const limited = await inner.decide({ ...request, requestedTtlSeconds: requested }, signal);
    const audits: PolicyVerdict[] = [...evaluation.audits, ...limited.audits];
    if (limited.effect === 'deny') return { evaluation, decision: { ...limited, audits } };
    let ttlSeconds = limited.ttlSeconds;
    if (limited.ttlAdjustment !== 'none') adjustment = limited.ttlAdjustment;
    if (maxSeconds !== undefined && ttlSeconds > maxSeconds) {
      ttlSeconds = maxSeconds;
      adjustment = 'policy';
    }
    return {
      evaluation,
      decision: {
        effect: 'allow',
        layer: evaluation.layer,
        rule: evaluation.rule,
        reason: undefined,
        audits,
        ttlSeconds,
        ttlAdjustment: adjustment,
      },
    };
  }

  #report(request: DecisionRequest, evaluation: PolicyEvaluation): void {
    const { metrics, logger } = this.#options;
    for (const layer of evaluation.layers) {
      metrics?.decision(layer.layer, layer.rule, layer.effect);
      for (const audit of layer.audits) {
        metrics?.decision(audit.layer, audit.rule, 'audit');
        logger.warn(
          {
            identity: request.subject.uri,
            layer: audit.layer,
            rule: audit.rule,
            reason: audit.reason,
          },
          'policy audit: would deny',
        );
      }
    }
  }
}

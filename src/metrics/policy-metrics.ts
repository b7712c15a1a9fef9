/**
 * The issuance policy's metrics (#9), on the shared registry:
 * - `meshca_policy_decisions_total{layer,rule,effect}`: one count per layer per request (the
 *   layer's deciding rule, or `default`, with `allow`/`deny`), plus one per audit-mode "would
 *   deny" (`effect="audit"`). `rule` comes from the policy documents: the operator writes them,
 *   rule names are DNS labels, and a document holds a bounded number of rules, so the label set
 *   is bounded by configuration (never by client input).
 * - `meshca_policy_reloads_total{layer,result}`: attempts to load a new version of a layer's
 *   policy (`loaded`, `rejected`, `unsigned`, `bad-signature`).
 * - `meshca_policy_info{layer,name,sha256}`: 1 for the policy in force of each layer (the series
 *   of the version it replaced is removed).
 *
 * @module
 */
import { Counter, Gauge, type Registry } from 'prom-client';

/** Layers, results and effects as the metrics spell them. */
type Layer = 'central' | 'local';
type ReloadResult = 'loaded' | 'rejected' | 'unsigned' | 'bad-signature';

/** The policy engine's metrics (implements the `PolicyMetricsSink` port of `policy/`). */
export class PolicyMetrics {
  readonly #decisions: Counter<'layer' | 'rule' | 'effect'>;
  readonly #reloads: Counter<'layer' | 'result'>;
  readonly #info: Gauge<'layer' | 'name' | 'sha256'>;
  readonly #inForce = new Map<Layer, { name: string; sha256: string }>();

  constructor(registry: Registry) {
    const registers = [registry];
    this.#decisions = new Counter({
      name: 'meshca_policy_decisions_total',
      help: 'Policy verdicts by layer, rule (from the policy documents, or "default") and effect (allow, deny, audit = would deny).',
      labelNames: ['layer', 'rule', 'effect'],
      registers,
    });
    this.#reloads = new Counter({
      name: 'meshca_policy_reloads_total',
      help: 'Attempts to load a new policy version, by layer and result (loaded, rejected, unsigned, bad-signature).',
      labelNames: ['layer', 'result'],
      registers,
    });
    this.#info = new Gauge({
      name: 'meshca_policy_info',
      help: 'The policy in force of each layer: 1, with its name and SHA-256.',
      labelNames: ['layer', 'name', 'sha256'],
      registers,
    });
    // Both results of every layer exist from the start, so rate() and alerts see zero, not absence.
    for (const layer of ['central', 'local'] as const) {
      for (const result of ['loaded', 'rejected', 'unsigned', 'bad-signature'] as const) {
        this.#reloads.inc({ layer, result }, 0);
      }
    }
  }

  decision(layer: string, rule: string, effect: 'allow' | 'deny' | 'audit'): void {
    this.#decisions.inc({ layer, rule, effect });
  }

  reload(layer: Layer, result: ReloadResult): void {
    this.#reloads.inc({ layer, result });
  }

  inForce(layer: Layer, policy: { readonly name: string; readonly sha256: string }): void {
    const previous = this.#inForce.get(layer);
    if (previous !== undefined) this.#info.remove({ layer, ...previous });
    this.#inForce.set(layer, { name: policy.name, sha256: policy.sha256 });
    this.#info.set({ layer, name: policy.name, sha256: policy.sha256 }, 1);
  }
}

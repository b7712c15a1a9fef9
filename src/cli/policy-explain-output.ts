/**
 * How `meshca policy explain` prints an explanation: a table per layer and the decision, or the
 * same as JSON.
 *
 * @module
 */
import type {
  DecisionRequest,
  ExplainedDecision,
  LayerEvaluation,
  RuleVerdict,
} from '../policy/index.js';

/** What the explanation was asked about. */
export interface ExplainContext {
  readonly request: DecisionRequest;
  /** The key type as given (`ECDSA-P256`, `RSA-4096`). */
  readonly keyName: string;
  /** `given`, or `cluster (<kubeconfig>)`. */
  readonly facts: string;
}

/** The explanation as a table. */
export function renderExplanation(explained: ExplainedDecision, context: ExplainContext): string {
  const { request } = context;
  const { caller } = request;
  const lines = [
    `identity  ${request.subject.uri} (cluster ${caller.clusterId})`,
    `caller    ${
      caller.podName === undefined
        ? 'token not bound to a pod'
        : `token bound to pod ${caller.namespace}/${caller.podName} (uid ${caller.podUid ?? '?'})`
    }`,
    `key       ${context.keyName}`,
    `ttl       ${request.requestedTtlSeconds <= 0n ? 'none asked (the default)' : `${formatSeconds(Number(request.requestedTtlSeconds))} asked`}`,
    `facts     ${context.facts}`,
  ];
  for (const layer of explained.evaluation?.layers ?? []) lines.push('', ...renderLayer(layer));
  const { decision } = explained;
  lines.push('');
  if (decision.effect === 'deny') {
    lines.push(
      `decision  DENY   policy ${decision.layer}/${decision.rule}: ${decision.reason ?? ''}`,
    );
  } else {
    const setBy = ttlSetBy(explained);
    lines.push(
      `decision  ALLOW  by ${decision.layer}/${decision.rule}; ttl ${formatSeconds(decision.ttlSeconds)} (${decision.ttlAdjustment === 'none' ? 'as asked' : decision.ttlAdjustment}${setBy === undefined ? '' : `, ${setBy}`})`,
    );
  }
  for (const audit of decision.audits) {
    lines.push(`audit     ${audit.layer}/${audit.rule} would deny: ${audit.reason ?? ''}`);
  }
  return `${lines.join('\n')}\n`;
}

function renderLayer(layer: LayerEvaluation): string[] {
  const header = `${layer.layer}  ${layer.policy.name}  sha256 ${layer.policy.sha256.slice(0, 12)}`;
  const rows: [string, string, string, string][] = [['RULE', 'MODE', 'VERDICT', 'REASON']];
  for (const rule of layer.rules)
    rows.push([rule.rule, rule.mode, verdictText(rule), reasonText(rule)]);
  const widths = [0, 1, 2].map((column) =>
    Math.max(...rows.map((row) => row[column]?.length ?? 0)),
  );
  const table = rows.map((row) =>
    `  ${row
      .map((cell, column) => (column < 3 ? cell.padEnd(widths[column] ?? 0) : cell))
      .join('  ')}`.trimEnd(),
  );
  const outcome =
    layer.effect === 'deny'
      ? `  => deny by ${layer.rule}${layer.rule === 'default' ? `: ${layer.reason ?? ''}` : ''}`
      : `  => allow by ${layer.rule}`;
  return [header, ...(layer.rules.length === 0 ? ['  (no rules)'] : table), outcome];
}

function verdictText(rule: RuleVerdict): string {
  if (rule.verdict === 'not-applicable') return '-';
  if (rule.verdict === 'allow') return 'allow';
  return rule.mode === 'audit' ? 'would deny' : 'DENY';
}

function reasonText(rule: RuleVerdict): string {
  if (rule.verdict === 'not-applicable') return 'not applicable';
  if (rule.verdict === 'deny') return rule.reason ?? '';
  const ttl = [
    rule.ttlMaxSeconds === undefined ? undefined : `max ${formatSeconds(rule.ttlMaxSeconds)}`,
    rule.ttlDefaultSeconds === undefined
      ? undefined
      : `default ${formatSeconds(rule.ttlDefaultSeconds)}`,
  ].filter((part) => part !== undefined);
  return ttl.length === 0
    ? ''
    : `ttl ${ttl.join(', ')}${rule.mode === 'audit' ? ' (audit: not applied)' : ''}`;
}

function ttlSetBy(explained: ExplainedDecision): string | undefined {
  const { decision, evaluation } = explained;
  if (evaluation === undefined) return undefined;
  if (decision.ttlAdjustment === 'policy') return `max set by ${evaluation.ttl.maxSetBy ?? '?'}`;
  if (decision.ttlAdjustment === 'default' && evaluation.ttl.defaultSetBy !== undefined) {
    return `set by ${evaluation.ttl.defaultSetBy}`;
  }
  if (decision.ttlAdjustment !== 'none') return 'server limits';
  return undefined;
}

/** `24h`, `90m`, `45s`: hours rather than days, as TTLs are usually written. */
function formatSeconds(value: number): string {
  if (value >= 3600 && value % 3600 === 0) return `${value / 3600}h`;
  if (value >= 60 && value % 60 === 0) return `${value / 60}m`;
  return `${value}s`;
}

/** The explanation as plain JSON. */
export function explanationJson(explained: ExplainedDecision, context: ExplainContext): unknown {
  const { request } = context;
  return {
    request: {
      identity: request.subject.uri,
      clusterId: request.caller.clusterId,
      pod:
        request.caller.podName === undefined
          ? null
          : { name: request.caller.podName, uid: request.caller.podUid ?? null },
      key: context.keyName,
      requestedTtlSeconds: Number(request.requestedTtlSeconds),
    },
    facts: context.facts,
    layers: (explained.evaluation?.layers ?? []).map((layer) => ({
      layer: layer.layer,
      policy: layer.policy,
      effect: layer.effect,
      rule: layer.rule,
      reason: layer.reason ?? null,
      rules: layer.rules.map((rule) => ({
        rule: rule.rule,
        mode: rule.mode,
        verdict: rule.verdict,
        constraint: rule.constraint ?? null,
        reason: rule.reason ?? null,
        ttlMaxSeconds: rule.ttlMaxSeconds ?? null,
        ttlDefaultSeconds: rule.ttlDefaultSeconds ?? null,
      })),
      audits: layer.audits,
    })),
    decision: {
      ...explained.decision,
      reason: explained.decision.reason ?? null,
      audits: explained.decision.audits.map((audit) => ({
        ...audit,
        reason: audit.reason ?? null,
      })),
    },
  };
}

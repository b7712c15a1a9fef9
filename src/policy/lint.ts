/**
 * Warnings about valid policies that probably do not say what their authors meant:
 * - a policy or rule that allows everything (default-deny is the point; Firefly's own docs warn
 *   that an unconstrained field "accepts anything");
 * - a rule with no effect in its own layer (no constraints under `defaultAction: allow`);
 * - a local rule that can never have an effect: looser than (or equal to) a central enforce rule
 *   that applies to everything it applies to, or applying only to identities that central
 *   refuses anyway.
 *
 * Every comparison is conservative: a warning is given only when the lint is sure (two different
 * wildcard patterns are presumed to overlap, and not to cover each other).
 *
 * @module
 */
import { isDeepStrictEqual } from 'node:util';
import type { CompiledPolicy, CompiledRule } from './compile.js';
import type { PolicyLayer } from './evaluate.js';
import { GlobList } from './glob.js';
import type { SourcePosition } from './parse.js';

/** One warning. */
export interface LintFinding {
  readonly layer: PolicyLayer;
  /** Undefined for the policy as a whole. */
  readonly rule: string | undefined;
  readonly origin: string;
  readonly position: SourcePosition | undefined;
  readonly message: string;
}

/** `origin:line:col: layer rule "name": message`. */
export function formatLintFinding(finding: LintFinding): string {
  const at =
    finding.position === undefined
      ? finding.origin
      : `${finding.origin}:${finding.position.line}:${finding.position.column}`;
  const what =
    finding.rule === undefined
      ? `${finding.layer} policy`
      : `${finding.layer} rule "${finding.rule}"`;
  return `${at}: ${what}: ${finding.message}`;
}

/** Lints one or both layers. */
export function lintPolicies(
  central: CompiledPolicy | undefined,
  local?: CompiledPolicy,
): LintFinding[] {
  const findings: LintFinding[] = [];
  if (central !== undefined) findings.push(...lintLayer('central', central));
  if (local !== undefined) {
    findings.push(...lintLayer('local', local));
    if (central !== undefined) findings.push(...lintAgainstCentral(central, local));
  }
  return findings;
}

/** Checks that need only one layer. */
function lintLayer(layer: PolicyLayer, policy: CompiledPolicy): LintFinding[] {
  const findings: LintFinding[] = [];
  const warn = (rule: CompiledRule | undefined, message: string): void => {
    findings.push({
      layer,
      rule: rule?.name,
      origin: policy.origin,
      position: rule?.position,
      message,
    });
  };
  const enforced = policy.rules.filter((rule) => rule.mode === 'enforce');
  // A local policy that narrows nothing is harmless (central still applies); a central one is not.
  if (
    layer === 'central' &&
    policy.defaultAction === 'allow' &&
    policy.mode === 'enforce' &&
    enforced.every((rule) => rule.constraints.length === 0)
  ) {
    warn(
      undefined,
      'allows every request: defaultAction is allow and no enforce rule constrains anything',
    );
  }
  for (const rule of policy.rules) {
    const allowsAllIdentities =
      rule.spec.identities?.allow !== undefined &&
      new GlobList(rule.spec.identities.allow).matchesEverything;
    if (allowsAllIdentities) warn(rule, 'identities.allow matches every identity ("*/*")');
    if (rule.constraints.length > 0 || rule.mode === 'audit') continue;
    if (policy.defaultAction === 'deny' && rule.selector.selectsEverything) {
      warn(
        rule,
        'applies to every request and constrains nothing: it allows everything, so defaultAction deny never applies',
      );
    } else if (policy.defaultAction === 'allow' && rule.ttl === undefined) {
      warn(
        rule,
        'has no constraints: it allows what it selects, which defaultAction allow already does (no effect)',
      );
    }
  }
  return findings;
}

/** A local rule against the central policy. */
function lintAgainstCentral(central: CompiledPolicy, local: CompiledPolicy): LintFinding[] {
  const findings: LintFinding[] = [];
  const centralEnforced = central.rules.filter((rule) => rule.mode === 'enforce');
  for (const rule of local.rules) {
    const warn = (message: string): void => {
      findings.push({
        layer: 'local',
        rule: rule.name,
        origin: local.origin,
        position: rule.position,
        message,
      });
    };
    const unreachable = unreachableReason(rule, central, centralEnforced);
    if (unreachable !== undefined) {
      warn(`can never have an effect: ${unreachable}`);
      continue;
    }
    const covering = centralEnforced.filter((centralRule) => selectorCovers(centralRule, rule));
    const redundant = redundantConstraints(rule, covering);
    const constrained = constrainedFields(rule);
    if (redundant.length === 0) continue;
    if (redundant.length === constrained.length) {
      warn(`can never have an effect: looser than or equal to central (${redundant.join('; ')})`);
    } else {
      for (const reason of redundant) warn(`has no effect: ${reason}`);
    }
  }
  return findings;
}

/** Why a local rule can apply only to requests central refuses anyway, or undefined. */
function unreachableReason(
  rule: CompiledRule,
  central: CompiledPolicy,
  centralEnforced: readonly CompiledRule[],
): string | undefined {
  const identities = identitySpace(rule);
  for (const centralRule of centralEnforced) {
    if (!selectorCovers(centralRule, rule)) continue;
    const deny = centralRule.spec.identities?.deny;
    if (deny !== undefined && new GlobList(deny).covers(identities)) {
      return `every identity it selects is denied by central rule "${centralRule.name}"`;
    }
    const allow = centralRule.spec.identities?.allow;
    if (allow !== undefined && !new GlobList(allow).overlaps(identities)) {
      return `central rule "${centralRule.name}" allows none of the identities it selects`;
    }
  }
  if (central.defaultAction === 'deny' && central.mode === 'enforce') {
    const namespaces = rule.selector.namespaces ?? new GlobList(['*']);
    const reachable = centralEnforced.some(
      (centralRule) =>
        centralRule.selector.namespaces === undefined ||
        centralRule.selector.namespaces.overlaps(namespaces),
    );
    if (!reachable) {
      return 'central denies by default and no central rule allows the namespaces it selects';
    }
  }
  return undefined;
}

/** The `ns/sa` globs a rule's selector covers. */
function identitySpace(rule: CompiledRule): GlobList {
  const namespaces = rule.selector.namespaces?.patterns ?? ['*'];
  const serviceAccounts = rule.selector.serviceAccounts?.patterns ?? ['*'];
  return new GlobList(
    namespaces.flatMap((namespace) => serviceAccounts.map((account) => `${namespace}/${account}`)),
  );
}

/** True when the central rule applies to every request the local rule applies to. */
function selectorCovers(centralRule: CompiledRule, localRule: CompiledRule): boolean {
  const c = centralRule.selector;
  const l = localRule.selector;
  const covers = (outer: GlobList | undefined, inner: GlobList | undefined): boolean =>
    outer === undefined || outer.matchesEverything || (inner !== undefined && outer.covers(inner));
  return (
    covers(c.namespaces, l.namespaces) &&
    covers(c.serviceAccounts, l.serviceAccounts) &&
    covers(c.clusterIds, l.clusterIds) &&
    (c.spec?.namespaceSelector === undefined ||
      isDeepStrictEqual(c.spec.namespaceSelector, l.spec?.namespaceSelector))
  );
}

/** The fields of a rule that can refuse or shorten. */
function constrainedFields(rule: CompiledRule): string[] {
  const spec = rule.spec;
  const fields: string[] = [];
  if (spec.identities?.allow !== undefined) fields.push('identities.allow');
  if (spec.identities?.deny !== undefined) fields.push('identities.deny');
  if (spec.trustDomains !== undefined) fields.push('trustDomains');
  if (spec.keyTypes !== undefined) fields.push('keyTypes');
  if (spec.ttl?.max !== undefined) fields.push('ttl.max');
  if (spec.ttl?.default !== undefined) fields.push('ttl.default');
  if (spec.liveWorkload === true) fields.push('liveWorkload');
  if (spec.requiredObjects !== undefined) fields.push('requiredObjects');
  if (spec.namespaceLabels !== undefined) fields.push('namespaceLabels');
  return fields;
}

/** The local rule's constraints that a covering central enforce rule already imposes. */
function redundantConstraints(rule: CompiledRule, covering: readonly CompiledRule[]): string[] {
  const spec = rule.spec;
  const reasons: string[] = [];
  const by = (test: (central: CompiledRule) => boolean): CompiledRule | undefined =>
    covering.find(test);
  const say = (field: string, central: CompiledRule | undefined, how: string): void => {
    if (central !== undefined) reasons.push(`${field} ${how} central rule "${central.name}"`);
  };
  const localAllow = spec.identities?.allow;
  if (localAllow !== undefined) {
    say(
      'identities.allow',
      by(
        (c) =>
          c.spec.identities?.allow !== undefined &&
          new GlobList(localAllow).covers(new GlobList(c.spec.identities.allow)),
      ),
      'allows at least what is allowed by',
    );
  }
  const localDeny = spec.identities?.deny;
  if (localDeny !== undefined) {
    say(
      'identities.deny',
      by(
        (c) =>
          c.spec.identities?.deny !== undefined &&
          new GlobList(c.spec.identities.deny).covers(new GlobList(localDeny)),
      ),
      'denies nothing more than',
    );
  }
  const localDomains = spec.trustDomains;
  if (localDomains !== undefined) {
    say(
      'trustDomains',
      by((c) => c.spec.trustDomains?.every((domain) => localDomains.includes(domain)) === true),
      'allows at least the trust domains of',
    );
  }
  const localKeys = spec.keyTypes;
  if (localKeys !== undefined) {
    say(
      'keyTypes',
      by((c) => c.spec.keyTypes?.every((type) => localKeys.includes(type)) === true),
      'allows at least the key types of',
    );
  }
  const localMax = spec.ttl?.max;
  if (localMax !== undefined) {
    say(
      'ttl.max',
      by((c) => c.spec.ttl?.max !== undefined && c.spec.ttl.max <= localMax),
      'is no shorter than the ttl.max of',
    );
  }
  const localDefault = spec.ttl?.default;
  if (localDefault !== undefined) {
    say(
      'ttl.default',
      by(
        (c) =>
          (c.spec.ttl?.default !== undefined && c.spec.ttl.default <= localDefault) ||
          (c.spec.ttl?.max !== undefined && c.spec.ttl.max <= localDefault),
      ),
      'is no shorter than the ttl of',
    );
  }
  if (spec.liveWorkload === true) {
    say(
      'liveWorkload',
      by((c) => c.spec.liveWorkload === true),
      'is already required by',
    );
  }
  const localLabels = spec.namespaceLabels;
  if (localLabels !== undefined) {
    say(
      'namespaceLabels',
      by(
        (c) =>
          c.spec.namespaceLabels !== undefined &&
          Object.entries(localLabels).every(
            ([key, value]) => c.spec.namespaceLabels?.[key] === value,
          ),
      ),
      'are already required by',
    );
  }
  const localObjects = spec.requiredObjects;
  if (localObjects !== undefined) {
    say(
      'requiredObjects',
      by((c) =>
        localObjects.every(
          (object) =>
            c.spec.requiredObjects?.some((other) => isDeepStrictEqual(object, other)) ?? false,
        ),
      ),
      'are already required by',
    );
  }
  return reasons;
}

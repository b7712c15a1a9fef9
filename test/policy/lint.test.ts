/**
 * Lint: rules that allow everything, rules with no effect, and local rules that can never have an
 * effect under the central policy; and silence where a policy is fine.
 */
import { formatLintFinding, lintPolicies } from '../../src/policy/index.js';
import { policy } from './fixtures.js';

const BASELINE = `defaultAction: allow
rules:
  - name: kube-system
    selector: {namespaces: [kube-system]}
    identities: {allow: [kube-system/coredns]}
  - name: no-default-sa
    identities: {deny: ["*/default"]}
  - name: keys
    keyTypes: [ECDSA-P256, RSA-2048]
  - name: ttl
    ttl: {max: 24h, default: 12h}
  - name: live
    liveWorkload: true
  - name: opt-in
    namespaceLabels: {meshca.io/identities: enabled}
  - name: dry
    mode: audit
    trustDomains: [cluster.local]`;

describe('lintPolicies: one layer', () => {
  it.each<[string, string, string[]]>([
    ['a clean policy', BASELINE, []],
    [
      'defaultAction allow and nothing constrained',
      'defaultAction: allow\nrules:\n  - name: ttl\n    ttl: {max: 1h}',
      [
        'central policy: allows every request: defaultAction is allow and no enforce rule constrains anything',
      ],
    ],
    [
      'a rule that allows everything under default deny',
      'defaultAction: deny\nrules:\n  - name: all\n    selector: {namespaces: ["*"]}',
      [
        'central rule "all": applies to every request and constrains nothing: it allows everything, so defaultAction deny never applies',
      ],
    ],
    [
      'a rule with no constraints under default allow',
      'defaultAction: allow\nrules:\n  - name: keys\n    keyTypes: [ECDSA-P256]\n  - name: shop\n    selector: {namespaces: [shop]}',
      [
        'central rule "shop": has no constraints: it allows what it selects, which defaultAction allow already does (no effect)',
      ],
    ],
    [
      'identities.allow */*',
      'defaultAction: deny\nrules:\n  - name: everyone\n    identities: {allow: ["*/*"]}',
      ['central rule "everyone": identities.allow matches every identity ("*/*")'],
    ],
    [
      'a grant rule under default deny is fine',
      'defaultAction: deny\nrules:\n  - name: shop\n    selector: {namespaces: [shop]}',
      [],
    ],
  ])('%s', (_name, spec, expected) => {
    const findings = lintPolicies(policy(spec, 'central'));
    expect(
      findings.map(
        (finding) =>
          `${finding.layer} ${finding.rule === undefined ? 'policy' : `rule "${finding.rule}"`}: ${finding.message}`,
      ),
    ).toEqual(expected);
  });
});

describe('lintPolicies: local against central', () => {
  it.each<[string, string, string[]]>([
    [
      'narrower constraints: no warning',
      `defaultAction: allow
rules:
  - name: shop-keys
    selector: {namespaces: [shop]}
    keyTypes: [ECDSA-P256]
    ttl: {max: 1h}
    requiredObjects: [{apiVersion: networking.k8s.io/v1, kind: Ingress}]`,
      [],
    ],
    [
      'key types looser than central',
      'defaultAction: allow\nrules:\n  - name: keys\n    keyTypes: [ECDSA-P256, ECDSA-P384, RSA-2048]',
      [
        'can never have an effect: looser than or equal to central (keyTypes allows at least the key types of central rule "keys")',
      ],
    ],
    [
      'ttl.max no shorter than central (for a subset of namespaces)',
      'defaultAction: allow\nrules:\n  - name: ttl\n    selector: {namespaces: ["team-*"]}\n    ttl: {max: 48h}',
      [
        'can never have an effect: looser than or equal to central (ttl.max is no shorter than the ttl.max of central rule "ttl")',
      ],
    ],
    [
      'liveWorkload already required',
      'defaultAction: allow\nrules:\n  - name: live\n    selector: {namespaces: [shop]}\n    liveWorkload: true',
      [
        'can never have an effect: looser than or equal to central (liveWorkload is already required by central rule "live")',
      ],
    ],
    [
      'one redundant constraint among useful ones',
      'defaultAction: allow\nrules:\n  - name: mixed\n    liveWorkload: true\n    keyTypes: [ECDSA-P256]',
      ['has no effect: liveWorkload is already required by central rule "live"'],
    ],
    [
      'a deny central already makes',
      'defaultAction: allow\nrules:\n  - name: no-default\n    identities: {deny: ["shop/default"]}',
      [
        'can never have an effect: looser than or equal to central (identities.deny denies nothing more than central rule "no-default-sa")',
      ],
    ],
    [
      'namespace labels central already requires',
      'defaultAction: allow\nrules:\n  - name: labels\n    namespaceLabels: {meshca.io/identities: enabled}',
      [
        'can never have an effect: looser than or equal to central (namespaceLabels are already required by central rule "opt-in")',
      ],
    ],
    [
      'an audit-mode central rule does not count',
      'defaultAction: allow\nrules:\n  - name: domains\n    trustDomains: [cluster.local]',
      [],
    ],
    [
      'selects only identities central denies',
      'defaultAction: allow\nrules:\n  - name: ks\n    selector: {namespaces: [kube-system], serviceAccounts: [kube-proxy]}\n    keyTypes: [ECDSA-P256]',
      [
        'can never have an effect: central rule "kube-system" allows none of the identities it selects',
      ],
    ],
    [
      'selects only default service accounts',
      'defaultAction: allow\nrules:\n  - name: defaults\n    selector: {serviceAccounts: [default]}\n    keyTypes: [ECDSA-P256]',
      [
        'can never have an effect: every identity it selects is denied by central rule "no-default-sa"',
      ],
    ],
  ])('%s', (_name, localSpec, expected) => {
    const findings = lintPolicies(policy(BASELINE, 'central'), policy(localSpec, 'local'));
    expect(
      findings.filter((finding) => finding.layer === 'local').map((finding) => finding.message),
    ).toEqual(expected);
  });

  it('a central default deny: a local rule for namespaces central never allows', () => {
    const central = policy(
      'defaultAction: deny\nrules:\n  - name: shop\n    selector: {namespaces: [shop, "team-*"]}',
      'central',
    );
    const local = policy(
      'defaultAction: allow\nrules:\n  - name: bank\n    selector: {namespaces: [bank]}\n    keyTypes: [ECDSA-P256]\n  - name: team\n    selector: {namespaces: ["team-a"]}\n    keyTypes: [ECDSA-P256]',
      'local',
    );
    expect(lintPolicies(central, local).map((finding) => [finding.rule, finding.message])).toEqual([
      [
        'bank',
        'can never have an effect: central denies by default and no central rule allows the namespaces it selects',
      ],
    ]);
  });

  it('locates findings: file, line and column of the rule', () => {
    const [finding] = lintPolicies(
      policy(BASELINE, 'central', 'central.yaml'),
      policy(
        'defaultAction: allow\nrules:\n  - name: keys\n    keyTypes: [ECDSA-P256, RSA-2048]',
        'local',
        'local.yaml',
      ),
    );
    expect(finding).toMatchObject({ origin: 'local.yaml', position: { line: 8, column: 7 } });
    expect(formatLintFinding(finding!)).toBe(
      'local.yaml:8:7: local rule "keys": can never have an effect: looser than or equal to central (keyTypes allows at least the key types of central rule "keys")',
    );
  });
});

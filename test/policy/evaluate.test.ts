/**
 * The evaluation semantics of src/policy/evaluate.ts, table by table: every constraint and
 * selector in both layers, the modes, the default action, AND across layers and local narrowing.
 */
import {
  evaluatePolicies,
  type CompiledPolicy,
  type PolicyEvaluation,
  type PolicyLayer,
} from '../../src/policy/index.js';
import {
  CLUSTER,
  FakeCluster,
  P256,
  P384,
  RSA2048,
  RSA8192,
  facts,
  liveCluster,
  never,
  policy,
  request,
  type RequestShape,
} from './fixtures.js';

const ALLOW_ALL = 'defaultAction: allow';
const INGRESS = 'networking.k8s.io/v1';

async function evaluate(
  layers: { central?: CompiledPolicy; local?: CompiledPolicy },
  shape: RequestShape,
  cluster: FakeCluster | undefined,
): Promise<PolicyEvaluation> {
  const evaluation = await evaluatePolicies(
    { central: layers.central, local: layers.local },
    request(shape),
    cluster === undefined ? facts() : facts([CLUSTER, cluster]),
    never,
  );
  if (evaluation === undefined) throw new Error('no evaluation');
  return evaluation;
}

/** One constraint case: a rule, a request, facts, and the verdict expected of the rule. */
interface ConstraintCase {
  readonly name: string;
  readonly rule: string;
  readonly shape?: RequestShape;
  /** Default: a cluster with namespace shop and the running pod shop/web-1. */
  readonly cluster?: () => FakeCluster | undefined;
  /** `allow`, or the reason (a substring) the rule denies with. */
  readonly expect: 'allow' | RegExp;
}

const CONSTRAINTS: ConstraintCase[] = [
  // identities
  { name: 'identities.allow: listed', rule: 'identities: {allow: [shop/web]}', expect: 'allow' },
  {
    name: 'identities.allow: glob',
    rule: 'identities: {allow: ["shop/*"]}',
    shape: { serviceAccount: 'api' },
    expect: 'allow',
  },
  {
    name: 'identities.allow: not listed',
    rule: 'identities: {allow: [shop/api]}',
    expect: /identity shop\/web is not among the allowed identities/,
  },
  {
    name: 'identities.allow: a glob matches within its segment only',
    rule: 'identities: {allow: ["s*/w*"]}',
    expect: 'allow',
  },
  {
    name: 'identities.allow: ? is one character',
    rule: 'identities: {allow: ["shop/we?"]}',
    expect: 'allow',
  },
  {
    name: 'identities.deny: listed',
    rule: 'identities: {deny: ["*/web"]}',
    expect: /identity shop\/web is denied/,
  },
  {
    name: 'identities.deny: not listed',
    rule: 'identities: {deny: ["*/default"]}',
    expect: 'allow',
  },
  {
    name: 'identities: deny wins over allow',
    rule: 'identities: {allow: ["shop/*"], deny: [shop/web]}',
    expect: /is denied/,
  },
  // trust domains
  { name: 'trustDomains: ours', rule: 'trustDomains: [cluster.local]', expect: 'allow' },
  {
    name: 'trustDomains: another',
    rule: 'trustDomains: [prod.example.com]',
    expect: /trust domain cluster.local is not allowed/,
  },
  // key types
  { name: 'keyTypes: P-256 allowed', rule: 'keyTypes: [ECDSA-P256]', expect: 'allow' },
  {
    name: 'keyTypes: RSA-2048 allowed',
    rule: 'keyTypes: [ECDSA-P256, RSA-2048]',
    shape: { key: RSA2048 },
    expect: 'allow',
  },
  {
    name: 'keyTypes: P-384 not allowed',
    rule: 'keyTypes: [ECDSA-P256, RSA-2048]',
    shape: { key: P384 },
    expect: /key type not allowed \(allowed: ECDSA-P256, RSA-2048\)/,
  },
  {
    name: 'keyTypes: RSA-8192 is none of the types',
    rule: 'keyTypes: [RSA-2048, RSA-3072, RSA-4096]',
    shape: { key: RSA8192 },
    expect: /key type not allowed/,
  },
  // namespace labels
  {
    name: 'namespaceLabels: present',
    rule: 'namespaceLabels: {meshca.io/identities: enabled}',
    cluster: () => new FakeCluster().withNamespace('shop', { 'meshca.io/identities': 'enabled' }),
    expect: 'allow',
  },
  {
    name: 'namespaceLabels: missing',
    rule: 'namespaceLabels: {meshca.io/identities: enabled}',
    cluster: () => new FakeCluster().withNamespace('shop', { 'meshca.io/identities': 'off' }),
    expect: /namespace shop lacks the label meshca.io\/identities=enabled/,
  },
  {
    name: 'namespaceLabels: namespace unknown',
    rule: 'namespaceLabels: {team: a}',
    cluster: () => new FakeCluster(),
    expect: /namespace shop does not exist/,
  },
  {
    name: 'namespaceLabels: development mode refuses',
    rule: 'namespaceLabels: {team: a}',
    cluster: () => undefined,
    expect: /no connection to cluster Kubernetes \(development mode\)/,
  },
  // live workload
  { name: 'liveWorkload: running pod', rule: 'liveWorkload: true', expect: 'allow' },
  {
    name: 'liveWorkload: pending pod (created a moment ago)',
    rule: 'liveWorkload: true',
    cluster: () => new FakeCluster().withPod({ phase: 'Pending', nodeName: '' }),
    expect: 'allow',
  },
  {
    name: 'liveWorkload: token not bound to a pod',
    rule: 'liveWorkload: true',
    shape: { pod: null },
    expect: /the caller's token is not bound to a pod/,
  },
  {
    name: 'liveWorkload: pod gone',
    rule: 'liveWorkload: true',
    cluster: () => new FakeCluster(),
    expect: /the caller's pod is gone \(deleted, or finished\)/,
  },
  {
    name: 'liveWorkload: pod replaced (other UID)',
    rule: 'liveWorkload: true',
    cluster: () => new FakeCluster().withPod({ uid: 'uid-web-2' }),
    expect: /the caller's pod was replaced/,
  },
  {
    name: 'liveWorkload: pod of another service account',
    rule: 'liveWorkload: true',
    cluster: () => new FakeCluster().withPod({ serviceAccount: 'other' }),
    expect: /runs as another service account/,
  },
  {
    name: 'liveWorkload: terminating',
    rule: 'liveWorkload: true',
    cluster: () => new FakeCluster().withPod({ terminating: true }),
    expect: /the caller's pod is terminating/,
  },
  {
    name: 'liveWorkload: finished',
    rule: 'liveWorkload: true',
    cluster: () => new FakeCluster().withPod({ phase: 'Succeeded' }),
    expect: /the caller's pod has finished/,
  },
  {
    name: 'liveWorkload: failed',
    rule: 'liveWorkload: true',
    cluster: () => new FakeCluster().withPod({ phase: 'Failed' }),
    expect: /has finished/,
  },
  {
    name: 'liveWorkload: development mode refuses',
    rule: 'liveWorkload: true',
    cluster: () => undefined,
    expect:
      /live workload cannot be checked: meshca has no connection to cluster Kubernetes \(development mode\)/,
  },
  {
    name: 'liveWorkload: ztunnel with a live pod of the subject on its node',
    rule: 'liveWorkload: true',
    shape: { impersonatedBy: { pod: { name: 'ztunnel-a', uid: 'uid-z' } } },
    cluster: () =>
      new FakeCluster()
        .withPod({
          namespace: 'istio-system',
          name: 'ztunnel-a',
          uid: 'uid-z',
          serviceAccount: 'ztunnel',
        })
        .withPod({ nodeName: 'node-a' }),
    expect: 'allow',
  },
  {
    name: 'liveWorkload: ztunnel, the subject runs on another node',
    rule: 'liveWorkload: true',
    shape: { impersonatedBy: { pod: { name: 'ztunnel-a', uid: 'uid-z' } } },
    cluster: () =>
      new FakeCluster()
        .withPod({
          namespace: 'istio-system',
          name: 'ztunnel-a',
          uid: 'uid-z',
          serviceAccount: 'ztunnel',
        })
        .withPod({ nodeName: 'node-b' }),
    expect: /no live pod of shop\/web runs on the node proxy's node/,
  },
  {
    name: "liveWorkload: ztunnel, the subject's only pod on the node is terminating",
    rule: 'liveWorkload: true',
    shape: { impersonatedBy: { pod: { name: 'ztunnel-a', uid: 'uid-z' } } },
    cluster: () =>
      new FakeCluster()
        .withPod({
          namespace: 'istio-system',
          name: 'ztunnel-a',
          uid: 'uid-z',
          serviceAccount: 'ztunnel',
        })
        .withPod({ terminating: true }),
    expect: /no live pod of shop\/web/,
  },
  {
    name: "liveWorkload: ztunnel's own pod gone",
    rule: 'liveWorkload: true',
    shape: { impersonatedBy: { pod: { name: 'ztunnel-a', uid: 'uid-z' } } },
    cluster: () => liveCluster(),
    expect: /the node proxy's pod is gone/,
  },
  // required objects
  {
    name: 'requiredObjects: an Ingress in the own namespace',
    rule: `requiredObjects: [{apiVersion: ${INGRESS}, kind: Ingress}]`,
    cluster: () => liveCluster().withObject(INGRESS, 'Ingress', 'shop', 'web'),
    expect: 'allow',
  },
  {
    name: 'requiredObjects: none in the own namespace',
    rule: `requiredObjects: [{apiVersion: ${INGRESS}, kind: Ingress}]`,
    cluster: () => liveCluster().withObject(INGRESS, 'Ingress', 'other', 'web'),
    expect: /no Ingress \(networking.k8s.io\/v1\) in namespace shop/,
  },
  {
    name: 'requiredObjects: in a given namespace',
    rule: `requiredObjects: [{apiVersion: ${INGRESS}, kind: Ingress, namespace: edge}]`,
    cluster: () => liveCluster().withObject(INGRESS, 'Ingress', 'edge', 'public'),
    expect: 'allow',
  },
  {
    name: 'requiredObjects: by name, wrong name',
    rule: `requiredObjects: [{apiVersion: ${INGRESS}, kind: Ingress, name: shop}]`,
    cluster: () => liveCluster().withObject(INGRESS, 'Ingress', 'shop', 'web'),
    expect: /no Ingress \(networking.k8s.io\/v1\) named shop in namespace shop/,
  },
  {
    name: 'requiredObjects: labels match',
    rule: `requiredObjects: [{apiVersion: ${INGRESS}, kind: Ingress, selector: {matchLabels: {tier: public}}}]`,
    cluster: () => liveCluster().withObject(INGRESS, 'Ingress', 'shop', 'web', { tier: 'public' }),
    expect: 'allow',
  },
  {
    name: 'requiredObjects: labels do not match',
    rule: `requiredObjects: [{apiVersion: ${INGRESS}, kind: Ingress, selector: {matchExpressions: [{key: tier, operator: In, values: [public]}]}}]`,
    cluster: () =>
      liveCluster().withObject(INGRESS, 'Ingress', 'shop', 'web', { tier: 'internal' }),
    expect: /with the required labels in namespace shop/,
  },
  {
    name: 'requiredObjects: every entry must be met',
    rule: `requiredObjects: [{apiVersion: ${INGRESS}, kind: Ingress}, {apiVersion: gateway.networking.k8s.io/v1, kind: Gateway}]`,
    cluster: () =>
      liveCluster()
        .withObject(INGRESS, 'Ingress', 'shop', 'web')
        .serving('gateway.networking.k8s.io/v1', 'Gateway'),
    expect: /no Gateway \(gateway.networking.k8s.io\/v1\) in namespace shop/,
  },
  {
    name: 'requiredObjects: a kind the cluster does not serve',
    rule: 'requiredObjects: [{apiVersion: networking.istio.io/v1, kind: Gateway}]',
    expect: /the cluster serves no Gateway/,
  },
  {
    name: 'requiredObjects: development mode refuses',
    rule: `requiredObjects: [{apiVersion: ${INGRESS}, kind: Ingress}]`,
    cluster: () => undefined,
    expect: /required objects cannot be checked: .*development mode/,
  },
];

describe.each<PolicyLayer>(['central', 'local'])('every constraint, in the %s layer', (layer) => {
  it.each(CONSTRAINTS)('$name', async ({ rule, shape, cluster, expect: expected }) => {
    const tested = policy(`defaultAction: allow\nrules:\n  - name: tested\n    ${rule}`, layer);
    const other = policy(ALLOW_ALL, 'other');
    const layers =
      layer === 'central' ? { central: tested, local: other } : { central: other, local: tested };
    const evaluation = await evaluate(
      layers,
      shape ?? {},
      cluster === undefined ? liveCluster() : cluster(),
    );
    const verdict = evaluation.layers.find((l) => l.layer === layer)?.rules[0];
    if (expected === 'allow') {
      expect(verdict?.verdict).toBe('allow');
      expect(evaluation).toMatchObject({ effect: 'allow' });
    } else {
      expect(verdict?.verdict).toBe('deny');
      expect(verdict?.reason).toMatch(expected);
      expect(evaluation).toMatchObject({ effect: 'deny', layer, rule: 'tested' });
      expect(evaluation.reason).toMatch(expected);
    }
  });
});

describe.each<PolicyLayer>(['central', 'local'])('selectors, in the %s layer', (layer) => {
  it.each<[string, string, RequestShape, FakeCluster | undefined, 'applies' | 'skipped' | RegExp]>([
    ['no selector: every request', '', {}, liveCluster(), 'applies'],
    ['namespaces: listed', 'namespaces: [shop]', {}, liveCluster(), 'applies'],
    ['namespaces: glob', 'namespaces: ["sh*"]', {}, liveCluster(), 'applies'],
    ['namespaces: other', 'namespaces: [bank]', {}, liveCluster(), 'skipped'],
    ['serviceAccounts: listed', 'serviceAccounts: [web]', {}, liveCluster(), 'applies'],
    ['serviceAccounts: other', 'serviceAccounts: ["api-*"]', {}, liveCluster(), 'skipped'],
    ['clusterIds: ours', 'clusterIds: [Kubernetes]', {}, liveCluster(), 'applies'],
    ['clusterIds: another', 'clusterIds: [east]', {}, liveCluster(), 'skipped'],
    ['clusterIds: glob', 'clusterIds: ["Kube*"]', {}, liveCluster(), 'applies'],
    [
      'namespaceSelector: matches',
      'namespaceSelector: {matchLabels: {team: a}}',
      {},
      new FakeCluster().withNamespace('shop', { team: 'a' }),
      'applies',
    ],
    [
      'namespaceSelector: does not match',
      'namespaceSelector: {matchExpressions: [{key: team, operator: NotIn, values: [a]}]}',
      {},
      new FakeCluster().withNamespace('shop', { team: 'a' }),
      'skipped',
    ],
    [
      'namespaceSelector: labels unknown (development mode): the rule refuses',
      'namespaceSelector: {matchLabels: {team: a}}',
      {},
      undefined,
      /namespace labels cannot be read/,
    ],
    [
      'several fields: all must match',
      'namespaces: [shop]\n      serviceAccounts: [api]',
      {},
      liveCluster(),
      'skipped',
    ],
  ])('%s', async (_name, selector, shape, cluster, expected) => {
    // The rule denies whenever it applies, so applying is visible as a denial.
    const rule = `  - name: probe\n    ${selector === '' ? '' : `selector:\n      ${selector}\n    `}identities: {deny: ["*/*"]}`;
    const tested = policy(`defaultAction: allow\nrules:\n${rule}`, layer);
    const other = policy(ALLOW_ALL, 'other');
    const layers =
      layer === 'central' ? { central: tested, local: other } : { central: other, local: tested };
    const evaluation = await evaluate(layers, shape, cluster);
    const verdict = evaluation.layers.find((l) => l.layer === layer)?.rules[0];
    if (expected === 'skipped') {
      expect(verdict?.verdict).toBe('not-applicable');
      expect(evaluation.effect).toBe('allow');
    } else if (expected === 'applies') {
      expect(verdict).toMatchObject({ verdict: 'deny', constraint: 'identities' });
    } else {
      expect(verdict).toMatchObject({ verdict: 'deny', constraint: 'selector' });
      expect(verdict?.reason).toMatch(expected);
    }
  });
});

describe.each<PolicyLayer>(['central', 'local'])(
  'modes and the default action, in the %s layer',
  (layer) => {
    const run = (spec: string, shape: RequestShape = {}): Promise<PolicyEvaluation> => {
      const tested = policy(spec, layer);
      const other = policy(ALLOW_ALL, 'other');
      return evaluate(
        layer === 'central' ? { central: tested, local: other } : { central: other, local: tested },
        shape,
        liveCluster(),
      );
    };

    it.each<[string, string, RequestShape, { effect: string; rule: string; audits: string[] }]>([
      [
        'defaultAction allow, no rules: allowed by default',
        'defaultAction: allow',
        {},
        { effect: 'allow', rule: 'default', audits: [] },
      ],
      [
        'defaultAction deny, no rules: denied by default',
        'defaultAction: deny',
        {},
        { effect: 'deny', rule: 'default', audits: [] },
      ],
      [
        'defaultAction deny, an applying rule allows: allowed by it',
        'defaultAction: deny\nrules:\n  - name: shop\n    selector: {namespaces: [shop]}',
        {},
        { effect: 'allow', rule: 'shop', audits: [] },
      ],
      [
        'defaultAction deny, the rule does not apply: denied by default',
        'defaultAction: deny\nrules:\n  - name: shop\n    selector: {namespaces: [shop]}',
        { namespace: 'bank' },
        { effect: 'deny', rule: 'default', audits: [] },
      ],
      [
        'the first enforce rule that denies is named',
        'defaultAction: allow\nrules:\n  - name: a\n    keyTypes: [RSA-2048]\n  - name: b\n    identities: {deny: [shop/web]}',
        {},
        { effect: 'deny', rule: 'a', audits: [] },
      ],
      [
        'a denial wins over an earlier allow',
        'defaultAction: deny\nrules:\n  - name: a\n    keyTypes: [ECDSA-P256]\n  - name: b\n    identities: {deny: [shop/web]}',
        {},
        { effect: 'deny', rule: 'b', audits: [] },
      ],
      [
        'the first enforce rule that allows is named',
        'defaultAction: deny\nrules:\n  - name: a\n    keyTypes: [ECDSA-P256]\n  - name: b\n    trustDomains: [cluster.local]',
        {},
        { effect: 'allow', rule: 'a', audits: [] },
      ],
      [
        'an audit rule that would deny: issued, with an audit verdict',
        'defaultAction: allow\nrules:\n  - name: dry\n    mode: audit\n    identities: {deny: [shop/web]}',
        {},
        { effect: 'allow', rule: 'default', audits: ['dry'] },
      ],
      [
        'an audit rule that allows: no verdict',
        'defaultAction: allow\nrules:\n  - name: dry\n    mode: audit\n    identities: {deny: [shop/api]}',
        {},
        { effect: 'allow', rule: 'default', audits: [] },
      ],
      [
        'an audit rule beside an enforce denial: denied, and the audit recorded',
        'defaultAction: allow\nrules:\n  - name: dry\n    mode: audit\n    keyTypes: [RSA-2048]\n  - name: hard\n    identities: {deny: [shop/web]}',
        {},
        { effect: 'deny', rule: 'hard', audits: ['dry'] },
      ],
      [
        "an audit rule's allow does not open an enforced default deny",
        'defaultAction: deny\nrules:\n  - name: dry\n    mode: audit\n    selector: {namespaces: [shop]}',
        {},
        { effect: 'deny', rule: 'default', audits: [] },
      ],
      [
        'spec.mode audit, default deny, no rule applies: issued, the default audited',
        'defaultAction: deny\nmode: audit\nrules:\n  - name: shop\n    selector: {namespaces: [shop]}',
        { namespace: 'bank' },
        { effect: 'allow', rule: 'default', audits: ['default'] },
      ],
      [
        'spec.mode audit, default deny, an (audit) rule allows: issued, nothing audited',
        'defaultAction: deny\nmode: audit\nrules:\n  - name: shop\n    selector: {namespaces: [shop]}',
        {},
        { effect: 'allow', rule: 'default', audits: [] },
      ],
      [
        'spec.mode audit, a rule of its own mode enforce still enforces',
        'defaultAction: allow\nmode: audit\nrules:\n  - name: hard\n    mode: enforce\n    identities: {deny: [shop/web]}',
        {},
        { effect: 'deny', rule: 'hard', audits: [] },
      ],
    ])('%s', async (_name, spec, shape, expected) => {
      const evaluation = await run(spec, shape);
      const own = evaluation.layers.find((l) => l.layer === layer);
      expect(own).toMatchObject({ effect: expected.effect, rule: expected.rule });
      expect(own?.audits.map((audit) => audit.rule)).toEqual(expected.audits);
      for (const audit of own?.audits ?? []) {
        expect(audit).toMatchObject({ effect: 'audit', layer });
        expect(audit.reason).toEqual(expect.any(String));
      }
      if (expected.rule === 'default' && expected.effect === 'deny') {
        const identity = `${shape.namespace ?? 'shop'}/web`;
        expect(own?.reason).toBe(
          `no ${layer} rule allows ${identity} and the default action is deny`,
        );
      }
    });
  },
);

describe('two layers: AND', () => {
  const denyWeb = (name: string, mode = 'enforce'): CompiledPolicy =>
    policy(
      `defaultAction: allow\nrules:\n  - name: no-web\n    mode: ${mode}\n    identities: {deny: [shop/web]}`,
      name,
    );
  const allowShop = (name: string): CompiledPolicy =>
    policy('defaultAction: deny\nrules:\n  - name: shop\n    selector: {namespaces: [shop]}', name);

  it.each<[string, { central?: CompiledPolicy; local?: CompiledPolicy }, RequestShape, object]>([
    [
      'central denies, local allows: denied by central',
      { central: denyWeb('c'), local: allowShop('l') },
      {},
      { effect: 'deny', layer: 'central', rule: 'no-web' },
    ],
    [
      'central allows, local denies: denied by local',
      { central: policy(ALLOW_ALL, 'c'), local: denyWeb('l') },
      {},
      { effect: 'deny', layer: 'local', rule: 'no-web' },
    ],
    [
      'both allow: named by the local rule',
      { central: policy(ALLOW_ALL, 'c'), local: allowShop('l') },
      {},
      { effect: 'allow', layer: 'local', rule: 'shop' },
    ],
    [
      'central only: named by central',
      { central: allowShop('c') },
      {},
      { effect: 'allow', layer: 'central', rule: 'shop' },
    ],
    ['local only', { local: denyWeb('l') }, {}, { effect: 'deny', layer: 'local', rule: 'no-web' }],
    [
      'local narrows: an identity central allows, local refuses by default',
      { central: policy(ALLOW_ALL, 'c'), local: allowShop('l') },
      { namespace: 'bank' },
      { effect: 'deny', layer: 'local', rule: 'default' },
    ],
    [
      'local cannot widen: a local allow does not undo a central denial',
      {
        central: policy('defaultAction: deny', 'c'),
        local: policy(
          'defaultAction: allow\nrules:\n  - name: everything\n    selector: {namespaces: ["*"]}',
          'l',
        ),
      },
      {},
      { effect: 'deny', layer: 'central', rule: 'default' },
    ],
    [
      'local cannot turn a central enforce rule into audit',
      {
        central: denyWeb('c'),
        local: policy(
          'defaultAction: allow\nmode: audit\nrules:\n  - name: no-web\n    mode: audit\n    identities: {deny: [shop/web]}',
          'l',
        ),
      },
      {},
      { effect: 'deny', layer: 'central', rule: 'no-web' },
    ],
    [
      'audits of both layers are kept',
      { central: denyWeb('c', 'audit'), local: denyWeb('l', 'audit') },
      {},
      {
        effect: 'allow',
        audits: [
          expect.objectContaining({ layer: 'central', rule: 'no-web', effect: 'audit' }),
          expect.objectContaining({ layer: 'local', rule: 'no-web', effect: 'audit' }),
        ],
      },
    ],
  ])('%s', async (_name, layers, shape, expected) => {
    expect(await evaluate(layers, shape, liveCluster())).toMatchObject(expected);
  });

  it('evaluates both layers even when central denies (explain shows both)', async () => {
    const evaluation = await evaluate(
      { central: denyWeb('c'), local: allowShop('l') },
      {},
      liveCluster(),
    );
    expect(evaluation.layers.map((l) => [l.layer, l.effect, l.rule])).toEqual([
      ['central', 'deny', 'no-web'],
      ['local', 'allow', 'shop'],
    ]);
  });

  it('has nothing to say without any policy', async () => {
    await expect(
      evaluatePolicies({ central: undefined, local: undefined }, request(), facts(), never),
    ).resolves.toBeUndefined();
  });
});

describe('TTL bounds', () => {
  it.each<[string, string, string, object]>([
    [
      'smallest max and default across layers',
      'defaultAction: allow\nrules:\n  - name: day\n    ttl: {max: 24h, default: 12h}',
      'defaultAction: allow\nrules:\n  - name: hours\n    ttl: {max: 6h, default: 1h}',
      {
        maxSeconds: 6 * 3600,
        maxSetBy: 'local/hours',
        defaultSeconds: 3600,
        defaultSetBy: 'local/hours',
      },
    ],
    [
      'central tighter',
      'defaultAction: allow\nrules:\n  - name: day\n    ttl: {max: 1h}',
      'defaultAction: allow\nrules:\n  - name: hours\n    ttl: {max: 6h, default: 2h}',
      {
        maxSeconds: 3600,
        maxSetBy: 'central/day',
        defaultSeconds: 7200,
        defaultSetBy: 'local/hours',
      },
    ],
    [
      "an audit rule's TTL is not applied",
      'defaultAction: allow\nrules:\n  - name: day\n    ttl: {max: 24h}',
      'defaultAction: allow\nrules:\n  - name: dry\n    mode: audit\n    ttl: {max: 1h}',
      { maxSeconds: 86400, maxSetBy: 'central/day', defaultSeconds: undefined },
    ],
    [
      'a rule that does not apply sets no TTL',
      'defaultAction: allow\nrules:\n  - name: bank\n    selector: {namespaces: [bank]}\n    ttl: {max: 1h}',
      'defaultAction: allow',
      { maxSeconds: undefined, defaultSeconds: undefined },
    ],
  ])('%s', async (_name, central, local, ttl) => {
    const evaluation = await evaluate(
      { central: policy(central, 'c'), local: policy(local, 'l') },
      {},
      liveCluster(),
    );
    expect(evaluation.ttl).toMatchObject(ttl);
  });
});

describe('facts are gathered only when an applying rule needs them', () => {
  it.each<[string, string, RequestShape, { pods: number; namespaces: number; objects: number }]>([
    ['no fact needed', 'keyTypes: [ECDSA-P256]', {}, { pods: 0, namespaces: 0, objects: 0 }],
    [
      'a live-workload rule that does not apply',
      'selector: {namespaces: [bank]}\n    liveWorkload: true',
      {},
      { pods: 0, namespaces: 0, objects: 0 },
    ],
    [
      'a live-workload rule that applies',
      'liveWorkload: true',
      {},
      { pods: 1, namespaces: 0, objects: 0 },
    ],
    [
      'an object rule that applies',
      `requiredObjects: [{apiVersion: ${INGRESS}, kind: Ingress}]`,
      {},
      { pods: 0, namespaces: 0, objects: 1 },
    ],
    [
      'a namespace selector',
      'selector: {namespaceSelector: {matchLabels: {a: b}}}',
      {},
      { pods: 0, namespaces: 1, objects: 0 },
    ],
  ])('%s', async (_name, rule, shape, lookups) => {
    const cluster = liveCluster().serving(INGRESS, 'Ingress');
    await evaluate(
      { central: policy(`defaultAction: allow\nrules:\n  - name: r\n    ${rule}`, 'c') },
      shape,
      cluster,
    );
    expect(cluster.lookups).toEqual(lookups);
  });

  it('a watch that has not loaded yet makes the decision unavailable, not a denial', async () => {
    const cluster = liveCluster();
    cluster.loading.add(`${INGRESS}/Ingress`);
    await expect(
      evaluate(
        {
          central: policy(
            `defaultAction: allow\nrules:\n  - name: r\n    requiredObjects: [{apiVersion: ${INGRESS}, kind: Ingress}]`,
            'c',
          ),
        },
        {},
        cluster,
      ),
    ).rejects.toMatchObject({ code: 'ERR_POLICY_UNAVAILABLE', kind: 'unavailable' });
  });

  it('the key type is read from the request', async () => {
    const evaluation = await evaluate(
      {
        central: policy(
          'defaultAction: allow\nrules:\n  - name: k\n    keyTypes: [ECDSA-P384]',
          'c',
        ),
      },
      { key: P256 },
      liveCluster(),
    );
    expect(evaluation.reason).toBe('key type not allowed (allowed: ECDSA-P384)');
  });
});

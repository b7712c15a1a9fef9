/**
 * Policy documents: what parses, and every refusal located by file, JSON path, line and column.
 */
import {
  PolicyParseError,
  formatPolicyIssue,
  parsePolicyDocument,
  type PolicyIssue,
} from '../../src/policy/index.js';
import { document } from './fixtures.js';

function issuesOf(text: string | Uint8Array, file = 'p.yaml'): PolicyIssue[] {
  try {
    parsePolicyDocument(typeof text === 'string' ? Buffer.from(text) : text, file);
  } catch (error) {
    if (error instanceof PolicyParseError) return [...error.issues];
    throw error;
  }
  throw new Error('the document parsed');
}

describe('parsePolicyDocument', () => {
  it('reads a full document, with defaults, durations in seconds and rule positions', () => {
    const text = document(`
defaultAction: deny
rules:
  - name: shop
    selector:
      namespaces: [shop, "team-*"]
      namespaceSelector:
        matchLabels: {team: a}
        matchExpressions: [{key: env, operator: In, values: [prod]}]
      serviceAccounts: ["*"]
      clusterIds: [Kubernetes]
    identities: {allow: ["shop/*"], deny: [shop/admin]}
    trustDomains: [cluster.local]
    keyTypes: [ECDSA-P256, RSA-2048]
    ttl: {max: 1d, default: 90m}
    liveWorkload: true
    requiredObjects:
      - apiVersion: networking.k8s.io/v1
        kind: Ingress
        selector: {matchLabels: {tier: public}}
      - {apiVersion: v1, kind: Service, namespace: edge, name: gw}
    namespaceLabels: {meshca.io/identities: enabled}
  - name: audit-me
    mode: audit
    ttl: {max: 3600}
`);
    const parsed = parsePolicyDocument(Buffer.from(text), 'p.yaml');
    expect(parsed.document.spec.mode).toBe('enforce');
    expect(parsed.document.spec.rules[0]?.ttl).toEqual({ max: 86400, default: 5400 });
    expect(parsed.document.spec.rules[1]?.ttl).toEqual({ max: 3600 });
    expect(parsed.rulePositions).toEqual([
      { line: 8, column: 7 },
      { line: 27, column: 7 },
    ]);
    expect(parsed.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(parsed.file).toBe('p.yaml');
  });

  it('reads JSON too', () => {
    const json = JSON.stringify({
      apiVersion: 'meshca.io/v1alpha1',
      kind: 'IssuancePolicy',
      metadata: { name: 'json' },
      spec: { defaultAction: 'allow', rules: [{ name: 'k', keyTypes: ['ECDSA-P384'] }] },
    });
    expect(parsePolicyDocument(Buffer.from(json), 'p.json').document.spec.rules).toHaveLength(1);
  });

  it('the SHA-256 is of the exact bytes', () => {
    const a = parsePolicyDocument(Buffer.from(document('defaultAction: allow')), 'a');
    const b = parsePolicyDocument(Buffer.from(`${document('defaultAction: allow')}\n`), 'b');
    expect(a.sha256).not.toBe(b.sha256);
  });

  it.each<[string, string, Partial<PolicyIssue>[]]>([
    [
      'a wrong apiVersion',
      'apiVersion: meshca.io/v1\nkind: IssuancePolicy\nmetadata: {name: a}\nspec: {defaultAction: allow}\n',
      [{ path: 'apiVersion', line: 1, column: 13, message: 'must be meshca.io/v1alpha1' }],
    ],
    [
      'a wrong kind',
      'apiVersion: meshca.io/v1alpha1\nkind: Policy\nmetadata: {name: a}\nspec: {defaultAction: allow}\n',
      [{ path: 'kind', line: 2, column: 7, message: 'must be IssuancePolicy' }],
    ],
    [
      'no defaultAction (it must be explicit)',
      document('rules: []'),
      [{ path: 'spec.defaultAction', line: 6, column: 3 }],
    ],
    [
      'an unknown field, pointed at its key',
      document('defaultAction: allow\nrules:\n  - name: a\n    liveWorkLoad: true'),
      [{ path: 'spec.rules[0].liveWorkLoad', line: 9, column: 7, message: 'unknown field' }],
    ],
    [
      'an unknown key type',
      document('defaultAction: allow\nrules:\n  - name: a\n    keyTypes: [ECDSA-P256, RSA-1024]'),
      [{ path: 'spec.rules[0].keyTypes[1]', line: 9, column: 30 }],
    ],
    [
      'a TTL default longer than its max',
      document('defaultAction: allow\nrules:\n  - name: a\n    ttl: {max: 1h, default: 2h}'),
      [
        {
          path: 'spec.rules[0].ttl.default',
          line: 9,
          column: 31,
          message: 'must not be longer than max',
        },
      ],
    ],
    [
      'a TTL that is not a duration',
      document('defaultAction: allow\nrules:\n  - name: a\n    ttl: {max: soon}'),
      [
        {
          path: 'spec.rules[0].ttl.max',
          message: expect.stringContaining('is not a duration') as string,
        },
      ],
    ],
    [
      'an identity that is not ns/sa',
      document('defaultAction: allow\nrules:\n  - name: a\n    identities: {deny: [admin]}'),
      [{ path: 'spec.rules[0].identities.deny[0]', line: 9, column: 27 }],
    ],
    [
      'identities with neither allow nor deny',
      document('defaultAction: allow\nrules:\n  - name: a\n    identities: {}'),
      [{ path: 'spec.rules[0].identities', message: 'needs allow or deny' }],
    ],
    [
      'a rule name that is not a DNS label',
      document('defaultAction: allow\nrules:\n  - name: Key_Types'),
      [{ path: 'spec.rules[0].name', line: 8, column: 13 }],
    ],
    [
      'the reserved rule name',
      document('defaultAction: allow\nrules:\n  - name: default'),
      [{ path: 'spec.rules[0].name', message: '"default" is reserved for the defaultAction' }],
    ],
    [
      'duplicate rule names',
      document('defaultAction: allow\nrules:\n  - name: a\n  - name: a'),
      [
        {
          path: 'spec.rules[1].name',
          line: 9,
          column: 13,
          message: expect.stringContaining('duplicate rule name "a"') as string,
        },
      ],
    ],
    [
      'In without values',
      document(
        'defaultAction: allow\nrules:\n  - name: a\n    selector:\n      namespaceSelector:\n        matchExpressions: [{key: a, operator: In}]',
      ),
      [
        {
          path: 'spec.rules[0].selector.namespaceSelector.matchExpressions[0].values',
          message: 'In needs at least one value',
        },
      ],
    ],
    [
      'an empty label selector',
      document('defaultAction: allow\nrules:\n  - name: a\n    selector: {namespaceSelector: {}}'),
      [
        {
          path: 'spec.rules[0].selector.namespaceSelector',
          message: 'needs matchLabels or matchExpressions',
        },
      ],
    ],
    [
      'a bad apiVersion of a required object',
      document(
        'defaultAction: allow\nrules:\n  - name: a\n    requiredObjects: [{apiVersion: "networking.k8s.io", kind: Ingress}]',
      ),
      [{ path: 'spec.rules[0].requiredObjects[0].apiVersion' }],
    ],
    [
      'an empty namespace list',
      document('defaultAction: allow\nrules:\n  - name: a\n    selector: {namespaces: []}'),
      [{ path: 'spec.rules[0].selector.namespaces' }],
    ],
  ])('refuses %s', (_name, text, expected) => {
    const issues = issuesOf(text);
    expect(issues).toHaveLength(expected.length);
    expected.forEach((issue, index) => {
      expect(issues[index]).toMatchObject({ file: 'p.yaml', ...issue });
    });
  });

  it('reports every problem at once, in document order', () => {
    const issues = issuesOf(
      document('defaultAction: maybe\nrules:\n  - name: a\n    keyTypes: [DSA]\n    colour: red'),
    );
    expect(issues.map((issue) => issue.path)).toEqual([
      'spec.defaultAction',
      'spec.rules[0].keyTypes[0]',
      'spec.rules[0].colour',
    ]);
  });

  it.each<[string, string | Uint8Array, Partial<PolicyIssue>]>([
    ['a YAML syntax error, located', 'apiVersion: [meshca\nkind: x\n', { path: '', line: 2 }],
    [
      'a duplicate key',
      'a: 1\na: 2\n',
      { line: 2, message: expect.stringContaining('unique') as string },
    ],
    ['an empty file', '', { message: 'the document is empty' }],
    [
      'several documents',
      `${document('defaultAction: allow')}---\n${document('defaultAction: deny')}`,
      { message: expect.stringContaining('several YAML documents') as string, line: 8 },
    ],
    [
      'bytes that are not UTF-8',
      new Uint8Array([0xff, 0xfe, 0x00]),
      { message: 'the document is not valid UTF-8' },
    ],
    [
      'a document too large',
      `# ${'x'.repeat(1024 * 1024)}\n`,
      { message: expect.stringContaining('larger than') as string },
    ],
  ])('refuses %s', (_name, text, expected) => {
    const [issue] = issuesOf(text);
    expect(issue).toMatchObject(expected);
  });

  it('formats issues as file:line:column: path: message', () => {
    const error = new PolicyParseError([
      { file: 'c.yaml', path: 'spec.rules[0].keyTypes[1]', line: 9, column: 29, message: 'bad' },
      { file: 'c.yaml', path: '', line: undefined, column: undefined, message: 'whole' },
    ]);
    expect(error.message).toBe('c.yaml:9:29: spec.rules[0].keyTypes[1]: bad\nc.yaml: whole');
    expect(formatPolicyIssue(error.issues[0]!)).toBe('c.yaml:9:29: spec.rules[0].keyTypes[1]: bad');
  });
});

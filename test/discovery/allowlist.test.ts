/**
 * The allowlist: its file format (valid and invalid documents, with the problems named) and
 * which rule covers which finding.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  Allowlist,
  loadAllowlist,
  parseAllowlist,
  type FindingDraft,
} from '../../src/discovery/index.js';
import { MeshCaError } from '../../src/errors.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';

afterAll(removeTempDirs);

const FINGERPRINT = 'ab'.repeat(32);

const finding = (change: Partial<FindingDraft> = {}): FindingDraft => ({
  kind: 'self-signed-ca',
  severity: 'high',
  object: {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    name: 'gatekeeper',
  },
  location: 'webhooks[x].clientConfig.caBundle',
  certificate: {
    subject: 'CN=gatekeeper-ca',
    issuer: 'CN=gatekeeper-ca',
    serialNumber: '01',
    sha256: FINGERPRINT,
    notBefore: new Date(0),
    notAfter: new Date(0),
    isCa: true,
    selfSigned: true,
    key: 'RSA-2048',
    signatureAlgorithm: 'sha256WithRSAEncryption',
  },
  why: 'because',
  ...change,
});

const inNamespace = (namespace: string): Partial<FindingDraft> => ({
  object: { apiVersion: 'v1', kind: 'Secret', namespace, name: 'ca' },
});

describe('parseAllowlist', () => {
  it('reads every rule form, normalising fingerprints', () => {
    const allowlist = parseAllowlist(
      `
allow:
  - namespace: cert-manager
    reason: cert-manager's own CA
  - object: { kind: ValidatingWebhookConfiguration, name: gatekeeper }
    reason: Gatekeeper rotates its webhook CA
    kinds: [self-signed-ca]
  - fingerprint: ${FINGERPRINT.toUpperCase().match(/../g)?.join(':') ?? ''}
    reason: lab root (SEC-123)
`,
      'test',
    );
    expect(allowlist.rules).toEqual([
      { namespace: 'cert-manager', reason: "cert-manager's own CA" },
      {
        object: { kind: 'ValidatingWebhookConfiguration', name: 'gatekeeper' },
        reason: 'Gatekeeper rotates its webhook CA',
        kinds: ['self-signed-ca'],
      },
      { fingerprint: FINGERPRINT, reason: 'lab root (SEC-123)' },
    ]);
  });

  it('accepts JSON and an empty document', () => {
    expect(
      parseAllowlist('{"allow": [{"namespace": "x", "reason": "y"}]}', 't').rules,
    ).toHaveLength(1);
    expect(parseAllowlist('', 't').rules).toEqual([]);
  });

  const invalid: [string, string, RegExp][] = [
    [
      'no reason',
      'allow: [{ namespace: x }]',
      /allow\.0\.reason: every allowlist entry needs a reason/,
    ],
    [
      'an empty reason',
      'allow: [{ namespace: x, reason: "  " }]',
      /allow\.0\.reason: every allowlist entry needs a reason/,
    ],
    [
      'two selectors in one rule',
      'allow: [{ namespace: x, object: { kind: Secret, name: y }, reason: z }]',
      /allow\.0: give exactly one of namespace, object or fingerprint/,
    ],
    [
      'no selector',
      'allow: [{ reason: z }]',
      /allow\.0: give exactly one of namespace, object or fingerprint/,
    ],
    [
      'a short fingerprint',
      'allow: [{ fingerprint: abcd, reason: z }]',
      /allow\.0\.fingerprint: a fingerprint is 64 hex digits/,
    ],
    [
      'an unknown kind',
      'allow: [{ namespace: x, reason: z, kinds: [rogue] }]',
      /allow\.0\.kinds\.0: /,
    ],
    ['an unknown top-level key', 'allowed: []', /\(top level\): Unrecognized key: "allowed"/],
    ['not YAML', 'allow: [', /not YAML or JSON/],
  ];
  it.each(invalid)('refuses %s, naming the problem', (_name, text, problem) => {
    let thrown: unknown;
    try {
      parseAllowlist(text, 'allowlist f.yaml');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(MeshCaError);
    expect((thrown as MeshCaError).code).toBe('ERR_DISCOVERY_ALLOWLIST_INVALID');
    expect((thrown as MeshCaError).message).toMatch(/^allowlist f\.yaml: /);
    expect((thrown as MeshCaError).message).toMatch(problem);
  });

  it('loads a file, and refuses one it cannot read', async () => {
    const path = join(tempDir('meshca-allowlist-'), 'allow.yaml');
    writeFileSync(path, 'allow:\n  - namespace: a\n    reason: b\n');
    expect((await loadAllowlist(path)).rules).toHaveLength(1);
    await expect(loadAllowlist(`${path}.missing`)).rejects.toMatchObject({
      code: 'ERR_DISCOVERY_ALLOWLIST_INVALID',
    });
  });
});

describe('Allowlist.match', () => {
  const allowlist = new Allowlist([
    { namespace: 'cert-manager', reason: 'ns' },
    {
      object: { kind: 'ValidatingWebhookConfiguration', name: 'gatekeeper' },
      reason: 'obj',
      kinds: ['self-signed-ca'],
    },
    { object: { kind: 'Secret', namespace: 'istio-system', name: 'cacerts' }, reason: 'meshca' },
    { fingerprint: `CD:${'cd'.repeat(31)}`, reason: 'fp' },
  ]);
  const cases: [string, () => FindingDraft, string | undefined][] = [
    ['a cluster-scoped object by kind and name', () => finding(), 'object:obj'],
    ['the same object, another kind of finding', () => finding({ kind: 'weak-key' }), undefined],
    [
      'an object in an allowlisted namespace',
      () => finding(inNamespace('cert-manager')),
      'namespace:ns',
    ],
    ['an object in another namespace', () => finding(inNamespace('team')), undefined],
    [
      'a namespaced object by namespace and name',
      () =>
        finding({
          object: { apiVersion: 'v1', kind: 'Secret', namespace: 'istio-system', name: 'cacerts' },
        }),
      'object:meshca',
    ],
    [
      'the same name in another namespace',
      () =>
        finding({
          object: { apiVersion: 'v1', kind: 'Secret', namespace: 'other', name: 'cacerts' },
        }),
      undefined,
    ],
    [
      'a fingerprint, in any object',
      () =>
        finding({
          ...inNamespace('team'),
          certificate: { ...finding().certificate!, sha256: 'cd'.repeat(32) },
        }),
      'fingerprint:fp',
    ],
    [
      'a finding without a certificate is never matched by fingerprint',
      () => {
        const draft: { -readonly [K in keyof FindingDraft]?: FindingDraft[K] } = finding(
          inNamespace('team'),
        );
        delete draft.certificate;
        return draft as FindingDraft;
      },
      undefined,
    ],
  ];
  it.each(cases)('%s', (_name, build, expected) => {
    const match = allowlist.match(build());
    expect(match === undefined ? undefined : `${match.rule}:${match.reason}`).toBe(expected);
  });

  it('with() adds rules (the composition root adds meshca’s own CA Secret)', () => {
    const more = new Allowlist().with([{ namespace: 'x', reason: 'y' }]);
    expect(more.match(finding(inNamespace('x')))?.rule).toBe('namespace');
  });
});

/**
 * The layered issuance policy wired into `meshca serve` (in-process, development mode, over real
 * gRPC/TLS): no policy leaves the TTL limits alone; central AND local, each denial naming its
 * layer and rule; audit rules issue and are counted; TTLs clamped to the smallest limit; file
 * policies reload and a broken edit keeps the one in force; without a cluster the rules that
 * need one refuse, saying why.
 */
import { status as Status } from '@grpc/grpc-js';
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { systemClock } from '../../src/clock.js';
import { issueDevToken } from '../../src/devmode/index.js';
import { document } from '../policy/fixtures.js';
import { eventually } from '../support/kube.js';
import {
  callCa,
  httpGet,
  metricValue,
  spiffe,
  writePolicy,
  type CallOutcome,
} from '../support/policy.js';
import { startDevServer, type DevServer } from '../support/server.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';

const CENTRAL = `
defaultAction: allow
rules:
  - name: no-default-sa
    identities: { deny: ['*/default'] }
  - name: short-lived
    ttl: { max: 1h, default: 30m }
`;
const LOCAL = `
defaultAction: allow
rules:
  - name: shop-keys
    selector: { namespaces: [shop] }
    keyTypes: [ECDSA-P384]
  - name: bank-dry-run
    mode: audit
    selector: { namespaces: [bank] }
    identities: { allow: [bank/api] }
`;

/** Lifetime of the leaf of `chain`, seconds, without the backdate. */
function lifetimeSeconds(chain: readonly string[], backdateSeconds = 120): number {
  const leaf = new X509Certificate(chain[0] ?? '');
  return (Date.parse(leaf.validTo) - Date.parse(leaf.validFrom)) / 1000 - backdateSeconds;
}

function logLines(dev: DevServer): Record<string, unknown>[] {
  return dev.logs().map((line) => JSON.parse(line) as Record<string, unknown>);
}

async function metrics(dev: DevServer): Promise<string> {
  return (await httpGet(dev.server.httpPort, '/metrics')).body;
}

afterAll(removeTempDirs);

describe('meshca serve without a policy', () => {
  let dev: DevServer;
  beforeAll(async () => {
    dev = await startDevServer();
  });
  afterAll(() => dev.stop());

  it('decides with the TTL limits alone, and exposes no policy metrics or checks', async () => {
    const outcome = await callCa(
      dev.client(),
      await dev.token('default', 'default'),
      spiffe('default', 'default'),
      48 * 3600,
    );
    expect(outcome.code).toBe(Status.OK);
    expect(lifetimeSeconds(outcome.chain)).toBe(24 * 3600);
    expect(await metrics(dev)).not.toContain('meshca_policy_');
    expect(Object.keys(dev.server.ops.readiness().details)).not.toContain('policy');
  });
});

describe('meshca serve with a central and a local policy file', () => {
  let dir: string;
  let dev: DevServer;
  let localFile: string;
  const call = async (namespace: string, sa: string, ttl = 0): Promise<CallOutcome> =>
    callCa(dev.client(), await dev.token(namespace, sa), spiffe(namespace, sa), ttl);

  beforeAll(async () => {
    dir = tempDir('meshca-policy-');
    const centralFile = writePolicy(dir, 'central.yaml', 'security-test', CENTRAL);
    localFile = writePolicy(dir, 'local.yaml', 'platform-test', LOCAL);
    dev = await startDevServer([
      '--policy-central',
      centralFile,
      '--policy-local',
      localFile,
      '--policy-reload-interval',
      '200ms',
    ]);
  });
  afterAll(() => dev.stop());

  it.each<[string, string, string, RegExp]>([
    [
      'central denies: the central rule is named',
      'default',
      'default',
      /^policy central\/no-default-sa: identity default\/default is denied$/,
    ],
    [
      'local narrows what central allows: the local rule is named',
      'shop',
      'web',
      /^policy local\/shop-keys: key type not allowed \(allowed: ECDSA-P384\)$/,
    ],
  ])('%s', async (_what, namespace, sa, message) => {
    const outcome = await call(namespace, sa);
    expect(outcome.code).toBe(Status.PERMISSION_DENIED);
    expect(outcome.details).toMatch(message);
    const refused = logLines(dev).findLast((line) => line['msg'] === 'certificate request refused');
    expect(refused).toMatchObject({
      code: 'ERR_POLICY_DENIED',
      identity: spiffe(namespace, sa),
      reason: outcome.details,
    });
  });

  it('issues what an audit rule would deny, and counts and logs it', async () => {
    const before =
      metricValue(await metrics(dev), 'meshca_policy_decisions_total', {
        layer: 'local',
        rule: 'bank-dry-run',
        effect: 'audit',
      }) ?? 0;
    const outcome = await call('bank', 'batch');
    expect(outcome.code).toBe(Status.OK);
    const text = await metrics(dev);
    expect(
      metricValue(text, 'meshca_policy_decisions_total', {
        layer: 'local',
        rule: 'bank-dry-run',
        effect: 'audit',
      }),
    ).toBe(before + 1);
    expect(
      metricValue(text, 'meshca_policy_decisions_total', {
        layer: 'local',
        rule: 'default',
        effect: 'allow',
      }),
    ).toBeGreaterThanOrEqual(1);
    const lines = logLines(dev);
    expect(lines.findLast((line) => line['msg'] === 'policy audit: would deny')).toMatchObject({
      identity: spiffe('bank', 'batch'),
      layer: 'local',
      rule: 'bank-dry-run',
      reason: 'identity bank/batch is not among the allowed identities',
    });
    expect(lines.findLast((line) => line['msg'] === 'certificate issued')).toMatchObject({
      identity: spiffe('bank', 'batch'),
      audits: ['local/bank-dry-run: identity bank/batch is not among the allowed identities'],
    });
  });

  it.each([
    ['a day asked: clamped to the central maximum', 24 * 3600, 3600],
    ['none asked: the central default', 0, 1800],
    ['less than the maximum: as asked', 2400, 2400],
  ])('TTL: %s', async (_what, asked, expected) => {
    const outcome = await call('bank', 'api', asked);
    expect(outcome.code).toBe(Status.OK);
    expect(lifetimeSeconds(outcome.chain)).toBe(expected);
  });

  it('shows the policies in force in metrics and /readyz details', async () => {
    const text = await metrics(dev);
    const readyz = JSON.parse((await httpGet(dev.server.httpPort, '/readyz')).body) as {
      details: Record<string, string>;
    };
    for (const [layer, name] of [
      ['central', 'security-test'],
      ['local', 'platform-test'],
    ] as const) {
      const inForce = logLines(dev).findLast(
        (line) => line['msg'] === 'policy in force' && line['layer'] === layer,
      );
      expect(inForce?.['policy']).toBe(name);
      expect(inForce?.['sha256']).toMatch(/^[0-9a-f]{64}$/);
      const sha256 = String(inForce?.['sha256']);
      expect(metricValue(text, 'meshca_policy_info', { layer, name, sha256 })).toBe(1);
      expect(metricValue(text, 'meshca_policy_reloads_total', { layer, result: 'loaded' })).toBe(1);
      expect(readyz.details[`policy-${layer}`]).toBe('ok');
      expect(readyz.details['policy']).toContain(`${layer}: ${name} (sha256 ${sha256})`);
    }
  });

  it('reloads an edited file, and keeps the policy in force when an edit is broken', async () => {
    const sha256Of = (name: string): string =>
      String(
        logLines(dev).findLast(
          (line) => line['msg'] === 'policy in force' && line['policy'] === name,
        )?.['sha256'],
      );
    const rejected = async (): Promise<number> =>
      metricValue(await metrics(dev), 'meshca_policy_reloads_total', {
        layer: 'local',
        result: 'rejected',
      }) ?? 0;
    const rejectedBefore = await rejected();

    // Switch the dry run on: bank/batch is refused from now on.
    writeFileSync(localFile, document(LOCAL.replace('    mode: audit\n', ''), 'platform-enforced'));
    await eventually('the edited local policy in force', async () =>
      (await call('bank', 'batch')).code === Status.PERMISSION_DENIED ? true : undefined,
    );
    expect((await call('bank', 'batch')).details).toBe(
      'policy local/bank-dry-run: identity bank/batch is not among the allowed identities',
    );
    const enforced = sha256Of('platform-enforced');
    expect(
      metricValue(await metrics(dev), 'meshca_policy_info', {
        layer: 'local',
        name: 'platform-enforced',
        sha256: enforced,
      }),
    ).toBe(1);
    // The replaced version's series is gone.
    expect(await metrics(dev)).not.toContain('name="platform-test"');

    // A broken edit: refused, counted, shown; the enforced version stays in force.
    writeFileSync(localFile, document(`${LOCAL}    liveWorkLoad: true\n`, 'platform-broken'));
    await eventually('the broken edit refused', async () =>
      (await rejected()) > rejectedBefore ? true : undefined,
    );
    const detail = dev.server.ops.readiness().details['policy-local'];
    expect(detail).toContain(`keeping platform-enforced (sha256 ${enforced.slice(0, 12)})`);
    expect(detail).toContain('newest version refused: rejected:');
    expect(detail).toContain('liveWorkLoad');
    expect(dev.server.ops.readiness().ready).toBe(true);
    const refusal = logLines(dev).findLast(
      (line) => line['msg'] === 'new policy version refused; the policy in force is kept',
    );
    expect(refusal).toMatchObject({
      layer: 'local',
      result: 'rejected',
      keeping: 'platform-enforced',
      keepingSha256: enforced,
    });
    expect((await call('bank', 'batch')).code).toBe(Status.PERMISSION_DENIED);
    expect((await call('bank', 'api')).code).toBe(Status.OK);

    // Repaired: in force again, and the detail clears.
    writeFileSync(localFile, document(LOCAL, 'platform-test'));
    await eventually('the repaired policy in force', async () =>
      (await call('bank', 'batch')).code === Status.OK ? true : undefined,
    );
    expect(dev.server.ops.readiness().details['policy-local']).toBe('ok');
  });
});

describe('meshca serve with cluster-dependent rules and no cluster', () => {
  let dev: DevServer;
  beforeAll(async () => {
    const dir = tempDir('meshca-policy-');
    dev = await startDevServer([
      '--policy-central',
      writePolicy(
        dir,
        'central.yaml',
        'needs-cluster',
        `
defaultAction: allow
rules:
  - name: live-workload
    liveWorkload: true
  - name: opted-in
    selector: { namespaces: [shop] }
    namespaceLabels: { meshca.io/identities: enabled }
`,
      ),
    ]);
  });
  afterAll(() => dev.stop());

  it('warns at load, naming the rules that need a cluster', () => {
    expect(
      logLines(dev).find(
        (line) =>
          line['msg'] ===
          'these policy rules need a cluster; without one they refuse every request they apply to',
      ),
    ).toMatchObject({ policy: 'needs-cluster', rules: ['live-workload', 'opted-in'] });
  });

  it.each([
    ['a token not bound to a pod', undefined],
    ['a pod-bound development token (meshca token --pod --pod-uid)', { name: 'web-1', uid: 'u-1' }],
  ])('refuses the live-workload rule with %s, saying why', async (_what, pod) => {
    const token = await issueDevToken(
      dev.stateDir,
      {
        namespace: 'default',
        serviceAccount: 'web',
        audiences: ['istio-ca'],
        ttlSeconds: 600,
        ...(pod === undefined ? {} : { pod }),
      },
      systemClock,
    );
    const outcome = await callCa(dev.client(), token, spiffe('default', 'web'));
    expect(outcome).toMatchObject({
      code: Status.PERMISSION_DENIED,
      details:
        'policy central/live-workload: live workload cannot be checked: meshca has no connection to cluster Kubernetes (development mode)',
    });
  });
});

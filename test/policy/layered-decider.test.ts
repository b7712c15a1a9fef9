/**
 * The layered decider: decisions shaped for the service (layer, rule, reason, audits), the TTL
 * from both layers and the server's limits, and what is counted and logged.
 */
import {
  LayeredPolicyDecider,
  PolicyStore,
  TtlPolicy,
  type CompiledPolicy,
  type Decision,
} from '../../src/policy/index.js';
import {
  CLUSTER,
  facts,
  liveCluster,
  never,
  policy,
  request,
  type RequestShape,
} from './fixtures.js';
import { RecordingMetrics, recordingLogger } from './recorders.js';

const MINUTE = 60;
const HOUR = 3600;

/** The server's limits: default 24h, max 48h, min 10m. */
const SERVER = new TtlPolicy({
  defaultTtlSeconds: 24 * HOUR,
  maxTtlSeconds: 48 * HOUR,
  minTtlSeconds: 10 * MINUTE,
});

function decider(
  central: CompiledPolicy | undefined,
  local?: CompiledPolicy,
): {
  decider: LayeredPolicyDecider;
  metrics: RecordingMetrics;
  lines: () => Record<string, unknown>[];
} {
  const store = new PolicyStore();
  if (central !== undefined) store.install('central', central);
  if (local !== undefined) store.install('local', local);
  const metrics = new RecordingMetrics();
  const { logger, lines } = recordingLogger();
  return {
    decider: new LayeredPolicyDecider({
      policies: store,
      facts: facts([CLUSTER, liveCluster()]),
      inner: SERVER,
      metrics,
      logger,
    }),
    metrics,
    lines,
  };
}

const ttlRule = (name: string, ttl: string): string => `  - name: ${name}\n    ttl: {${ttl}}`;

describe('LayeredPolicyDecider', () => {
  it('without a policy, the server limits decide alone', async () => {
    const { decider: d, metrics } = decider(undefined);
    await expect(d.decide(request({ ttl: 0n }), never)).resolves.toEqual<Decision>({
      effect: 'allow',
      layer: 'server',
      rule: 'ttl',
      reason: undefined,
      audits: [],
      ttlSeconds: 24 * HOUR,
      ttlAdjustment: 'default',
    });
    expect(metrics.decisions).toEqual([]);
  });

  it('a denial names layer, rule and reason, with a zero TTL and the audits met', async () => {
    const central = policy(
      'defaultAction: allow\nrules:\n  - name: dry\n    mode: audit\n    keyTypes: [RSA-2048]\n  - name: no-web\n    identities: {deny: [shop/web]}',
      'c',
    );
    const { decider: d } = decider(central);
    await expect(d.decide(request(), never)).resolves.toEqual<Decision>({
      effect: 'deny',
      layer: 'central',
      rule: 'no-web',
      reason: 'identity shop/web is denied',
      audits: [
        {
          effect: 'audit',
          layer: 'central',
          rule: 'dry',
          reason: 'key type not allowed (allowed: RSA-2048)',
        },
      ],
      ttlSeconds: 0,
      ttlAdjustment: 'none',
    });
  });

  it.each<
    [string, string | undefined, string | undefined, bigint, number, Decision['ttlAdjustment']]
  >([
    ['no TTL asked, no policy TTL: server default', undefined, undefined, 0n, 24 * HOUR, 'default'],
    ['no TTL asked: the policy default', 'default: 12h', undefined, 0n, 12 * HOUR, 'default'],
    [
      'no TTL asked: the smaller default of both layers',
      'default: 12h',
      'default: 2h',
      -1n,
      2 * HOUR,
      'default',
    ],
    [
      'no TTL asked: the server default clamped by a policy max',
      'max: 6h',
      undefined,
      0n,
      6 * HOUR,
      'policy',
    ],
    ['asked within every limit: kept', 'max: 24h', 'max: 12h', BigInt(HOUR), HOUR, 'none'],
    [
      'asked above the policy max: clamped',
      'max: 24h',
      undefined,
      BigInt(30 * HOUR),
      24 * HOUR,
      'policy',
    ],
    [
      'asked above both maxes: the smaller',
      'max: 24h',
      'max: 8h',
      BigInt(30 * HOUR),
      8 * HOUR,
      'policy',
    ],
    [
      'asked above the server max, no policy max: server max',
      undefined,
      undefined,
      BigInt(72 * HOUR),
      48 * HOUR,
      'max',
    ],
    ['asked below the server min: raised', 'max: 24h', undefined, 60n, 10 * MINUTE, 'min'],
    ['a policy max below the server min wins', 'max: 5m', undefined, 60n, 5 * MINUTE, 'policy'],
    ['int64 max asked: clamped', 'max: 1h', undefined, 9223372036854775807n, HOUR, 'policy'],
  ])('TTL: %s', async (_name, centralTtl, localTtl, asked, seconds, adjustment) => {
    const central = policy(
      `defaultAction: allow${centralTtl === undefined ? '' : `\nrules:\n${ttlRule('c-ttl', centralTtl)}`}`,
      'c',
    );
    const local =
      localTtl === undefined
        ? undefined
        : policy(`defaultAction: allow\nrules:\n${ttlRule('l-ttl', localTtl)}`, 'l');
    const { decider: d } = decider(central, local);
    const decision = await d.decide(request({ ttl: asked }), never);
    expect(decision).toMatchObject({
      effect: 'allow',
      ttlSeconds: seconds,
      ttlAdjustment: adjustment,
    });
  });

  it('an allow is named by the local layer when there is one, else central', async () => {
    const central = policy(
      'defaultAction: deny\nrules:\n  - name: shop\n    selector: {namespaces: [shop]}',
      'c',
    );
    const local = policy('defaultAction: allow', 'l');
    await expect(decider(central).decider.decide(request(), never)).resolves.toMatchObject({
      layer: 'central',
      rule: 'shop',
    });
    await expect(decider(central, local).decider.decide(request(), never)).resolves.toMatchObject({
      layer: 'local',
      rule: 'default',
    });
  });

  it('counts one verdict per layer and one per audit, and logs every audit', async () => {
    const central = policy(
      'defaultAction: allow\nrules:\n  - name: keys\n    keyTypes: [ECDSA-P256]',
      'c',
    );
    const local = policy(
      'defaultAction: deny\nmode: audit\nrules:\n  - name: bank\n    selector: {namespaces: [bank]}',
      'l',
    );
    const { decider: d, metrics, lines } = decider(central, local);
    const shape: RequestShape = {};
    const decision = await d.decide(request(shape), never);
    expect(decision).toMatchObject({ effect: 'allow', layer: 'local', rule: 'default' });
    expect(metrics.decisions).toEqual([
      'central/keys:allow',
      'local/default:allow',
      'local/default:audit',
    ]);
    const audit = lines().find((line) => line['msg'] === 'policy audit: would deny');
    expect(audit).toMatchObject({
      level: 40,
      identity: 'spiffe://cluster.local/ns/shop/sa/web',
      layer: 'local',
      rule: 'default',
      reason: 'no local rule allows shop/web and the default action is deny',
    });
  });

  it('counts denials too', async () => {
    const { decider: d, metrics } = decider(
      policy('defaultAction: deny', 'c'),
      policy('defaultAction: allow', 'l'),
    );
    await d.decide(request(), never);
    expect(metrics.decisions).toEqual(['central/default:deny', 'local/default:allow']);
  });

  it('explain decides the same, without counting or logging', async () => {
    const central = policy(
      'defaultAction: allow\nrules:\n  - name: dry\n    mode: audit\n    keyTypes: [RSA-2048]',
      'c',
    );
    const { decider: d, metrics, lines } = decider(central);
    const explained = await d.explain(request(), never);
    expect(explained.decision).toEqual(await d.decide(request(), never));
    expect(explained.evaluation?.layers).toHaveLength(1);
    metrics.decisions.length = 0;
    await d.explain(request(), never);
    expect(metrics.decisions).toEqual([]);
    expect(lines().filter((line) => line['msg'] === 'policy audit: would deny')).toHaveLength(1);
  });

  it('sees a new policy on the next decision', async () => {
    const store = new PolicyStore();
    store.install('central', policy('defaultAction: allow', 'c'));
    const d = new LayeredPolicyDecider({
      policies: store,
      facts: facts(),
      inner: SERVER,
      logger: recordingLogger().logger,
    });
    await expect(d.decide(request(), never)).resolves.toMatchObject({ effect: 'allow' });
    store.install('central', policy('defaultAction: deny', 'c2'));
    await expect(d.decide(request(), never)).resolves.toMatchObject({
      effect: 'deny',
      rule: 'default',
    });
  });
});

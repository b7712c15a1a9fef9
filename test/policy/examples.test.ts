/**
 * examples/policy/ is documentation: every example must load, lint clean against the central
 * baseline, and behave as its comments say.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  LayeredPolicyDecider,
  PolicyStore,
  TtlPolicy,
  compilePolicy,
  lintPolicies,
  parsePolicyDocument,
  type CompiledPolicy,
  type Decision,
} from '../../src/policy/index.js';
import { silentLogger } from '../../src/logger.js';
import { REPO_ROOT } from '../support/environment.js';
import {
  CLUSTER,
  FakeCluster,
  P384,
  RSA2048,
  facts,
  liveCluster,
  never,
  request,
  type RequestShape,
} from './fixtures.js';

const HOUR = 3600;

function example(name: string): CompiledPolicy {
  const file = join(REPO_ROOT, 'examples/policy', name);
  return compilePolicy(parsePolicyDocument(readFileSync(file), file));
}

const CENTRAL = example('central-baseline.yaml');
const NAMESPACE_ONLY = example('local-namespace-only.yaml');
const INGRESS_REQUIRED = example('local-ingress-required.yaml');

async function decide(
  local: CompiledPolicy | undefined,
  shape: RequestShape,
  cluster: FakeCluster | undefined,
): Promise<Decision> {
  const store = new PolicyStore();
  store.install('central', CENTRAL);
  if (local !== undefined) store.install('local', local);
  const decider = new LayeredPolicyDecider({
    policies: store,
    facts: cluster === undefined ? facts() : facts([CLUSTER, cluster]),
    inner: new TtlPolicy({
      defaultTtlSeconds: 24 * HOUR,
      maxTtlSeconds: 24 * HOUR,
      minTtlSeconds: 600,
    }),
    logger: silentLogger(),
  });
  return decider.decide(request(shape), never);
}

/** A cluster where `namespace/serviceAccount` runs as pod web-1. */
function running(namespace = 'shop', serviceAccount = 'web'): FakeCluster {
  return new FakeCluster().withNamespace(namespace).withPod({ namespace, serviceAccount });
}

describe('examples/policy', () => {
  it('all load and lint clean, alone and together', () => {
    expect(lintPolicies(CENTRAL)).toEqual([]);
    expect(lintPolicies(CENTRAL, NAMESPACE_ONLY)).toEqual([]);
    expect(lintPolicies(CENTRAL, INGRESS_REQUIRED)).toEqual([]);
    expect(INGRESS_REQUIRED.requiredKinds).toEqual([
      { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress' },
    ]);
  });

  describe('central-baseline.yaml', () => {
    it.each<[string, RequestShape, FakeCluster | undefined, Partial<Decision>]>([
      [
        'a running workload: issued for 12h by default',
        {},
        liveCluster(),
        { effect: 'allow', ttlSeconds: 12 * HOUR, ttlAdjustment: 'default' },
      ],
      [
        'asking 48h: clamped to 24h',
        { ttl: BigInt(48 * HOUR) },
        liveCluster(),
        { effect: 'allow', ttlSeconds: 24 * HOUR },
      ],
      ['RSA-2048: allowed', { key: RSA2048 }, liveCluster(), { effect: 'allow' }],
      [
        'P-384: refused',
        { key: P384 },
        liveCluster(),
        { effect: 'deny', layer: 'central', rule: 'key-types' },
      ],
      [
        'a listed kube-system identity',
        { namespace: 'kube-system', serviceAccount: 'coredns' },
        running('kube-system', 'coredns'),
        { effect: 'allow' },
      ],
      [
        'another kube-system identity',
        { namespace: 'kube-system', serviceAccount: 'kube-proxy' },
        running('kube-system', 'kube-proxy'),
        {
          effect: 'deny',
          rule: 'kube-system-allowlist',
          reason: 'identity kube-system/kube-proxy is not among the allowed identities',
        },
      ],
      [
        'a deleted pod',
        {},
        new FakeCluster().withNamespace('shop'),
        {
          effect: 'deny',
          rule: 'live-workload',
          reason: "the caller's pod is gone (deleted, or finished)",
        },
      ],
      [
        'a token not bound to a pod',
        { pod: null },
        liveCluster(),
        { effect: 'deny', rule: 'live-workload' },
      ],
      [
        'development mode: live workload refused, saying why',
        {},
        undefined,
        {
          effect: 'deny',
          rule: 'live-workload',
          reason: expect.stringContaining('development mode') as string,
        },
      ],
    ])('%s', async (_name, shape, cluster, expected) => {
      expect(await decide(undefined, shape, cluster)).toMatchObject(expected);
    });
  });

  describe('local-namespace-only.yaml', () => {
    it.each<[string, RequestShape, FakeCluster, Partial<Decision>]>([
      [
        'shop: issued',
        {},
        liveCluster(),
        { effect: 'allow', layer: 'local', rule: 'shop-workloads' },
      ],
      [
        'istio-system: issued',
        { namespace: 'istio-system', serviceAccount: 'istio-ingressgateway' },
        running('istio-system', 'istio-ingressgateway'),
        { effect: 'allow', rule: 'istio-system' },
      ],
      [
        'another namespace: refused by default',
        { namespace: 'bank' },
        running('bank'),
        {
          effect: 'deny',
          layer: 'local',
          rule: 'default',
          reason: 'no local rule allows bank/web and the default action is deny',
        },
      ],
      [
        'central still applies',
        { key: P384 },
        liveCluster(),
        { effect: 'deny', layer: 'central', rule: 'key-types' },
      ],
    ])('%s', async (_name, shape, cluster, expected) => {
      expect(await decide(NAMESPACE_ONLY, shape, cluster)).toMatchObject(expected);
    });
  });

  describe('local-ingress-required.yaml', () => {
    it.each<[string, RequestShape, FakeCluster, Partial<Decision>]>([
      [
        'shop without an Ingress: refused',
        {},
        liveCluster().serving('networking.k8s.io/v1', 'Ingress'),
        {
          effect: 'deny',
          layer: 'local',
          rule: 'shop-ingress',
          reason: 'no Ingress (networking.k8s.io/v1) in namespace shop',
        },
      ],
      [
        'shop with an Ingress: issued',
        {},
        liveCluster().withObject('networking.k8s.io/v1', 'Ingress', 'shop', 'web'),
        { effect: 'allow', layer: 'local', rule: 'shop-ingress' },
      ],
      [
        'another namespace: left to central',
        { namespace: 'bank' },
        running('bank'),
        { effect: 'allow', layer: 'local', rule: 'default' },
      ],
    ])('%s', async (_name, shape, cluster, expected) => {
      expect(await decide(INGRESS_REQUIRED, shape, cluster)).toMatchObject(expected);
    });
  });
});

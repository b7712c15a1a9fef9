import { Registry } from 'prom-client';
import { PolicyMetrics } from '../../src/metrics/index.js';

describe('PolicyMetrics', () => {
  it('exposes the agreed names and labels', async () => {
    const registry = new Registry();
    const metrics = new PolicyMetrics(registry);
    metrics.decision('central', 'key-types', 'deny');
    metrics.decision('local', 'shop', 'allow');
    metrics.decision('local', 'dry', 'audit');
    metrics.decision('local', 'dry', 'audit');
    metrics.reload('central', 'loaded');
    metrics.reload('central', 'bad-signature');
    metrics.inForce('central', { name: 'baseline', sha256: 'aaa' });
    const text = await registry.metrics();
    expect(text).toContain(
      'meshca_policy_decisions_total{layer="central",rule="key-types",effect="deny"} 1',
    );
    expect(text).toContain(
      'meshca_policy_decisions_total{layer="local",rule="shop",effect="allow"} 1',
    );
    expect(text).toContain(
      'meshca_policy_decisions_total{layer="local",rule="dry",effect="audit"} 2',
    );
    expect(text).toContain('meshca_policy_reloads_total{layer="central",result="loaded"} 1');
    expect(text).toContain('meshca_policy_reloads_total{layer="central",result="bad-signature"} 1');
    // Every result of every layer exists from the start.
    expect(text).toContain('meshca_policy_reloads_total{layer="local",result="unsigned"} 0');
    expect(text).toContain('meshca_policy_info{layer="central",name="baseline",sha256="aaa"} 1');
  });

  it('keeps one info series per layer: the policy in force', async () => {
    const registry = new Registry();
    const metrics = new PolicyMetrics(registry);
    metrics.inForce('central', { name: 'baseline', sha256: 'aaa' });
    metrics.inForce('local', { name: 'shop', sha256: 'ccc' });
    metrics.inForce('central', { name: 'baseline', sha256: 'bbb' });
    const info = (await registry.getSingleMetric('meshca_policy_info')?.get())?.values ?? [];
    expect(info.map((value) => [value.labels, value.value])).toEqual([
      [{ layer: 'local', name: 'shop', sha256: 'ccc' }, 1],
      [{ layer: 'central', name: 'baseline', sha256: 'bbb' }, 1],
    ]);
  });
});

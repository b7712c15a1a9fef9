/** Reading metric values back from a prom-client registry in tests. */
import type { CaMetrics } from '../../src/metrics/index.js';

/** The value of `name` with exactly `labels` (0 when never set). */
export async function metricValue(
  metrics: CaMetrics,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): Promise<number> {
  const metric = metrics.registry.getSingleMetric(name);
  if (metric === undefined) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  const wanted = Object.entries(labels);
  const found = values.find(
    (value) =>
      Object.keys(value.labels).length === wanted.length &&
      wanted.every(([key, expected]) => String(value.labels[key]) === expected),
  );
  return found?.value ?? 0;
}

/**
 * Recorders for what the policy engine reports: a metrics sink and a logger whose lines tests
 * can read.
 */
import { pino } from 'pino';
import type { Logger } from '../../src/logger.js';
import type { PolicyMetricsSink, PolicyReloadResult } from '../../src/policy/index.js';

/** Records every call of the policy metrics port. */
export class RecordingMetrics implements PolicyMetricsSink {
  readonly decisions: string[] = [];
  readonly reloads: string[] = [];
  readonly inForceLog: string[] = [];

  decision(layer: string, rule: string, effect: 'allow' | 'deny' | 'audit'): void {
    this.decisions.push(`${layer}/${rule}:${effect}`);
  }

  reload(layer: string, result: PolicyReloadResult): void {
    this.reloads.push(`${layer}:${result}`);
  }

  inForce(layer: string, policy: { readonly name: string; readonly sha256: string }): void {
    this.inForceLog.push(`${layer}:${policy.name}`);
  }
}

/** A logger at debug level whose JSON lines are kept. */
export function recordingLogger(): { logger: Logger; lines: () => Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'debug' },
    {
      write: (line: string) => {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      },
    },
  );
  return { logger, lines: () => lines };
}

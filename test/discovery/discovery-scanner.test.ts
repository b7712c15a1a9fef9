/**
 * The continuous scanner part: scans only while leading, repeats every interval, stops and
 * retracts its gauges when the leadership goes, reports an incomplete scan through an
 * informational readiness check, and closes promptly even mid-scan.
 */
import { systemClock } from '../../src/clock.js';
import {
  Allowlist,
  DiscoveryScanner,
  Scanner,
  VerdictCache,
  type Finding,
  type FindingSink,
} from '../../src/discovery/index.js';
import { createLogger } from '../../src/logger.js';
import { PartRunner } from '../../src/runtime/index.js';
import {
  FakeClusterCertificateReader,
  secretRecord,
  type FakeCluster,
} from '../fakes/cluster-certificate-reader.js';
import { makeCert, pem } from './fixtures.js';

const logger = createLogger({ level: 'silent' });

class CountingSink implements FindingSink {
  readonly name = 'counting';
  completed = 0;
  retracted = 0;
  findings: Finding[] = [];
  record(finding: Finding): void {
    this.findings.push(finding);
  }
  complete(): void {
    this.completed++;
  }
  retract(): void {
    this.retracted++;
  }
}

async function part(cluster: FakeCluster, intervalMs = 40) {
  const sink = new CountingSink();
  const reader = new FakeClusterCertificateReader(cluster);
  const scanner = new Scanner(
    {
      reader,
      anchors: () => [],
      allowlist: new Allowlist(),
      sinks: [sink],
      cache: new VerdictCache(100),
      clock: systemClock,
      logger,
    },
    { scope: { namespaces: [] }, expiringSoonMs: 1, certManagerNamespace: 'cert-manager' },
  );
  const discovery = new DiscoveryScanner(
    { scanner, logger, clock: systemClock },
    { intervalMs, initialDelayMs: 0 },
  );
  const runner = new PartRunner(logger);
  runner.add(discovery);
  await runner.start(new AbortController().signal);
  return { discovery, sink, runner, reader };
}

const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await wait(10);
  }
}

describe('DiscoveryScanner', () => {
  let ca: Awaited<ReturnType<typeof makeCert>>;
  beforeAll(async () => {
    ca = await makeCert({ cn: 'rogue' });
  });

  it('scans only while leading, every interval, and retracts when it stops leading', async () => {
    const { discovery, sink, runner } = await part({
      secrets: [secretRecord('a', 'ca', { 'ca.crt': pem(ca) }, [], 'Opaque')],
    });
    try {
      await wait(150);
      expect(sink.completed).toBe(0);
      expect(discovery.lastScan()).toBeUndefined();

      discovery.setLeading(true);
      await until('two scans', () => sink.completed >= 2);
      expect(discovery.lastScan()?.findings).toBe(1);
      expect(sink.findings.every((finding) => finding.kind === 'self-signed-ca')).toBe(true);

      discovery.setLeading(false);
      expect(sink.retracted).toBe(1);
      await wait(20);
      const after = sink.completed;
      await wait(150);
      expect(sink.completed).toBe(after);

      discovery.setLeading(true);
      await until('scanning again', () => sink.completed > after);
    } finally {
      await runner.close();
    }
  });

  it('says so, informationally, when a scan is incomplete', async () => {
    const forbidden = Object.assign(new Error('forbidden'), { status: 403 });
    const { discovery, sink, runner } = await part({ failing: { secrets: forbidden } });
    try {
      const [check] = discovery.readiness();
      expect(check?.severity).toBe('informational');
      expect(check?.check()).toBeUndefined();
      discovery.setLeading(true);
      await until('a scan', () => sink.completed >= 1);
      expect(check?.check()).toBe('last scan incomplete: secrets forbidden');
      expect(runner.readiness().ready).toBe(true);
    } finally {
      await runner.close();
    }
  });

  it('closes promptly in the middle of a scan', async () => {
    const { discovery, runner, reader } = await part({}, 60_000);
    let entered = false;
    reader.availability = (signal?: AbortSignal) =>
      new Promise((_resolve, reject) => {
        entered = true;
        signal?.addEventListener('abort', () => {
          reject(new Error('aborted'));
        });
      });
    discovery.setLeading(true);
    await until('a scan in progress', () => entered && discovery.scanning);
    const started = Date.now();
    await runner.close();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(discovery.scanning).toBe(false);
  });

  it('refuses a non-positive interval', () => {
    expect(
      () =>
        new DiscoveryScanner(
          { scanner: {} as Scanner, logger, clock: systemClock },
          { intervalMs: 0, initialDelayMs: 0 },
        ),
    ).toThrow(TypeError);
  });
});

/**
 * DirectoryCaSource: prepares and loads a cacerts directory before start resolves, follows changes
 * by polling, keeps the material when the directory breaks, and stops polling on close.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  CACERTS_FILES,
  CaMaterialError,
  CaReloader,
  CertificateAuthority,
  DirectoryCaSource,
  writeCaDirectory,
} from '../../src/ca/index.js';
import { systemClock } from '../../src/clock.js';
import { CaMetrics } from '../../src/metrics/index.js';
import { eventually } from '../support/kube.js';
import { memoryLogger } from '../support/server.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';
import { HOUR } from './fixtures.js';
import { rotationStages, type RotationStages } from './rotation-fixtures.js';

describe('DirectoryCaSource', () => {
  let stages: RotationStages;
  let source: DirectoryCaSource | undefined;

  beforeAll(async () => {
    stages = await rotationStages(new Date());
  });
  afterEach(async () => {
    await source?.close();
    source = undefined;
  });
  afterAll(() => {
    removeTempDirs();
  });

  function setup(dir: string, prepare?: () => Promise<void>) {
    const authority = new CertificateAuthority({ verifyIssued: false });
    const { logger, lines } = memoryLogger();
    const reloader = new CaReloader(
      authority,
      { rotationChecks: true, maxLeafTtlMs: HOUR },
      { logger, metrics: new CaMetrics({ collectProcessMetrics: false }), clock: systemClock },
    );
    source = new DirectoryCaSource(
      reloader,
      { dir, reloadIntervalMs: 50, ...(prepare === undefined ? {} : { prepare }) },
      logger,
    );
    return {
      source,
      authority,
      roots: () => authority.current().material.trustBundle.roots.length,
      logs: () => lines().map((line) => JSON.parse(line) as Record<string, unknown>),
    };
  }

  it('prepares, then loads the directory before start resolves', async () => {
    const dir = tempDir();
    const { source: s, authority } = setup(dir, () => writeCaDirectory(dir, stages.aOnly));
    await s.start(new AbortController().signal);
    expect(authority.current().material.signingCert.sha256).toBe(stages.a.signing.cert.sha256);
    expect(s.readiness().map((check) => check.name)).toEqual(['ca', 'roots']);
  });

  it('fails to start without valid material', async () => {
    const { source: s } = setup(tempDir());
    await expect(s.start(new AbortController().signal)).rejects.toBeInstanceOf(CaMaterialError);
  });

  it('follows changes, and keeps the material when the directory becomes unreadable', async () => {
    const dir = tempDir();
    await writeCaDirectory(dir, stages.aOnly);
    const { source: s, roots, logs } = setup(dir);
    await s.start(new AbortController().signal);
    await writeCaDirectory(dir, stages.aBoth);
    await eventually('both roots', () => (roots() === 2 ? true : undefined));
    rmSync(join(dir, CACERTS_FILES.key));
    await eventually('unreadable', () =>
      logs().some(
        (line) =>
          line['msg'] ===
          'new CA material refused: it cannot be read; keeping the current material',
      )
        ? true
        : undefined,
    );
    expect(roots()).toBe(2);
  });

  it('stops polling on close', async () => {
    const dir = tempDir();
    await writeCaDirectory(dir, stages.aOnly);
    const { source: s, roots } = setup(dir);
    await s.start(new AbortController().signal);
    await s.close();
    source = undefined;
    await writeCaDirectory(dir, stages.aBoth);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(roots()).toBe(1);
  });
});

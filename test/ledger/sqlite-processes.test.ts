/**
 * Several processes writing one SQLite ledger at once (a replica and `meshca revoke`, or two
 * replicas sharing a volume): no record lost, none twice, and no lock error surfaces.
 */
import { join } from 'node:path';
import { FixedClock } from '../../src/clock.js';
import { SqliteLedgerStore, verifyLedger } from '../../src/ledger/index.js';
import type { ChainAnchor } from '../../src/ledger/index.js';
import { REPO_ROOT } from '../support/environment.js';
import { run } from '../support/process.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';
import { T0 } from './fixtures.js';

afterAll(removeTempDirs);

const WRITER = join(REPO_ROOT, 'test', 'ledger', 'support', 'sqlite-writer.ts');
const PER_PROCESS = 1500;

it('takes records from several processes writing one file concurrently', async () => {
  const path = join(tempDir('meshca-sqlite-'), 'ledger.db');
  const store = new SqliteLedgerStore({ path }, new FixedClock(new Date(T0)));
  await store.open();
  let reads = 0;
  const reading = { on: true };
  // A reader (`meshca inventory`) runs meanwhile: WAL lets it read while the writers write.
  const reader = (async () => {
    while (reading.on) {
      await store.identities(new Date(T0 - 60_000), {}, { limit: 50 });
      reads++;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  const children = await Promise.all(
    ['writer-a', 'writer-b', 'writer-c'].map((writer) =>
      run(process.execPath, ['--import', 'tsx', WRITER, path, writer, String(PER_PROCESS)], {
        cwd: REPO_ROOT,
        timeoutMs: 120_000,
      }),
    ),
  );
  reading.on = false;
  await reader;
  const anchors: ChainAnchor[] = [];
  for (const child of children) {
    expect(child.stderr).not.toMatch(/SQLITE_BUSY|locked|failed|lost/i);
    expect(child.code).toBe(0);
    const result = JSON.parse(child.stdout.trim()) as { head: ChainAnchor; errors: number };
    expect(result.errors).toBe(0);
    expect(result.head.sequence).toBe(PER_PROCESS);
    anchors.push(result.head);
  }
  const chains = await store.chains();
  expect(chains.map((chain) => chain.records)).toEqual([PER_PROCESS, PER_PROCESS, PER_PROCESS]);
  expect((await verifyLedger(store, anchors)).ok).toBe(true);
  expect(reads).toBeGreaterThan(0);
  await store.close();
}, 180_000);

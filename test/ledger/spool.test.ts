import {
  appendFileSync,
  existsSync,
  readFileSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { Spool } from '../../src/ledger/spool.js';
import { mountSmallDisk, smallDiskAvailable, unmountSmallDisks } from '../support/small-disk.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';
import { TestChain } from './fixtures.js';

afterAll(() => {
  unmountSmallDisks();
  removeTempDirs();
});

function spool(): Spool {
  return new Spool(join(tempDir('meshca-spool-'), 'sub', 'ledger-spool.jsonl'));
}

describe('Spool', () => {
  it('keeps records across instances, in order, without duplicates or dropped ranges', async () => {
    const first = spool();
    const chain = new TestChain();
    const records = Array.from({ length: 6 }, () => chain.issuance());
    await first.append(records.slice(0, 4));
    await first.append(records.slice(2, 6));
    await first.markDropped([{ chainId: chain.writer.chainId, from: 2, to: 3 }]);
    const second = new Spool(first.path);
    expect(second.load().map((r) => r.sequence)).toEqual([1, 4, 5, 6]);
    expect(second.lines).toBe(9);
    expect(second.load()[0]).toEqual(records[0]);
  });

  it('skips a torn line', async () => {
    const file = spool();
    const chain = new TestChain();
    await file.append([chain.issuance()]);
    appendFileSync(file.path, '{"chainId":"x","seq');
    appendFileSync(file.path, '\n');
    await file.append([chain.issuance()]);
    expect(new Spool(file.path).load().map((r) => r.sequence)).toEqual([1, 2]);
  });

  it('compacts and clears, and loads nothing from a missing file', async () => {
    const file = spool();
    expect(file.load()).toEqual([]);
    const chain = new TestChain();
    const records = Array.from({ length: 3 }, () => chain.issuance());
    await file.append(records);
    await file.rewrite(records.slice(2));
    expect(readFileSync(file.path, 'utf8').trim().split('\n')).toHaveLength(1);
    expect(file.lines).toBe(1);
    await file.clear();
    expect(readFileSync(file.path, 'utf8')).toBe('');
    file.appendSync([records[0]!]);
    expect(new Spool(file.path).load()).toEqual([records[0]]);
  });

  it('refuses a spool it cannot read', () => {
    const dir = tempDir('meshca-spool-');
    writeFileSync(join(dir, 'x'), '');
    expect(() => new Spool(dir).load()).toThrow();
  });
});

(smallDiskAvailable() ? describe : describe.skip)('Spool on a full disk (a real tmpfs)', () => {
  const chain = new TestChain();
  const batch = (count: number) => Array.from({ length: count }, () => chain.issuance());

  it.each([
    ['append', (spool: Spool, records: ReturnType<typeof batch>) => spool.append(records)],
    [
      'appendSync',
      // eslint-disable-next-line @typescript-eslint/require-await -- a throw becomes a rejection
      async (spool: Spool, records: ReturnType<typeof batch>) => {
        spool.appendSync(records);
      },
    ],
  ])(
    '%s: a write the disk cannot take whole is cut back, never leaving a torn line',
    async (_name, append) => {
      const disk = mountSmallDisk(1 << 20);
      const spool = new Spool(join(disk.path, 'ledger-spool.jsonl'));
      const kept = batch(3);
      await append(spool, kept);
      const size = statSync(spool.path).size;
      disk.fill();
      // Room for a part of the next batch only: a short write, then ENOSPC.
      truncateSync(join(disk.path, '.filler'), statSync(join(disk.path, '.filler')).size - 8192);
      const big = batch(40);
      expect(JSON.stringify(big).length).toBeGreaterThan(3 * 8192);
      await expect(append(spool, big)).rejects.toMatchObject({ code: 'ENOSPC' });
      expect(statSync(spool.path).size).toBe(size);
      expect(spool.lines).toBe(3);
      expect(new Spool(spool.path).load()).toEqual(kept);
      // Room again: the same records go in whole.
      disk.free();
      await append(spool, big);
      expect(new Spool(spool.path).load()).toEqual([...kept, ...big]);
      disk.unmount();
    },
  );

  it('a compaction the disk cannot take keeps the old file and gives the space back', async () => {
    const disk = mountSmallDisk(1 << 20);
    const spool = new Spool(join(disk.path, 'ledger-spool.jsonl'));
    const records = batch(200);
    await spool.append(records);
    disk.fill();
    await expect(spool.rewrite(records.slice(1))).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(existsSync(`${spool.path}.tmp`)).toBe(false);
    expect(new Spool(spool.path).load()).toEqual(records);
    // Emptying needs no room.
    await spool.clear();
    expect(readFileSync(spool.path, 'utf8')).toBe('');
    disk.unmount();
  });
});

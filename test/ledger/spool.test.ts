import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Spool } from '../../src/ledger/spool.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';
import { TestChain } from './fixtures.js';

afterAll(removeTempDirs);

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

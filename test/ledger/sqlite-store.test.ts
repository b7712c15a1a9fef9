import { join } from 'node:path';
import Database from 'better-sqlite3';
import { FixedClock } from '../../src/clock.js';
import { SqliteLedgerStore } from '../../src/ledger/index.js';
import { mountSmallDisk, smallDiskAvailable, unmountSmallDisks } from '../support/small-disk.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';
import { T0, TestChain } from './fixtures.js';
import { describeStoreContract } from './store-contract.js';

afterAll(() => {
  unmountSmallDisks();
  removeTempDirs();
});

describeStoreContract('SQLite', () => ({
  fresh() {
    const path = join(tempDir('meshca-ledger-'), 'state', 'ledger.db');
    const clock = new FixedClock(new Date(T0));
    return Promise.resolve({
      async open(options = {}) {
        const store = new SqliteLedgerStore({ path, ...options }, clock);
        await store.open();
        return store;
      },
      sql(statement, params = []) {
        const db = new Database(path, { timeout: 5000 });
        try {
          const prepared = db.prepare(statement);
          return Promise.resolve(
            prepared.reader
              ? (prepared.all(...params) as Record<string, unknown>[])
              : (prepared.run(...params), []),
          );
        } finally {
          db.close();
        }
      },
    });
  },
}));

describe('SqliteLedgerStore', () => {
  it('uses WAL mode and creates its directory', async () => {
    const path = join(tempDir('meshca-ledger-'), 'nested', 'dir', 'ledger.db');
    const store = new SqliteLedgerStore({ path }, new FixedClock(new Date(T0)));
    await store.open();
    await store.close();
    const db = new Database(path);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });
});

(smallDiskAvailable() ? describe : describe.skip)('SqliteLedgerStore on a full disk', () => {
  it('fails a write with ERR_LEDGER_STORAGE naming the file, keeps the database whole, and writes again once there is room', async () => {
    const disk = mountSmallDisk(2 << 20);
    const path = join(disk.path, 'ledger.db');
    const store = new SqliteLedgerStore({ path }, new FixedClock(new Date(T0)));
    await store.open();
    const chain = new TestChain();
    await store.append([chain.issuance()]);
    disk.fill();
    const refused = [chain.issuance(), chain.issuance()];
    await expect(store.append(refused)).rejects.toMatchObject({
      code: 'ERR_LEDGER_STORAGE',
      kind: 'unavailable',
      message: `the SQLite ledger ${path} cannot be written, the disk is full (SQLITE_FULL: database or disk is full)`,
    });
    // Reads still work, and the failed transaction left nothing behind.
    expect((await store.chains())[0]?.records).toBe(1);
    disk.free();
    await store.append(refused);
    expect((await store.chains())[0]).toMatchObject({ records: 3, lastSequence: 3 });
    await store.close();
    disk.unmount();
  });
});

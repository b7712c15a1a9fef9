import { join } from 'node:path';
import Database from 'better-sqlite3';
import { FixedClock } from '../../src/clock.js';
import { SqliteLedgerStore } from '../../src/ledger/index.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';
import { T0 } from './fixtures.js';
import { describeStoreContract } from './store-contract.js';

afterAll(removeTempDirs);

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

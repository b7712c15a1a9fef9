import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FixedClock } from '../../src/clock.js';
import { silentLogger } from '../../src/logger.js';
import { LATEST_SCHEMA_VERSION, PostgresLedgerStore } from '../../src/ledger/index.js';
import type { PostgresTlsMode } from '../../src/ledger/index.js';
import { createTestPki } from '../support/pki.js';
import { tempDir } from '../support/tmp.js';
import { postgresAvailable, startPostgres, type TestPostgres } from '../support/postgres.js';
import { removeTempDirs } from '../support/tmp.js';
import { T0 } from './fixtures.js';
import { describeStoreContract } from './store-contract.js';

const available = postgresAvailable();
let server: TestPostgres | undefined;

beforeAll(async () => {
  if (available) server = await startPostgres();
}, 120_000);
afterAll(async () => {
  await server?.destroy();
  removeTempDirs();
});

/** A CA file that did not sign the server's certificate. */
async function otherCaFile(): Promise<string> {
  const pki = await createTestPki();
  const path = join(tempDir('meshca-pg-ca-'), 'ca.pem');
  writeFileSync(path, pki.root.cert.pem);
  return path;
}

function running(): TestPostgres {
  if (server === undefined) throw new Error('PostgreSQL did not start');
  return server;
}

(available ? describe : describe.skip)('PostgreSQL', () => {
  describeStoreContract('PostgreSQL', () => ({
    async fresh() {
      const pg = running();
      const url = await pg.createDatabase();
      const database = new URL(url).pathname.slice(1);
      return {
        async open(options = {}) {
          const store = new PostgresLedgerStore(
            { url, passwordFile: pg.passwordFile, ...options },
            new FixedClock(new Date(T0)),
            silentLogger(),
          );
          await store.open();
          return store;
        },
        sql(statement, params = []) {
          let index = 0;
          return pg.sql(
            database,
            statement.replace(/\?/g, () => `$${++index}`),
            params,
          );
        },
      };
    },
  }));

  describe('PostgresLedgerStore', () => {
    it.each<[string, () => Record<string, unknown>]>([
      ['a password from a file', () => ({ passwordFile: running().passwordFile })],
      ['a password handed over (from the environment)', () => ({ password: running().password })],
    ])('connects with %s', async (_name, credentials) => {
      const store = new PostgresLedgerStore(
        { url: await running().createDatabase(), ...credentials() },
        new FixedClock(new Date(T0)),
        silentLogger(),
      );
      await store.open();
      expect(await store.chains()).toEqual([]);
      await store.close();
    });

    it('fails to open with a wrong password, and with TLS the server does not offer', async () => {
      const url = await running().createDatabase();
      for (const options of [
        { password: 'wrong' },
        { password: running().password, tls: { mode: 'require' as const } },
      ]) {
        const store = new PostgresLedgerStore(
          { url, ...options },
          new FixedClock(new Date(T0)),
          silentLogger(),
        );
        await expect(store.open()).rejects.toThrow();
      }
    });

    it.each([
      ['mysql://db/ledger', /postgres:\/\//],
      ['postgres://db/ledger?sslmode=require', /TLS options/],
      ['not a url', /not a URL/],
    ])('rejects the URL %s', (url, message) => {
      expect(
        () => new PostgresLedgerStore({ url }, new FixedClock(new Date(T0)), silentLogger()),
      ).toThrow(message);
    });

    describe('over TLS', () => {
      let tlsServer: TestPostgres | undefined;
      beforeAll(async () => {
        tlsServer = await startPostgres({ tlsName: 'db.example' });
      }, 120_000);
      afterAll(async () => {
        await tlsServer?.destroy();
      });

      it.each<[string, PostgresTlsMode, 'server' | 'other' | undefined, RegExp | undefined]>([
        ['require: encrypted, the certificate not checked', 'require', undefined, undefined],
        ['verify-ca: the certificate chains to the given CA', 'verify-ca', 'server', undefined],
        ['verify-ca against another CA', 'verify-ca', 'other', /self.signed|unable to verify/i],
        [
          'verify-full: the name (db.example) is not the host (127.0.0.1)',
          'verify-full',
          'server',
          /does not match|altnames/i,
        ],
      ])('%s', async (_name, mode, ca, failure) => {
        const target = tlsServer!;
        const caFile = ca === 'server' ? target.tlsCertFile : undefined;
        const otherCa = ca === 'other' ? await otherCaFile() : undefined;
        const store = new PostgresLedgerStore(
          {
            url: await target.createDatabase(),
            password: target.password,
            tls: {
              mode,
              ...(otherCa !== undefined
                ? { caFile: otherCa }
                : caFile !== undefined
                  ? { caFile }
                  : {}),
            },
          },
          new FixedClock(new Date(T0)),
          silentLogger(),
        );
        if (failure === undefined) {
          await store.open();
          expect(await store.schemaVersion()).toBe(LATEST_SCHEMA_VERSION);
          await store.close();
        } else {
          await expect(store.open()).rejects.toThrow(failure);
        }
      });
    });

    it('serializes migrations of replicas starting together', async () => {
      const url = await running().createDatabase();
      const stores = Array.from(
        { length: 4 },
        () =>
          new PostgresLedgerStore(
            { url, password: running().password },
            new FixedClock(new Date(T0)),
            silentLogger(),
          ),
      );
      await Promise.all(stores.map((store) => store.open()));
      const rows = await running().sql(
        new URL(url).pathname.slice(1),
        'SELECT version FROM ledger_schema ORDER BY version',
      );
      expect(rows.map((row) => Number(row['version']))).toEqual([1, 2, 3]);
      expect(LATEST_SCHEMA_VERSION).toBe(3);
      await Promise.all(stores.map((store) => store.close()));
    });
  });
});

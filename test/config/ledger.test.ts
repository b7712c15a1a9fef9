/**
 * The ledger's settings: where the ledger is (SQLite by default in the state directory, a path,
 * PostgreSQL, off), the password only from a file or MESHCA_LEDGER_PASSWORD (accepted without a
 * warning, never printed), TLS modes, spool and revocation rules, the inventory's access list, and
 * the commands' way of finding the same database.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import {
  ConfigError,
  OPTIONS,
  buildConfig,
  loadConfig,
  loadLedgerLocation,
  type Config,
  type Environment,
} from '../../src/config/index.js';
import { ledgerSpoolPath, sqliteLedgerPath } from '../../src/ledger/index.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';

afterAll(removeTempDirs);

const CWD = '/srv/meshca';
const ENV: Environment = { inCluster: false, cwd: CWD, podNamespace: undefined, podName: 'host-1' };

function build(overrides: Record<string, unknown> = {}, environment = ENV): Config {
  const raw: Record<string, unknown> = {};
  for (const option of OPTIONS) if (option.default !== undefined) raw[option.key] = option.default;
  return buildConfig({ ...raw, ...overrides }, environment, (key) => `<${key}>`);
}

function problems(overrides: Record<string, unknown>, environment = ENV): readonly string[] {
  try {
    build(overrides, environment);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('ledger settings', () => {
  it('keeps an SQLite ledger and the spool in the state directory by default', () => {
    const { ledger, stateDir } = build({ stateDir: 'state' });
    expect(ledger.store).toEqual({ kind: 'sqlite', path: sqliteLedgerPath(stateDir) });
    expect(ledger.spoolPath).toBe(ledgerSpoolPath(stateDir));
    expect(ledger.writer).toBe('host-1');
    expect(build({ podName: 'meshca-7d9f' }).ledger.writer).toBe('meshca-7d9f');
  });

  it.each([
    ['off', { kind: 'off' }],
    ['ledger/main.db', { kind: 'sqlite', path: `${CWD}/ledger/main.db` }],
    ['/var/lib/meshca/l.db', { kind: 'sqlite', path: '/var/lib/meshca/l.db' }],
  ])('ledger: %s', (value, store) => {
    expect(build({ ledger: value }).ledger.store).toEqual(store);
  });

  it('reads PostgreSQL with the password from the environment, which never prints', () => {
    const config = build(
      {
        ledger: 'postgres://meshca@db.example:5432/ledger',
        ledgerTlsMode: 'verify-full',
        ledgerTlsCaFile: 'ca.pem',
      },
      { ...ENV, ledgerPassword: 's3cret-pw' },
    );
    const store = config.ledger.store;
    if (store.kind !== 'postgres') throw new Error('expected postgres');
    expect(store.url).toBe('postgres://meshca@db.example:5432/ledger');
    expect(store.password?.reveal()).toBe('s3cret-pw');
    expect(store.tls).toEqual({ mode: 'verify-full', caFile: `${CWD}/ca.pem` });
    expect(JSON.stringify(config)).not.toContain('s3cret-pw');
    expect(inspect(config, { depth: 10 })).not.toContain('s3cret-pw');
    expect(String(store.password)).toBe('[redacted]');
    expect(Object.isFrozen(config.ledger.store)).toBe(true);
  });

  it('reads the password file instead', () => {
    const store = build({ ledger: 'postgresql://meshca@db/ledger', ledgerPasswordFile: 'pw' })
      .ledger.store;
    expect(store).toMatchObject({
      kind: 'postgres',
      passwordFile: `${CWD}/pw`,
      password: undefined,
    });
  });

  it.each([
    [
      { ledger: 'postgres://meshca:pw@db/ledger' },
      ENV,
      '<ledger>: must not hold a password: use ledgerPasswordFile or the environment variable MESHCA_LEDGER_PASSWORD',
    ],
    [
      { ledger: 'postgres://meshca@db/ledger?sslmode=disable' },
      ENV,
      '<ledger>: set TLS with ledgerTlsMode, not sslmode in the URL',
    ],
    [{ ledger: 'postgres://' }, ENV, '<ledger>: names no host'],
    [
      { ledger: 'postgres://meshca@db/ledger', ledgerPasswordFile: 'pw' },
      { ...ENV, ledgerPassword: 'x' },
      '<ledgerPasswordFile>: is set together with MESHCA_LEDGER_PASSWORD: give the password one way only',
    ],
    [
      { ledgerPasswordFile: 'pw' },
      ENV,
      '<ledgerPasswordFile>: is only used with a postgres:// ledger',
    ],
    [
      { ledger: 'postgres://meshca@db/ledger', ledgerTlsMode: 'prefer' },
      ENV,
      '<ledgerTlsMode>: must be one of disable, require, verify-ca, verify-full',
    ],
    [
      { ledger: 'postgres://meshca@db/ledger', ledgerTlsCaFile: 'ca.pem' },
      ENV,
      '<ledgerTlsCaFile>: is only used with ledgerTlsMode verify-ca or verify-full',
    ],
    [{ ledger: '' }, ENV, '<ledger>: must be sqlite, a file path, postgres://... or off'],
    [
      { ledger: 'mysql://db/ledger' },
      ENV,
      '<ledger>: must be sqlite, a file path, postgres://... or off',
    ],
    [
      { ledgerSpoolFull: 'block' },
      ENV,
      '<ledgerSpoolFull>: must be one of drop-oldest, fail-closed',
    ],
    [{ ledgerSpoolMax: 0 }, ENV, '<ledgerSpoolMax>: must be at least 1'],
    [{ ledgerBatchSize: 20_000 }, ENV, '<ledgerBatchSize>: must be between 1 and 10000'],
    [{ ledgerRetention: '30s' }, ENV, '<ledgerRetention>: must be at least 1m'],
    [{ ledgerFlushInterval: '1ms' }, ENV, '<ledgerFlushInterval>: must be at least 10ms'],
    [{ ledgerHeadInterval: '100ms' }, ENV, '<ledgerHeadInterval>: must be at least 1s'],
    [
      { ledger: 'off', revocation: true },
      ENV,
      '<revocation>: needs the ledger (ledger is off): the CRL lists what the ledger knows',
    ],
    [{ crlValidity: '30s' }, ENV, '<crlValidity>: must be whole seconds, at least 1m'],
    [
      { crlValidity: '1h', crlCheckInterval: '31m' },
      ENV,
      '<crlCheckInterval>: must be at least 100ms and at most half of crlValidity',
    ],
    [
      { inventoryServiceAccounts: ['security'] },
      ENV,
      '<inventoryServiceAccounts>: "security" is not namespace/serviceaccount',
    ],
    [{ inventoryAudience: ' ' }, ENV, '<inventoryAudience>: must not be empty'],
  ] as const)('refuses %o', (overrides, environment, problem) => {
    expect(problems(overrides, environment)).toEqual([problem]);
  });

  it('reads revocation and inventory access', () => {
    const { ledger } = build({
      revocation: 'true',
      crlValidity: '2h',
      crlCheckInterval: '5s',
      inventoryServiceAccounts: 'security/auditor,monitoring/grafana',
      inventoryGroups: ['security-team'],
    });
    expect(ledger.revocation).toEqual({
      enabled: true,
      crlValidityMs: 7_200_000,
      crlCheckIntervalMs: 5000,
    });
    expect(ledger.inventory).toEqual({
      serviceAccounts: [
        { namespace: 'security', serviceAccount: 'auditor' },
        { namespace: 'monitoring', serviceAccount: 'grafana' },
      ],
      groups: ['security-team'],
      audience: 'meshca-inventory',
    });
  });
});

describe('loadConfig and MESHCA_LEDGER_PASSWORD', () => {
  it('takes the password from the environment without calling it an unknown setting', async () => {
    const { config, warnings } = await loadConfig({
      argv: ['--ledger', 'postgres://meshca@db/ledger'],
      env: { MESHCA_LEDGER_PASSWORD: 'from-env', MESHCA_LEDGR: 'typo' },
      cwd: CWD,
    });
    expect(warnings).toEqual([
      'environment variable MESHCA_LEDGR is not a meshca setting and was ignored',
    ]);
    expect(config.ledger.store).toMatchObject({ kind: 'postgres' });
    if (config.ledger.store.kind === 'postgres') {
      expect(config.ledger.store.password?.reveal()).toBe('from-env');
    }
  });

  it('has no flag for the password', async () => {
    await expect(
      loadConfig({ argv: ['--ledger-password', 'x'], env: {}, cwd: CWD }),
    ).rejects.toThrow(ConfigError);
  });
});

describe('loadLedgerLocation (the ledger commands)', () => {
  it('finds the ledger as serve does: flags > environment > config file > defaults', async () => {
    const dir = tempDir();
    const file = join(dir, 'config.yaml');
    writeFileSync(file, 'ledger: from-file.db\nstateDir: state\ncaDir: /nowhere\n');
    const at = async (flags: Record<string, string>, env: Record<string, string> = {}) =>
      (await loadLedgerLocation({ flags, env, cwd: dir })).store;
    expect(await at({})).toEqual({ kind: 'sqlite', path: join(dir, '.meshca', 'ledger.db') });
    expect(await at({ stateDir: 'elsewhere' })).toEqual({
      kind: 'sqlite',
      path: join(dir, 'elsewhere', 'ledger.db'),
    });
    expect(await at({ config: file })).toEqual({ kind: 'sqlite', path: join(dir, 'from-file.db') });
    expect(await at({}, { MESHCA_CONFIG: file, MESHCA_LEDGER: 'from-env.db' })).toEqual({
      kind: 'sqlite',
      path: join(dir, 'from-env.db'),
    });
    expect(
      await at({ config: file, ledger: 'from-flag.db' }, { MESHCA_LEDGER: 'from-env.db' }),
    ).toEqual({
      kind: 'sqlite',
      path: join(dir, 'from-flag.db'),
    });
    expect(
      await at(
        { ledger: 'postgres://meshca@db/ledger', ledgerTlsMode: 'disable' },
        { MESHCA_LEDGER_PASSWORD: 'pw' },
      ),
    ).toMatchObject({ kind: 'postgres', tls: { mode: 'disable' } });
  });

  it('names the flag or variable of a bad value', async () => {
    await expect(
      loadLedgerLocation({ flags: { ledger: 'postgres://u:pw@db/x' }, env: {}, cwd: CWD }),
    ).rejects.toThrow('--ledger: must not hold a password');
    await expect(
      loadLedgerLocation({
        flags: {},
        env: { MESHCA_LEDGER_TLS_MODE: 'x', MESHCA_LEDGER: 'postgres://db/x' },
        cwd: CWD,
      }),
    ).rejects.toThrow('MESHCA_LEDGER_TLS_MODE: must be one of');
  });
});

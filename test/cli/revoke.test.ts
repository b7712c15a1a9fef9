/**
 * `meshca revoke SERIAL`: a serial is taken in every form a security engineer copies it from —
 * `openssl x509 -noout -serial` (`serial=0A1B…`), `openssl x509 -text` (`0a:1b:…`), `0x…`, or the
 * integer's hex without its leading zero — and recorded as the ledger writes serials, so that the
 * certificate is revoked (and reaches the CRL).
 */
import { join } from 'node:path';
import { runCommand } from '../../src/cli/main.js';
import { UsageError } from '../../src/cli/io.js';
import { parseSerial } from '../../src/cli/revoke.js';
import { FixedClock } from '../../src/clock.js';
import { SqliteLedgerStore } from '../../src/ledger/index.js';
import { TestChain, serialOf } from '../ledger/fixtures.js';
import { run } from '../support/process.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';

afterAll(removeTempDirs);

const never = new AbortController().signal;

async function meshca(
  args: readonly string[],
): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCommand(
    args,
    {
      stdout: { write: (text: string) => (out += text) },
      stderr: { write: (text: string) => (err += text) },
      env: {},
      cwd: process.cwd(),
    },
    never,
  );
  return { code, out, err };
}

describe('parseSerial', () => {
  it.each([
    ['the ledger form', '0a1b2c3d', '0a1b2c3d'],
    ['openssl x509 -serial', 'serial=0A1B2C3D', '0a1b2c3d'],
    ['openssl x509 -text', '0a:1b:2c:3d', '0a1b2c3d'],
    ['0x prefix', '0x0A1B2C3D', '0a1b2c3d'],
    ['no leading zero (Python hex of the integer)', 'a1b2c3d', '0a1b2c3d'],
    ['a DER sign byte', '00:8a:1b', '8a1b'],
    ['surrounding blanks', '  serial=7F  ', '7f'],
    ['20 bytes', `7f${'ab'.repeat(19)}`, `7f${'ab'.repeat(19)}`],
  ])('reads %s', (_form, text, expected) => {
    expect(parseSerial(text)).toBe(expected);
  });

  it.each([
    ['not hex', 'xyz'],
    ['empty', ''],
    ['zero', '00'],
    ['21 bytes', `7f${'ab'.repeat(20)}`],
    ['another field of openssl', 'subject=CN=x'],
  ])('refuses %s', (_what, text) => {
    expect(() => parseSerial(text)).toThrow(UsageError);
  });
});

describe('meshca revoke SERIAL', () => {
  it('revokes the certificate whose serial openssl prints', async () => {
    const stateDir = tempDir('meshca-cli-revoke-');
    const store = new SqliteLedgerStore(
      { path: join(stateDir, 'ledger.db') },
      new FixedClock(new Date()),
    );
    await store.open();
    // A serial with a leading zero nibble, the case the forms above disagree on.
    const issued = new TestChain('meshca-0').issuance({
      serial: `0${'c'.repeat(31)}`,
      timeMs: Date.now() - 60_000,
    });
    await store.append([issued]);
    await store.close();

    // A certificate with that serial, and what openssl says of it.
    const key = join(stateDir, 'k.pem');
    const cert = join(stateDir, 'c.pem');
    const made = await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-subj',
      '/O=test',
      '-days',
      '1',
      '-set_serial',
      `0x${serialOf(issued)}`,
    ]);
    expect(made.code).toBe(0);
    const printed = (
      await run('openssl', ['x509', '-in', cert, '-noout', '-serial'])
    ).stdout.trim();
    expect(printed).toBe(`serial=${serialOf(issued).toUpperCase()}`);

    const revoked = await meshca(['revoke', printed, '--by', 'alice', '--state-dir', stateDir]);
    expect(revoked.err).toBe('');
    expect(revoked.code).toBe(0);
    expect(revoked.out).toContain(`  ${serialOf(issued)}\n`);

    const workloads = JSON.parse(
      (await meshca(['inventory', 'workloads', '--state-dir', stateDir, '-o', 'json'])).out,
    ) as { items: { certificates: { serial: string; status: string; statusBy: string }[] }[] };
    expect(workloads.items.flatMap((pod) => pod.certificates)).toEqual([
      expect.objectContaining({ serial: serialOf(issued), status: 'revoked', statusBy: 'alice' }),
    ]);
  });
});

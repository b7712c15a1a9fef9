/**
 * `meshca scan` as a user meets it before any cluster is reached: help, bad flags, unreadable or
 * invalid input files (exit 1 or 2 with a message that says what to fix), and the exit status
 * rules. The scan itself runs against the real API server in test/integration/discovery.test.ts.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand } from '../../src/cli/main.js';
import { EXIT_FINDINGS, EXIT_INCOMPLETE, exitStatus } from '../../src/cli/scan.js';
import type { DiscoveryReport, ReportFinding } from '../../src/discovery/index.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';

afterAll(removeTempDirs);

async function scan(args: string[], env: Record<string, string> = {}) {
  let out = '';
  let err = '';
  const code = await runCommand(
    ['scan', ...args],
    {
      stdout: { write: (text: string) => (out += text) },
      stderr: { write: (text: string) => (err += text) },
      env: { HOME: tempDir('meshca-home-'), ...env },
      cwd: process.cwd(),
    },
    new AbortController().signal,
  );
  return { code, out, err };
}

describe('meshca scan (usage)', () => {
  it('prints its help, with the exit statuses', async () => {
    const { code, out } = await scan(['--help']);
    expect(code).toBe(0);
    expect(out).toContain('Usage: meshca scan [options]');
    expect(out).toContain('3  un-allowlisted findings at or above --fail-on');
    expect(out).toContain('never reads private keys');
  });

  it('is listed in the main help', async () => {
    let out = '';
    await runCommand(
      ['help'],
      {
        stdout: { write: (t: string) => (out += t) },
        stderr: { write: () => 0 },
        env: {},
        cwd: '.',
      },
      new AbortController().signal,
    );
    expect(out).toMatch(/scan\s+report certificates and CAs/);
  });

  const dir = tempDir('meshca-scan-cli-');
  const badAllowlist = join(dir, 'allow.yaml');
  writeFileSync(badAllowlist, 'allow: [{ namespace: x }]\n');
  const notPem = join(dir, 'roots.pem');
  writeFileSync(notPem, 'not a certificate\n');

  it.each([
    ['an unknown output', ['-o', 'yaml'], 2, '--output must be table or json'],
    [
      'an unknown severity',
      ['--fail-on', 'urgent'],
      2,
      '--fail-on must be one of critical, high, medium, low, info, never',
    ],
    ['a bad page size', ['--page-size', '0'], 2, '--page-size must be an integer from 1 to 5000'],
    ['a bad duration', ['--expiring-within', 'soon'], 2, '--expiring-within'],
    ['an unknown flag', ['--frobnicate'], 2, "Unknown option '--frobnicate'"],
    [
      'an allowlist without reasons',
      ['--allowlist', badAllowlist],
      1,
      'every allowlist entry needs a reason',
    ],
    ['a missing allowlist', ['--allowlist', join(dir, 'missing.yaml')], 1, 'cannot read'],
    ['roots that are not PEM', ['--approved-roots', notPem], 1, 'holds no certificate'],
    [
      'a cacerts directory without root-cert.pem',
      ['--ca-dir', dir],
      1,
      'root-cert.pem: cannot read',
    ],
    [
      'no cluster at all',
      ['-q'],
      1,
      'no cluster: give --kubeconfig, set KUBECONFIG, or create ~/.kube/config',
    ],
    [
      'an unreadable kubeconfig',
      ['--kubeconfig', join(dir, 'nope')],
      1,
      'cannot load the cluster connection',
    ],
  ])('refuses %s', async (_name, args, expected, message) => {
    const { code, err } = await scan(args);
    expect(err).toContain(message);
    expect(code).toBe(expected);
  });

  it('warns when no approved roots are given', async () => {
    const { err } = await scan(['--kubeconfig', join(dir, 'nope')]);
    expect(err).toContain('no approved roots given');
  });
});

describe('exitStatus', () => {
  const finding = (severity: ReportFinding['severity'], allowlisted = false): ReportFinding => ({
    id: '0',
    kind: 'weak-key',
    severity,
    why: '',
    location: '',
    object: { apiVersion: 'v1', kind: 'Secret', namespace: 'a', name: 'b', uid: null },
    via: null,
    certificate: null,
    allowlisted: allowlisted ? { rule: 'namespace', value: 'a', reason: 'r' } : null,
  });
  const report = (findings: ReportFinding[], complete = true): DiscoveryReport =>
    ({ complete, findings }) as unknown as DiscoveryReport;

  it.each([
    ['nothing found', 0, report([]), 'high'],
    ['a medium finding, failing on high', 0, report([finding('medium')]), 'high'],
    ['a high finding', EXIT_FINDINGS, report([finding('high')]), 'high'],
    ['a critical finding', EXIT_FINDINGS, report([finding('critical')]), 'high'],
    ['an allowlisted critical finding', 0, report([finding('critical', true)]), 'high'],
    ['a low finding, failing on low', EXIT_FINDINGS, report([finding('low')]), 'low'],
    ['a critical finding, failing never', 0, report([finding('critical')]), 'never'],
    ['an incomplete scan with nothing found', EXIT_INCOMPLETE, report([], false), 'high'],
    [
      'an incomplete scan with a high finding',
      EXIT_FINDINGS,
      report([finding('high')], false),
      'high',
    ],
    ['an incomplete scan, failing never', EXIT_INCOMPLETE, report([], false), 'never'],
  ] as const)('%s → %d', (_name, expected, input, failOn) => {
    expect(exitStatus(input, failOn)).toBe(expected);
  });
});

/**
 * The command line as a user meets it: `serve` in development mode, `token`, `request`, help,
 * version, and clear failures for bad usage and bad configuration.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand } from '../../src/cli/main.js';
import { checkCertificateChain } from '../../src/ca/index.js';
import { parseCertificatesPem } from '../../src/asn1/index.js';
import { captureLog } from '../support/log-capture.js';
import { freePort } from '../support/process.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';

function io(env: Record<string, string> = {}): {
  io: Parameters<typeof runCommand>[1];
  out: () => string;
  err: () => string;
} {
  let out = '';
  let err = '';
  return {
    io: {
      stdout: { write: (text: string) => (out += text) },
      stderr: {
        write: (text: string) => {
          err += text;
          captureLog(text);
        },
      },
      env,
      cwd: process.cwd(),
    },
    out: () => out,
    err: () => err,
  };
}

const never = new AbortController().signal;

describe('meshca CLI', () => {
  afterAll(removeTempDirs);

  it('serve (development mode), token and request work together', async () => {
    const stateDir = tempDir('meshca-cli-');
    const port = await freePort();
    const stop = new AbortController();
    const serve = io();
    const serving = runCommand(
      [
        'serve',
        '--state-dir',
        stateDir,
        '--listen',
        `127.0.0.1:${port}`,
        '--http-listen',
        '127.0.0.1:0',
        '--log-level',
        'silent',
      ],
      serve.io,
      stop.signal,
    );
    try {
      for (let i = 0; i < 100 && !serve.err().includes('development mode'); i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(serve.err()).toContain('Try:  npx meshca request');
      const token = io();
      expect(
        await runCommand(
          ['token', '-n', 'default', '-s', 'demo', '--state-dir', stateDir],
          token.io,
          never,
        ),
      ).toBe(0);
      const [, payload] = token.out().trim().split('.');
      const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<
        string,
        unknown
      >;
      expect(claims).toMatchObject({
        sub: 'system:serviceaccount:default:demo',
        aud: ['istio-ca'],
      });

      const outDir = tempDir('meshca-out-');
      const request = io();
      const code = await runCommand(
        [
          'request',
          '-n',
          'default',
          '-s',
          'demo',
          '--key',
          'ec',
          '--shape',
          'ztunnel',
          '--state-dir',
          stateDir,
          '--address',
          `localhost:${port}`,
          '--out',
          outDir,
          '--json',
        ],
        request.io,
        never,
      );
      expect(request.err()).toBe('');
      expect(code).toBe(0);
      const result = JSON.parse(request.out()) as {
        identity: string;
        certChain: string[];
        elements: number;
      };
      expect(result.identity).toBe('spiffe://cluster.local/ns/default/sa/demo');
      expect(result.elements).toBe(3);
      const written = readFileSync(join(outDir, 'cert-chain.pem'), 'utf8');
      expect(parseCertificatesPem(written, 'cert-chain.pem')).toHaveLength(2);
      expect(readFileSync(join(outDir, 'root-cert.pem'), 'utf8')).toBe(
        readFileSync(join(stateDir, 'ca', 'root-cert.pem'), 'utf8'),
      );
      const leaf = parseCertificatesPem(written, 'leaf')[0]!;
      expect(() =>
        checkCertificateChain(result.certChain, {
          uri: result.identity,
          spkiDer: leaf.x509.publicKey.export({ type: 'spki', format: 'der' }),
          at: new Date(),
        }),
      ).not.toThrow();

      const human = io();
      expect(
        await runCommand(
          [
            'request',
            '-n',
            'default',
            '-s',
            'other',
            '--state-dir',
            stateDir,
            '--address',
            `localhost:${port}`,
          ],
          human.io,
          never,
        ),
      ).toBe(0);
      expect(human.out()).toMatch(/identity +spiffe:\/\/cluster.local\/ns\/default\/sa\/other/);
      expect(human.out()).toMatch(/chain +leaf -> .*intermediate -> .*root \(verified\)/);
    } finally {
      stop.abort();
      expect(await serving).toBe(0);
    }
  });

  it.each([
    [
      ['serve', '--max-ttl', '1h', '--default-ttl', '2h'],
      2,
      /--max-ttl: must be at least defaultTtl/,
    ],
    [['serve', '--no-such-flag'], 2, /Unknown option '--no-such-flag'/],
    [['serve', '--kubeconfig', '/nonexistent'], 2, /caDir: a CA is required/],
    [['token', '-n', 'default'], 2, /--namespace and --service-account are required/],
    [['request', '-n', 'x', '-s', 'y', '--key', 'dsa'], 2, /--key must be one of rsa, ec, ec-p384/],
    [['frobnicate'], 2, /unknown command "frobnicate"/],
  ])('%j exits %i with a clear message', async (argv, exitCode, message) => {
    const run = io();
    expect(await runCommand(argv, run.io, never)).toBe(exitCode);
    expect(run.err()).toMatch(message);
  });

  it('token fails clearly when no development issuer exists yet', async () => {
    const run = io();
    expect(
      await runCommand(['token', '-n', 'a', '-s', 'b', '--state-dir', tempDir()], run.io, never),
    ).toBe(1);
    expect(run.err()).toMatch(/run "meshca serve" once/);
  });

  it('prints help and version', async () => {
    const help = io();
    expect(await runCommand(['serve', '--help'], help.io, never)).toBe(0);
    expect(help.out()).toContain('--max-ttl DUR');
    expect(help.out()).toContain('env MESHCA_MAX_TTL');
    const version = io();
    expect(await runCommand(['version'], version.io, never)).toBe(0);
    expect(version.out()).toMatch(/^meshca \d+\.\d+\.\d+/);
  });

  it('takes settings from MESHCA_* variables and a config file', async () => {
    const dir = tempDir();
    const file = join(dir, 'meshca.yaml');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(file, 'maxTtl: 1h\n');
    const run = io({ MESHCA_DEFAULT_TTL: '2h' });
    expect(await runCommand(['serve', '--config', file], run.io, never)).toBe(2);
    expect(run.err()).toContain(`maxTtl (in ${file}): must be at least defaultTtl`);
  });
});

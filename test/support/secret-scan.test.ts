/**
 * The secret scan the global teardown runs over every captured log line: it must find each kind
 * of planted secret, in every shape a log line can carry it (raw, JSON-escaped, base64 without
 * armour, cut short), and nothing in what meshca legitimately logs (certificates, public keys,
 * digests). And the capture must really see the logs.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT, exportJWK } from 'jose';
import { captureFile } from './log-capture.js';
import { forgeCsr, forgeCsrDer, forgeKey } from './csr-forge.js';
import { createTestPki, type TestPki } from './pki.js';
import { run } from './process.js';
import { classifyDer, scanText, type SecretKind } from './secret-scan.js';
import { memoryLogger } from './server.js';
import { removeTempDirs, tempDir } from './tmp.js';

const CLI = fileURLToPath(new URL('secret-scan-cli.ts', import.meta.url));
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const URI = 'spiffe://cluster.local/ns/default/sa/app';
const logLine = (fields: Record<string, unknown>): string =>
  JSON.stringify({ level: 30, time: 1, msg: 'something', ...fields });

let pki: TestPki;
let jwt: string;
let planted: [string, string, SecretKind][];

beforeAll(async () => {
  pki = await createTestPki({ name: 'scan' });
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  jwt = await new SignJWT({ sub: 'system:serviceaccount:default:app' })
    .setProtectedHeader({ alg: 'ES256' })
    .sign(privateKey);
  const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(
    '{"sub":"system:serviceaccount:default:app"}',
  ).toString('base64url')}.`;
  const pkcs8Ec = ec.privateKey.export({ type: 'pkcs8', format: 'der' });
  const sec1 = ec.privateKey.export({ type: 'sec1', format: 'der' });
  const pkcs1 = rsa.privateKey.export({ type: 'pkcs1', format: 'der' });
  const pkcs8Rsa = rsa.privateKey.export({ type: 'pkcs8', format: 'der' });
  const csrDer = forgeCsrDer(forgeKey(), URI);
  const jwk = await exportJWK(ec.privateKey);
  planted = [
    ['a signed JWT in a JSON field', logLine({ token: jwt }), 'jwt'],
    ['a bearer header', logLine({ authorization: `Bearer ${jwt}` }), 'jwt'],
    ['an alg:none JWT', logLine({ token: unsigned }), 'jwt'],
    [
      'a PKCS#8 PEM, JSON-escaped',
      logLine({ key: ec.privateKey.export({ type: 'pkcs8', format: 'pem' }) }),
      'private-key-pem',
    ],
    [
      'a SEC1 PEM',
      ec.privateKey.export({ type: 'sec1', format: 'pem' }).toString(),
      'private-key-pem',
    ],
    [
      'a PKCS#1 PEM',
      rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
      'private-key-pem',
    ],
    [
      'an encrypted PKCS#8 PEM',
      ec.privateKey
        .export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'x' })
        .toString(),
      'private-key-pem',
    ],
    ['a PKCS#8 EC key as base64', logLine({ key: pkcs8Ec.toString('base64') }), 'private-key-der'],
    ['a SEC1 key as base64url', logLine({ key: sec1.toString('base64url') }), 'private-key-der'],
    ['a PKCS#1 key as base64', pkcs1.toString('base64'), 'private-key-der'],
    ['a PKCS#8 RSA key cut short', pkcs8Rsa.toString('base64').slice(0, 120), 'private-key-der'],
    ['a PKCS#1 key cut short', pkcs1.toString('base64').slice(0, 100), 'private-key-der'],
    ['a JWK private key', logLine({ jwk }), 'jwk-private-key'],
    ['a JWK private key inside a string', logLine({ jwk: JSON.stringify(jwk) }), 'jwk-private-key'],
    ['a CSR PEM, JSON-escaped', logLine({ csr: forgeCsr(forgeKey(), URI) }), 'csr-pem'],
    ['a CSR as base64', logLine({ csr: csrDer.toString('base64') }), 'csr-der'],
    ['a CSR cut short', csrDer.toString('base64').slice(0, 120), 'csr-der'],
  ];
});
afterAll(removeTempDirs);

describe('scanText', () => {
  it('finds every planted secret, with its kind and line', () => {
    for (const [name, text, kind] of planted) {
      const findings = scanText(`first line\n${text}\n`);
      expect([name, findings.map((finding) => [finding.kind, finding.line])]).toEqual([
        name,
        expect.arrayContaining([[kind, 2]]),
      ]);
    }
  });

  it('quotes no more than an excerpt of what it found', () => {
    for (const finding of scanText(planted.map(([, text]) => text).join('\n'))) {
      expect(finding.excerpt.length).toBeLessThanOrEqual(17);
    }
    expect(scanText(logLine({ token: jwt }))[0]?.excerpt).not.toContain(jwt.slice(20));
  });

  it('finds nothing in what meshca legitimately logs', () => {
    const spki = ec.publicKey.export({ type: 'spki', format: 'der' });
    const clean = [
      logLine({ msg: 'certificate issued', serial: randomBytes(16).toString('hex') }),
      logLine({
        csrSha256: randomBytes(32).toString('hex'),
        issuer: randomBytes(32).toString('hex'),
      }),
      logLine({ bundle: pki.files.rootCertPem, chain: pki.files.certChainPem }),
      pki.root.cert.pem,
      pki.root.cert.der.toString('base64'),
      logLine({ publicKey: ec.publicKey.export({ type: 'spki', format: 'pem' }) }),
      spki.toString('base64'),
      // A JWT's header alone is not a token.
      logLine({ header: Buffer.from('{"alg":"ES256","kid":"abc"}').toString('base64url') }),
      logLine({ err: 'JWT rejected (ERR_JWT_EXPIRED)', identity: URI }),
      Buffer.alloc(300, 0x41).toString('base64'),
    ].join('\n');
    expect(scanText(clean)).toEqual([]);
  });

  it('classifies DER by structure, whole or cut', () => {
    const pkcs8 = ec.privateKey.export({ type: 'pkcs8', format: 'der' });
    expect(classifyDer(pkcs8)).toBe('private-key-der');
    expect(classifyDer(pkcs8.subarray(0, 30))).toBe('private-key-der');
    expect(classifyDer(forgeCsrDer(forgeKey(), URI))).toBe('csr-der');
    expect(classifyDer(pki.root.cert.der)).toBeUndefined();
    expect(classifyDer(Buffer.alloc(0))).toBeUndefined();
    expect(classifyDer(Buffer.from([0x30, 0x85, 1, 2, 3, 4, 5]))).toBeUndefined();
  });
});

describe('the capture and the scan of a run', () => {
  it('sees what memoryLogger logs (the global setup named a capture file)', () => {
    const file = captureFile();
    expect(file).toBeDefined();
    const marker = `capture-marker-${randomBytes(8).toString('hex')}`;
    memoryLogger().logger.info({ marker }, 'capture check');
    expect(readFileSync(file ?? '', 'utf8')).toContain(marker);
  });

  it('the scanner command fails on planted secrets without printing them, and passes clean logs', async () => {
    const dirty = tempDir('meshca-scan-');
    writeFileSync(
      join(dirty, 'worker-1.log'),
      `${logLine({ msg: 'ok' })}\n${logLine({ token: jwt })}\n`,
    );
    const failed = await run(process.execPath, ['--import', 'tsx', CLI, dirty]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('secret scan: 1 secret(s) in the test logs');
    expect(failed.stderr).toContain('jwt in worker-1.log:2');
    expect(failed.stderr).not.toContain(jwt.slice(16));

    const clean = tempDir('meshca-scan-');
    writeFileSync(join(clean, 'worker-1.log'), `${logLine({ msg: 'ok' })}\n`);
    const passed = await run(process.execPath, ['--import', 'tsx', CLI, clean]);
    expect(passed.code).toBe(0);
    expect(passed.stdout).toMatch(/secret scan: 1 log file\(s\), \d+ characters, no secrets/);
  }, 30_000);
});

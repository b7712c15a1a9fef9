/**
 * The transport Istio's clients rely on (ISTIO-CONTRACT.md §2.2, §3, checklist A 1, 5-7): HTTP/2
 * with ALPN h2 over TLS 1.2 and 1.3, a client certificate requested but optional, 30 s keepalive
 * pings tolerated, and a serving certificate (DNS SAN, serverAuth, intermediates sent) that
 * rotates without dropping established connections.
 */
import { run } from '../support/process.js';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { connect as http2Connect, type ClientHttp2Session } from 'node:http2';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { createTestPki } from '../support/pki.js';
import { startDevServer, type DevServer } from '../support/server.js';
import { removeTempDirs } from '../support/tmp.js';

/** grpc.health.v1.Health/Check with an empty request, over a raw HTTP/2 session. */
function healthCheck(session: ClientHttp2Session): Promise<string> {
  return new Promise((resolve, reject) => {
    const stream = session.request({
      ':method': 'POST',
      ':path': '/grpc.health.v1.Health/Check',
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    stream.on('trailers', (trailers) => {
      resolve(String((trailers as Record<string, unknown>)['grpc-status']));
    });
    stream.on('error', reject);
    stream.resume();
    stream.end(Buffer.from([0, 0, 0, 0, 0]));
  });
}

function handshake(
  port: number,
  ca: string,
  options: {
    minVersion?: 'TLSv1.2' | 'TLSv1.3' | 'TLSv1.1';
    maxVersion?: 'TLSv1.2' | 'TLSv1.3' | 'TLSv1.1';
    cert?: string;
    key?: string;
  },
): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({
      host: '127.0.0.1',
      port,
      servername: 'localhost',
      ca,
      ALPNProtocols: ['h2'],
      ...options,
    });
    socket.once('secureConnect', () => {
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

describe('TLS transport', () => {
  let dev: DevServer;

  beforeAll(async () => {
    dev = await startDevServer(['--serving-dns', 'meshca.meshca.svc,localhost']);
  });
  afterAll(async () => {
    await dev.stop();
    removeTempDirs();
  });

  it.each([['TLSv1.2'], ['TLSv1.3']] as const)('negotiates %s with ALPN h2', async (version) => {
    const socket = await handshake(dev.server.grpcPort, dev.rootCertPem, {
      minVersion: version,
      maxVersion: version,
    });
    try {
      expect(socket.getProtocol()).toBe(version);
      expect(socket.alpnProtocol).toBe('h2');
      // AEAD suites only, as istio-agent's FIPS profile and ztunnel require.
      expect(socket.getCipher().name).toMatch(/GCM|CHACHA20/);
    } finally {
      socket.destroy();
    }
  });

  it('refuses TLS 1.1', async () => {
    await expect(
      handshake(dev.server.grpcPort, dev.rootCertPem, {
        minVersion: 'TLSv1.1',
        maxVersion: 'TLSv1.1',
      }),
    ).rejects.toThrow();
  });

  /** `openssl s_client` against the listener; its exit status and what it printed. */
  const sClient = (args: readonly string[]): Promise<{ code: number | null; output: string }> =>
    run(
      'openssl',
      [
        's_client',
        '-connect',
        `127.0.0.1:${dev.server.grpcPort}`,
        '-servername',
        'localhost',
        '-CAfile',
        join(dev.stateDir, 'ca', 'root-cert.pem'),
        '-alpn',
        'h2',
        ...args,
      ],
      { timeoutMs: 20_000 },
    ).then((result) => ({ code: result.code, output: result.stdout + result.stderr }));

  // The client offers what it is told (SECLEVEL=0 lets OpenSSL 3 offer TLS 1.0 and 1.1 at all),
  // so each refusal below is the server's: an alert it sent, seen by the client.
  it.each<[string, string[], RegExp]>([
    ['TLS 1.1', ['-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0'], /alert protocol version/],
    ['TLS 1.0', ['-tls1', '-cipher', 'DEFAULT@SECLEVEL=0'], /alert protocol version/],
    [
      'a CBC suite with RSA key exchange',
      ['-tls1_2', '-cipher', 'AES128-SHA'],
      /alert handshake failure/,
    ],
    [
      'a CBC suite with ECDHE',
      ['-tls1_2', '-cipher', 'ECDHE-ECDSA-AES128-SHA'],
      /alert handshake failure/,
    ],
    [
      'a CBC suite with SHA-256',
      ['-tls1_2', '-cipher', 'ECDHE-ECDSA-AES128-SHA256'],
      /alert handshake failure/,
    ],
  ])('refuses %s (openssl s_client)', async (_name, args, alert) => {
    const { code, output } = await sClient(args);
    expect(code).not.toBe(0);
    expect(output).toMatch(alert);
    expect(output).toContain('Cipher is (NONE)');
  });

  it.each<[string, string[], string]>([
    [
      'TLS 1.2 with ECDHE and AES-GCM',
      ['-tls1_2', '-cipher', 'ECDHE-ECDSA-AES128-GCM-SHA256'],
      'TLSv1.2, Cipher is ECDHE-ECDSA-AES128-GCM-SHA256',
    ],
    ['TLS 1.3', ['-tls1_3'], 'TLSv1.3, Cipher is TLS_AES_128_GCM_SHA256'],
  ])('accepts %s (openssl s_client, the control)', async (_name, args, negotiated) => {
    const { code, output } = await sClient(args);
    expect(code).toBe(0);
    expect(output).toContain(`New, ${negotiated}`);
  });

  it('serves a certificate with the configured DNS names, serverAuth, and its intermediate', async () => {
    const socket = await handshake(dev.server.grpcPort, dev.rootCertPem, {});
    try {
      const detailed = socket.getPeerCertificate(true);
      const leaf = new X509Certificate(detailed.raw);
      expect(leaf.subjectAltName).toContain('DNS:meshca.meshca.svc');
      expect(leaf.subjectAltName).toContain('DNS:localhost');
      expect(leaf.keyUsage).toContain('1.3.6.1.5.5.7.3.1');
      // The chain sent includes the intermediate (clients do no AIA fetching).
      expect(detailed.issuerCertificate.subject.CN).toBe('meshca development intermediate');
    } finally {
      socket.destroy();
    }
  });

  it('asks for a client certificate in the handshake (seen by openssl s_client)', async () => {
    // Asynchronous: the server runs in this process and must keep answering.
    const rootFile = join(dev.stateDir, 'ca', 'root-cert.pem');
    const result = await run('openssl', [
      's_client',
      '-connect',
      `127.0.0.1:${dev.server.grpcPort}`,
      '-servername',
      'localhost',
      '-CAfile',
      rootFile,
      '-alpn',
      'h2',
      '-tls1_2',
    ]);
    expect(result.stdout).toContain('Acceptable client certificate CA names');
    expect(result.stdout).toContain('ALPN protocol: h2');
    expect(result.stdout).toContain('Verify return code: 0 (ok)');
  });

  it('accepts a handshake with or without a client certificate, even an unknown one', async () => {
    const pki = await createTestPki({ name: 'client' });
    const withCert = await handshake(dev.server.grpcPort, dev.rootCertPem, {
      cert: pki.signing.cert.pem,
      key: pki.signing.key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    });
    expect(withCert.authorized).toBe(true);
    withCert.destroy();
    const without = await handshake(dev.server.grpcPort, dev.rootCertPem, {});
    expect(without.authorized).toBe(true);
    without.destroy();
  });

  it('tolerates keepalive pings and keeps the connection open', async () => {
    const session = http2Connect(`https://localhost:${dev.server.grpcPort}`, {
      ca: dev.rootCertPem,
    });
    let goaway = false;
    session.on('goaway', () => {
      goaway = true;
    });
    try {
      expect(await healthCheck(session)).toBe('0');
      // istio-agent pings every 30 s; ping far more often to show no ping policy applies.
      for (let i = 0; i < 20; i++) {
        await new Promise<void>((resolve, reject) => {
          session.ping((error) => {
            if (error) reject(error);
            else resolve();
          });
        });
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(goaway).toBe(false);
      expect(session.closed).toBe(false);
      expect(await healthCheck(session)).toBe('0');
    } finally {
      session.close();
    }
  });

  it('rotates the serving certificate without dropping established connections', async () => {
    const session = http2Connect(`https://localhost:${dev.server.grpcPort}`, {
      ca: dev.rootCertPem,
    });
    try {
      expect(await healthCheck(session)).toBe('0');
      const before = await handshake(dev.server.grpcPort, dev.rootCertPem, {});
      const oldSerial = before.getPeerX509Certificate()?.serialNumber;
      before.destroy();

      // New CA material (same root here) makes the serving certificate renew at once.
      dev.server.authority.install(dev.server.authority.current().material);
      let newSerial = oldSerial;
      for (let i = 0; i < 50 && newSerial === oldSerial; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        const after = await handshake(dev.server.grpcPort, dev.rootCertPem, {});
        newSerial = after.getPeerX509Certificate()?.serialNumber;
        after.destroy();
      }
      expect(newSerial).not.toBe(oldSerial);
      // The connection opened before the rotation still works.
      expect(session.closed).toBe(false);
      expect(await healthCheck(session)).toBe('0');
    } finally {
      session.close();
    }
  });
});

/**
 * Interoperability with a gRPC stack that is not Node's: Debian's python3-grpcio (gRPC C-core),
 * with CSRs made by `openssl req` in both Istio shapes, and every returned chain checked by
 * `openssl verify` against the last element (ISTIO-CONTRACT.md checklist 13, 14, 22-27).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  IN_CI,
  PYTHON,
  opensslUnavailableReason,
  pythonGrpcUnavailableReason,
} from '../support/environment.js';
import { MAX_CLIENT_MESSAGE_BYTES } from '../../src/errors.js';
import { extension, forgeCsr, forgeKey, hugeOid, sanExtension } from '../support/csr-forge.js';
import { run } from '../support/process.js';
import { startDevServer, type DevServer } from '../support/server.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';
import { requestBody, struct, structEntry, value } from '../support/wire.js';

const CLIENT = fileURLToPath(new URL('istio_ca_client.py', import.meta.url));
const missing = pythonGrpcUnavailableReason() ?? opensslUnavailableReason();
if (missing !== undefined && IN_CI) throw new Error(`interop tests need their tools: ${missing}`);
const describeInterop = missing === undefined ? describe : describe.skip;
if (missing !== undefined) console.warn(`skipping Python/openssl interop tests: ${missing}`);

interface PythonResult {
  readonly code: string;
  readonly details: string;
  readonly cert_chain: string[];
}

describeInterop('python3-grpcio client with openssl CSRs', () => {
  let dev: DevServer;
  let dir: string;
  let rootFile: string;

  beforeAll(async () => {
    dev = await startDevServer();
    dir = tempDir();
    rootFile = join(dir, 'ca-root.pem');
    writeFileSync(rootFile, dev.rootCertPem);
  });
  afterAll(async () => {
    await dev.stop();
    removeTempDirs();
  });

  async function callCa(
    csrFile: string,
    tokenFile: string,
    validity = 0,
    raw = false,
  ): Promise<PythonResult> {
    const result = await run(PYTHON, [
      CLIENT,
      ...(raw ? ['--raw'] : []),
      `localhost:${dev.server.grpcPort}`,
      rootFile,
      tokenFile,
      csrFile,
      String(validity),
    ]);
    if (result.code !== 0) throw new Error(`python client failed: ${result.stderr}`);
    return JSON.parse(result.stdout) as PythonResult;
  }

  async function openssl(args: string[]): Promise<string> {
    const result = await run('openssl', args);
    if (result.code !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${result.stderr}`);
    return result.stdout + result.stderr;
  }

  // openssl cannot encode istio-agent's empty "O=" (it drops empty attributes), so its agent-like
  // request has an empty subject too; src/csr/build.ts covers the exact O= encoding elsewhere.
  it.each([
    ['istio-agent shape (RSA-2048, critical URI SAN)', ['-newkey', 'rsa:2048'], 'app'],
    [
      'ztunnel shape (ECDSA P-256, empty subject, critical URI SAN)',
      ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'],
      'ztunnel-app',
    ],
    [
      'ECDSA P-384 with SHA-384',
      ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384', '-sha384'],
      'p384',
    ],
  ])(
    '%s: issued, and openssl verifies the chain against the last element',
    async (_name, keyArgs, sa) => {
      const uri = `spiffe://cluster.local/ns/default/sa/${sa}`;
      const csrFile = join(dir, `${sa}.csr`);
      await openssl([
        'req',
        '-new',
        ...keyArgs,
        '-nodes',
        '-keyout',
        join(dir, `${sa}.key`),
        '-subj',
        '/',
        '-addext',
        `subjectAltName=critical,URI:${uri}`,
        '-out',
        csrFile,
      ]);
      const tokenFile = join(dir, `${sa}.token`);
      writeFileSync(tokenFile, await dev.token('default', sa));

      const result = await callCa(csrFile, tokenFile, 3600);
      expect(result.code).toBe('OK');
      const chain = result.cert_chain;
      expect(chain.length).toBeGreaterThanOrEqual(2);
      for (const element of chain) expect(element.endsWith('\n')).toBe(true);

      const leafFile = join(dir, `${sa}.leaf.pem`);
      const untrustedFile = join(dir, `${sa}.intermediates.pem`);
      const bundleFile = join(dir, `${sa}.bundle.pem`);
      writeFileSync(leafFile, chain[0]!);
      writeFileSync(untrustedFile, chain.slice(1, -1).join(''));
      writeFileSync(bundleFile, chain[chain.length - 1]!);
      for (const purpose of ['sslclient', 'sslserver']) {
        const out = await openssl([
          'verify',
          '-purpose',
          purpose,
          '-CAfile',
          bundleFile,
          '-untrusted',
          untrustedFile,
          leafFile,
        ]);
        expect(out).toContain(`${leafFile}: OK`);
      }
      const text = await openssl(['x509', '-in', leafFile, '-noout', '-text']);
      expect(text).toContain(`URI:${uri}`);
      expect(text).toMatch(/X509v3 Subject Alternative Name: critical/);
      expect(text).toMatch(/X509v3 Basic Constraints: critical\s+CA:FALSE/);
      // The leaf holds the key openssl generated.
      const leafKey = await openssl(['x509', '-in', leafFile, '-noout', '-pubkey']);
      const ownKey = await openssl(['pkey', '-in', join(dir, `${sa}.key`), '-pubout']);
      expect(leafKey.trim()).toBe(ownKey.trim());
      expect(readFileSync(bundleFile, 'utf8')).toBe(dev.rootCertPem);
    },
  );

  it('gets UNAUTHENTICATED without a token and INVALID_ARGUMENT for a CSR with a DNS name', async () => {
    const csrFile = join(dir, 'dns.csr');
    await openssl([
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      join(dir, 'dns.key'),
      '-subj',
      '/',
      '-addext',
      'subjectAltName=URI:spiffe://cluster.local/ns/default/sa/app,DNS:evil.example.com',
      '-out',
      csrFile,
    ]);
    const unauthenticated = await callCa(csrFile, '-');
    expect(unauthenticated.code).toBe('UNAUTHENTICATED');
    expect(unauthenticated.details).toBe('authentication failed');

    const tokenFile = join(dir, 'app.token');
    writeFileSync(tokenFile, await dev.token('default', 'app'));
    const invalid = await callCa(csrFile, tokenFile);
    expect(invalid.code).toBe('INVALID_ARGUMENT');
    expect(invalid.details).toMatch(/DNS name/);
  });

  describe('the defects outside tests found, seen by a gRPC C-core client', () => {
    const uri = 'spiffe://cluster.local/ns/default/sa/interop-defects';
    let tokenFile: string;
    beforeAll(async () => {
      tokenFile = join(dir, 'defects.token');
      writeFileSync(tokenFile, await dev.token('default', 'interop-defects'));
    });

    it('sees INVALID_ARGUMENT with a short message, not RESOURCE_EXHAUSTED, for an OID of 20,000 arcs', async () => {
      // C-core refuses response metadata past 8 KiB: a 40 KB message became RESOURCE_EXHAUSTED.
      const csrFile = join(dir, 'huge-oid.csr');
      writeFileSync(
        csrFile,
        forgeCsr(forgeKey(), uri, {
          extensions: [sanExtension([uri]), extension(hugeOid(20_000), Buffer.from([5, 0]))],
        }),
      );
      const result = await callCa(csrFile, tokenFile);
      expect(result.code).toBe('INVALID_ARGUMENT');
      expect(result.details).toMatch(
        /^CSR requests extension 1\.1\.2\.3\..*…; only subjectAltName/,
      );
      expect(Buffer.byteLength(result.details)).toBeLessThan(MAX_CLIENT_MESSAGE_BYTES);
    });

    it('sees INVALID_ARGUMENT, which istio-agent does not retry, for a body that is not protobuf', async () => {
      const bodyFile = join(dir, 'garbage.bin');
      writeFileSync(bodyFile, Buffer.from('\xff\xff not a protobuf message', 'latin1'));
      const result = await callCa(bodyFile, tokenFile, 0, true);
      expect(result.code).toBe('INVALID_ARGUMENT');
      expect(result.details).toMatch(/^request body is not an IstioCertificateRequest/);
    });

    it('gets a certificate when metadata holds an entry without key and value', async () => {
      const bodyFile = join(dir, 'empty-entry.bin');
      writeFileSync(
        bodyFile,
        requestBody({
          csr: forgeCsr(forgeKey(), uri),
          metadata: struct(
            structEntry(undefined, undefined),
            structEntry('CertSigner', value.string('')),
          ),
        }),
      );
      const result = await callCa(bodyFile, tokenFile, 0, true);
      expect(result.code).toBe('OK');
      expect(result.cert_chain.length).toBeGreaterThanOrEqual(2);
    });
  });
});

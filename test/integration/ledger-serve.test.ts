/**
 * The ledger through `meshca serve` in development mode (embedded SQLite in the state directory):
 * issuances and refusals recorded; the inventory over HTTP (anonymous on a loopback-bound ops
 * port only — without a cluster no token can be checked); a revocation by `meshca revoke` on the
 * CRL at `/crl` within the check interval, verified by openssl; the ledger's metrics; the ledger
 * switched off; and SIGTERM under load, after which the ledger holds exactly the certificates the
 * clients received.
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand } from '../../src/cli/main.js';
import { FixedClock } from '../../src/clock.js';
import { SqliteLedgerStore, verifyLedger } from '../../src/ledger/index.js';
import { csrFor } from '../server/harness.js';
import { opensslUnavailableReason } from '../support/environment.js';
import { eventually } from '../support/kube.js';
import { issuanceLoad, metricValue } from '../support/issuance-load.js';
import { startMeshcaProcess, type MeshcaProcess } from '../support/meshca-process.js';
import { run } from '../support/process.js';
import { startDevServer, type DevServer } from '../support/server.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';

afterAll(removeTempDirs);

const never = new AbortController().signal;

async function get(
  port: number,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; type: string; body: Record<string, unknown> | Buffer }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { headers });
  const type = response.headers.get('content-type') ?? '';
  return {
    status: response.status,
    type,
    body: type.startsWith('application/json')
      ? ((await response.json()) as Record<string, unknown>)
      : Buffer.from(await response.arrayBuffer()),
  };
}

describe('the ledger through serve (development mode)', () => {
  let meshca: DevServer;
  let port: number;
  let serial: string;

  beforeAll(async () => {
    meshca = await startDevServer([
      '--revocation',
      '--crl-check-interval',
      '500ms',
      '--ledger-head-interval',
      '1s',
    ]);
    port = meshca.server.httpPort;
    const client = meshca.client();
    const { csrPem } = await csrFor('spiffe://cluster.local/ns/shop/sa/web', 'ec');
    const chain = await client.createCertificate({
      csrPem,
      token: await meshca.token('shop', 'web'),
    });
    serial = new X509Certificate(chain[0]!).serialNumber.toLowerCase();
    await expect(
      client.createCertificate({ csrPem, token: await meshca.token('shop', 'intruder') }),
    ).rejects.toMatchObject({ code: 7 });
  });
  afterAll(() => meshca.stop());

  it('records into <stateDir>/ledger.db, readable at once over HTTP on loopback', async () => {
    expect(existsSync(join(meshca.stateDir, 'ledger.db'))).toBe(true);
    const identities = await eventually('the issuance in the inventory', async () => {
      const answer = await get(port, '/v1/inventory/identities?namespace=shop');
      const items = (answer.body as { items?: { serial: string }[] }).items ?? [];
      return items.length === 1 ? answer : undefined;
    });
    expect(identities.status).toBe(200);
    expect(identities.body).toMatchObject({
      schema: 'meshca.io/inventory/v1',
      view: 'identities',
      nextCursor: null,
      items: [{ serial, identity: 'spiffe://cluster.local/ns/shop/sa/web', status: 'active' }],
    });
    const denials = await get(port, '/v1/inventory/denials');
    expect(denials.body).toMatchObject({
      items: [
        {
          serviceAccount: 'intruder',
          outcome: 'denied',
          errorCode: 'ERR_CSR_IDENTITY_NOT_OWNED',
          audit: false,
        },
      ],
    });
    expect((await get(port, '/v1/inventory/')).body).toEqual({
      schema: 'meshca.io/inventory/v1',
      views: [
        'identities',
        'expiring',
        'denials',
        'issuers',
        'workloads',
        'findings',
        'certificates',
        'denial-rules',
        'overview',
      ],
    });
  });

  it.each([
    [
      '/v1/inventory/secrets',
      404,
      'no view "secrets"; views: identities, expiring, denials, issuers, workloads, findings, certificates, denial-rules, overview',
    ],
    [
      '/v1/inventory/expiring?within=later',
      400,
      'within: "later" is not a duration (examples: 24h, 1h30m, 90s, 500ms)',
    ],
    ['/v1/inventory/identities?cursor=xyz', 400, 'cursor: not a cursor of this view'],
  ])('GET %s answers %i in JSON', async (path, status, message) => {
    const answer = await get(port, path);
    expect(answer).toMatchObject({
      status,
      body: { schema: 'meshca.io/inventory/v1', error: { status, message } },
    });
  });

  (opensslUnavailableReason() === undefined ? it : it.skip)(
    'puts a serial revoked with meshca revoke on the CRL at /crl, which openssl verifies',
    async () => {
      let out = '';
      const code = await runCommand(
        ['revoke', serial, '--reason', 'keyCompromise', '--state-dir', meshca.stateDir],
        {
          stdout: { write: (text: string) => (out += text) },
          stderr: { write: () => true },
          env: {},
          cwd: process.cwd(),
        },
        never,
      );
      expect([code, out]).toEqual([0, expect.stringContaining('revoked 1 certificate(s)')]);
      const der = await eventually('the serial on the CRL', async () => {
        const answer = await get(port, '/crl');
        const body = answer.body as Buffer;
        return answer.status === 200 && body.includes(Buffer.from(serial, 'hex'))
          ? body
          : undefined;
      });
      const pem = await get(port, '/crl', { accept: 'application/x-pem-file' });
      expect(pem.type).toBe('application/x-pem-file');
      expect((pem.body as Buffer).toString()).toMatch(/^-----BEGIN X509 CRL-----\n/);
      const dir = tempDir();
      writeFileSync(join(dir, 'crl.der'), der);
      const verified = await run('openssl', [
        'crl',
        '-inform',
        'DER',
        '-in',
        join(dir, 'crl.der'),
        '-CAfile',
        join(meshca.stateDir, 'ca', 'ca-cert.pem'),
        '-verify',
        '-noout',
        '-text',
      ]);
      expect(verified.stderr).toContain('verify OK');
      expect(verified.stdout).toContain(`Serial Number: ${serial.toUpperCase()}`);
      expect(verified.stdout).toContain('Key Compromise');
      const metrics = ((await get(port, '/metrics')).body as Buffer).toString();
      expect(metricValue(metrics, 'meshca_revoked_certificates')).toBe(1);
    },
  );

  it('exports its metrics and says how the ledger is in /readyz', async () => {
    const metrics = await eventually('the chain head exported', async () => {
      const text = ((await get(port, '/metrics')).body as Buffer).toString();
      return (metricValue(text, 'meshca_ledger_chain_head_sequence') ?? 0) >= 2 ? text : undefined;
    });
    expect(metricValue(metrics, 'meshca_ledger_records_written_total')).toBeGreaterThanOrEqual(2);
    expect(metricValue(metrics, 'meshca_ledger_backlog_records')).toBe(0);
    expect(metricValue(metrics, 'meshca_ledger_records_dropped_total{reason="spool-full"}')).toBe(
      0,
    );
    const readyz = (await get(port, '/readyz')).body as { details: Record<string, string> };
    expect(readyz.details).toMatchObject({ ledger: 'ok', crl: 'ok' });
    expect(meshca.logs().some((line) => line.includes('"msg":"ledger chain head"'))).toBe(true);
  });
});

describe('the inventory without a cluster, on a port other hosts reach', () => {
  let meshca: DevServer;
  beforeAll(async () => {
    meshca = await startDevServer(['--http-listen', '0.0.0.0:0']);
  });
  afterAll(() => meshca.stop());

  it.each([
    [
      {},
      'a bearer token is required, and tokens cannot be checked without a cluster: bind the operations port to a loopback address',
    ],
    [
      { authorization: 'Bearer anything' },
      'bearer tokens cannot be checked without a cluster (no TokenReview)',
    ],
  ])('refuses %o with 401', async (headers, message) => {
    const answer = await get(meshca.server.httpPort, '/v1/inventory/identities', headers);
    expect(answer).toMatchObject({ status: 401, body: { error: { status: 401, message } } });
  });

  it('has no /crl without revocation', async () => {
    expect((await get(meshca.server.httpPort, '/crl')).status).toBe(404);
  });
});

describe('ledger: off', () => {
  it('records nothing and serves no inventory', async () => {
    const meshca = await startDevServer(['--ledger', 'off']);
    try {
      expect((await get(meshca.server.httpPort, '/v1/inventory/identities')).status).toBe(404);
      expect(existsSync(join(meshca.stateDir, 'ledger.db'))).toBe(false);
      expect(meshca.logs().some((line) => line.includes('the identity ledger is off'))).toBe(true);
    } finally {
      await meshca.stop();
    }
  });
});

describe('SIGTERM under load', () => {
  let meshca: MeshcaProcess | undefined;
  afterAll(() => meshca?.kill());

  it('writes every record of the calls it answered before it exits', async () => {
    const stateDir = tempDir('meshca-ledger-drain-');
    const server = await startMeshcaProcess([
      '--state-dir',
      stateDir,
      '--ledger-flush-interval',
      '2s',
    ]);
    meshca = server;
    const load = await issuanceLoad(stateDir, server.grpcPort);
    let answered = 0;
    const results = load.run(600, 50, (done) => {
      answered = done;
    });
    await eventually('load established', () => (answered >= 100 ? true : undefined), 30_000);
    server.child.kill('SIGTERM');
    const [code, answers] = await Promise.all([server.exited, results]);
    load.close();
    expect(code).toBe(0);
    const issued = answers
      .filter((answer) => answer.outcome === 'OK')
      .map((answer) => answer.serial);
    expect(issued.length).toBeGreaterThanOrEqual(100);

    const logs = server.logs().map((line) => line.msg);
    expect(logs.findIndex((msg) => msg.startsWith('gRPC drain'))).toBeLessThan(
      logs.lastIndexOf('ledger chain head'),
    );
    const spool = join(stateDir, 'ledger-spool.jsonl');
    expect(existsSync(spool) ? statSync(spool).size : 0).toBe(0);

    const store = new SqliteLedgerStore(
      { path: join(stateDir, 'ledger.db') },
      new FixedClock(new Date()),
    );
    await store.open();
    try {
      const recorded: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.identities(
          new Date(),
          { namespace: 'load' },
          { limit: 1000, ...(cursor === undefined ? {} : { cursor }) },
        );
        recorded.push(...page.items.map((item) => item.serial));
        cursor = page.nextCursor;
      } while (cursor !== undefined);
      expect(recorded.sort()).toEqual([...issued].sort());
      expect((await verifyLedger(store)).ok).toBe(true);
    } finally {
      await store.close();
    }
  }, 120_000);
});

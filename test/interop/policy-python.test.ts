/**
 * Policy decisions as a non-Node client sees them: Debian's python3-grpcio (gRPC C-core, like
 * Envoy's) with `openssl req` CSRs against `meshca serve` with a central and a local policy. A
 * denial is PERMISSION_DENIED with `policy <layer>/<rule>: <reason>`; an audit-mode rule issues,
 * and its "would deny" is counted in `meshca_policy_decisions_total{effect="audit"}`.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  IN_CI,
  PYTHON,
  opensslUnavailableReason,
  pythonGrpcUnavailableReason,
} from '../support/environment.js';
import { httpGet, metricValue, writePolicy } from '../support/policy.js';
import { run } from '../support/process.js';
import { startDevServer, type DevServer } from '../support/server.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';

const CLIENT = fileURLToPath(new URL('istio_ca_client.py', import.meta.url));
const missing = pythonGrpcUnavailableReason() ?? opensslUnavailableReason();
if (missing !== undefined && IN_CI) throw new Error(`interop tests need their tools: ${missing}`);
const describeInterop = missing === undefined ? describe : describe.skip;
if (missing !== undefined) console.warn(`skipping Python/openssl policy tests: ${missing}`);

interface PythonResult {
  readonly code: string;
  readonly details: string;
  readonly cert_chain: string[];
}

describeInterop('policy decisions seen by python3-grpcio', () => {
  let dev: DevServer;
  let dir: string;
  let rootFile: string;

  beforeAll(async () => {
    dir = tempDir('meshca-policy-interop-');
    rootFile = join(dir, 'ca-root.pem');
    const central = writePolicy(
      dir,
      'central.yaml',
      'security-baseline',
      `
defaultAction: allow
rules:
  - name: kube-system-allowlist
    selector: { namespaces: [kube-system] }
    identities: { allow: [kube-system/coredns] }
  - name: key-types
    keyTypes: [ECDSA-P256, RSA-2048, RSA-3072, RSA-4096]
`,
    );
    const local = writePolicy(
      dir,
      'local.yaml',
      'shop-only',
      `
defaultAction: deny
mode: audit
rules:
  - name: shop-workloads
    selector: { namespaces: [shop] }
  - name: no-legacy
    mode: enforce
    selector: { serviceAccounts: [legacy] }
    identities: { deny: ['*/legacy'] }
`,
    );
    dev = await startDevServer(['--policy-central', central, '--policy-local', local]);
    writeFileSync(rootFile, dev.rootCertPem);
  });
  afterAll(async () => {
    await dev.stop();
    removeTempDirs();
  });

  /** A CSR by `openssl req` (ECDSA P-256 unless told), a token, and one call by the Python client. */
  async function call(
    namespace: string,
    sa: string,
    keyArgs = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'],
  ): Promise<PythonResult> {
    const base = join(dir, `${namespace}-${sa}-${keyArgs.join('').length}`);
    const made = await run('openssl', [
      'req',
      '-new',
      ...keyArgs,
      '-nodes',
      '-keyout',
      `${base}.key`,
      '-subj',
      '/',
      '-addext',
      `subjectAltName=critical,URI:spiffe://cluster.local/ns/${namespace}/sa/${sa}`,
      '-out',
      `${base}.csr`,
    ]);
    if (made.code !== 0) throw new Error(`openssl req failed: ${made.stderr}`);
    writeFileSync(`${base}.token`, await dev.token(namespace, sa));
    const result = await run(PYTHON, [
      CLIENT,
      `localhost:${dev.server.grpcPort}`,
      rootFile,
      `${base}.token`,
      `${base}.csr`,
      '0',
    ]);
    if (result.code !== 0) throw new Error(`python client failed: ${result.stderr}`);
    return JSON.parse(result.stdout) as PythonResult;
  }

  it.each([
    [
      'a central rule',
      'kube-system',
      'kube-proxy',
      undefined,
      'policy central/kube-system-allowlist: identity kube-system/kube-proxy is not among the allowed identities',
    ],
    [
      'a central key rule (ECDSA P-384)',
      'shop',
      'web',
      ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384', '-sha384'],
      'policy central/key-types: key type not allowed (allowed: ECDSA-P256, RSA-2048, RSA-3072, RSA-4096)',
    ],
    [
      'an enforce rule of the local policy',
      'shop',
      'legacy',
      undefined,
      'policy local/no-legacy: identity shop/legacy is denied',
    ],
  ])(
    'is PERMISSION_DENIED by %s, naming layer and rule',
    async (_what, ns, sa, keyArgs, details) => {
      const result = await call(ns, sa, keyArgs);
      expect(result).toEqual({ code: 'PERMISSION_DENIED', details, cert_chain: [] });
    },
  );

  it('issues what the audit-mode default would deny, and counts it as audit', async () => {
    const audits = async (): Promise<number> =>
      metricValue(
        (await httpGet(dev.server.httpPort, '/metrics')).body,
        'meshca_policy_decisions_total',
        { layer: 'local', rule: 'default', effect: 'audit' },
      ) ?? 0;
    const before = await audits();
    const result = await call('bank', 'api');
    expect(result.code).toBe('OK');
    expect(result.cert_chain.length).toBeGreaterThanOrEqual(2);
    expect(await audits()).toBe(before + 1);
    // shop is allowed by its rule: no audit.
    expect((await call('shop', 'web')).code).toBe('OK');
    expect(await audits()).toBe(before + 1);
  });
});

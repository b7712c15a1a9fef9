/**
 * `meshca request`: does what an Istio proxy does. Generates a key and a CSR in istio-agent's
 * shape (RSA, or ECDSA with `--key ec`) or ztunnel's (`--key ec --shape ztunnel`), calls
 * CreateCertificate with a bearer token, checks the returned chain exactly as Istio's clients
 * rely on it, and prints what it got.
 *
 * @module
 */
import { webcrypto } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { checkCertificateChain, describe } from '../ca/index.js';
import { CaClient } from '../client/index.js';
import { systemClock } from '../clock.js';
import { parseDurationMs } from '../config/index.js';
import {
  buildCsrPem,
  generateWorkloadKey,
  type CsrShape,
  type WorkloadKeyType,
} from '../csr/index.js';
import { issueDevToken } from '../devmode/index.js';
import { workloadSpiffeId } from '../identity/index.js';
import { UsageError, type CommandIo } from './io.js';

export const REQUEST_USAGE = `Usage: meshca request --namespace NS --service-account SA [options]

Generates a key and a CSR as an Istio proxy would, asks the CA for a certificate, verifies the
returned chain and prints it.

Options:
  -n, --namespace NS         namespace of the workload (required)
  -s, --service-account SA   service account of the workload (required)
      --key TYPE             rsa (istio-agent default, RSA-2048), ec (P-256) or ec-p384 (default: rsa)
      --shape SHAPE          istio-agent (subject O=) or ztunnel (empty subject) (default: istio-agent)
      --address HOST:PORT    the CA (default: localhost:6443)
      --server-name NAME     name to verify the CA's certificate against (default: the address host)
      --root-cert FILE       roots to verify the CA with (default: <state-dir>/ca/root-cert.pem)
      --token-file FILE      bearer token (default: a development token for NS/SA)
      --trust-domain TD      trust domain of the expected identity (default: cluster.local)
      --cluster-id ID        clusterid metadata (default: Kubernetes)
      --ttl DURATION         requested validity, e.g. 24h (default: 0, the CA's default)
      --out DIR              write key.pem, cert-chain.pem and root-cert.pem there
      --json                 print the result as JSON
      --state-dir DIR        state directory of "meshca serve" (default: $MESHCA_STATE_DIR or ./.meshca)
`;

const KEY_TYPES: readonly WorkloadKeyType[] = ['rsa', 'ec', 'ec-p384'];
const SHAPES: readonly CsrShape[] = ['istio-agent', 'ztunnel'];

/** Runs `meshca request`. */
export async function requestCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      namespace: { type: 'string', short: 'n' },
      'service-account': { type: 'string', short: 's' },
      key: { type: 'string' },
      shape: { type: 'string' },
      address: { type: 'string' },
      'server-name': { type: 'string' },
      'root-cert': { type: 'string' },
      'token-file': { type: 'string' },
      'trust-domain': { type: 'string' },
      'cluster-id': { type: 'string' },
      ttl: { type: 'string' },
      out: { type: 'string' },
      json: { type: 'boolean' },
      'state-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help === true) {
    io.stdout.write(REQUEST_USAGE);
    return 0;
  }
  const namespace = values.namespace;
  const serviceAccount = values['service-account'];
  if (!namespace || !serviceAccount) {
    throw new UsageError('meshca request: --namespace and --service-account are required');
  }
  const keyType = (values.key ?? 'rsa') as WorkloadKeyType;
  if (!KEY_TYPES.includes(keyType)) {
    throw new UsageError(`meshca request: --key must be one of ${KEY_TYPES.join(', ')}`);
  }
  const shape = (values.shape ?? 'istio-agent') as CsrShape;
  if (!SHAPES.includes(shape)) {
    throw new UsageError(`meshca request: --shape must be one of ${SHAPES.join(', ')}`);
  }
  let ttlSeconds = 0;
  if (values.ttl !== undefined) {
    try {
      ttlSeconds = Math.round(parseDurationMs(values.ttl) / 1000);
    } catch (error) {
      throw new UsageError(`meshca request: --ttl: ${(error as Error).message}`);
    }
  }
  const stateDir = resolve(
    io.cwd,
    values['state-dir'] ?? io.env['MESHCA_STATE_DIR'] ?? './.meshca',
  );
  const identity = workloadSpiffeId(
    values['trust-domain'] ?? 'cluster.local',
    namespace,
    serviceAccount,
  );

  const rootCertPath = resolve(
    io.cwd,
    values['root-cert'] ?? join(stateDir, 'ca', 'root-cert.pem'),
  );
  const rootCertPem = await readFile(rootCertPath, 'utf8').catch((error: unknown) => {
    throw new UsageError(
      `meshca request: cannot read roots ${rootCertPath}: ${(error as Error).message}`,
      1,
    );
  });
  const tokenFile = values['token-file'];
  const token =
    tokenFile === undefined
      ? await issueDevToken(
          stateDir,
          { namespace, serviceAccount, audiences: ['istio-ca'], ttlSeconds: 600 },
          systemClock,
        )
      : (await readFile(resolve(io.cwd, tokenFile), 'utf8')).trim();

  const key = await generateWorkloadKey(keyType);
  const csrPem = await buildCsrPem(key.keys, { shape, uris: [identity.uri] });
  const spkiDer = Buffer.from(await webcrypto.subtle.exportKey('spki', key.keys.publicKey));

  const client = new CaClient({
    address: values.address ?? 'localhost:6443',
    rootCertPem,
    ...(values['server-name'] === undefined ? {} : { serverName: values['server-name'] }),
  });
  let certChain: string[];
  try {
    certChain = await client.createCertificate({
      csrPem,
      validitySeconds: ttlSeconds,
      token,
      clusterId: values['cluster-id'] ?? 'Kubernetes',
    });
  } catch (error) {
    const { code, details } = error as { code?: number; details?: string };
    throw new UsageError(
      `meshca request: the CA refused: code ${code ?? '?'}: ${details ?? String(error)}`,
      1,
    );
  } finally {
    client.close();
  }

  const checked = checkCertificateChain(certChain, {
    uri: identity.uri,
    spkiDer,
    at: systemClock.now(),
  });
  if (values.out !== undefined) {
    const dir = resolve(io.cwd, values.out);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'key.pem'), key.privateKeyPem, { mode: 0o600 });
    await writeFile(join(dir, 'cert-chain.pem'), certChain.slice(0, -1).join(''));
    await writeFile(join(dir, 'root-cert.pem'), certChain[certChain.length - 1] ?? '');
  }
  const summary = {
    identity: checked.uri,
    serial: checked.leaf.x509.serialNumber.toLowerCase(),
    notBefore: checked.leaf.notBefore.toISOString(),
    notAfter: checked.leaf.notAfter.toISOString(),
    key: keyType === 'rsa' ? 'RSA-2048' : keyType === 'ec' ? 'ECDSA P-256' : 'ECDSA P-384',
    chain: ['leaf', ...[...checked.intermediates, checked.anchor].map(describe)],
    roots: checked.roots.length,
    elements: certChain.length,
  };
  if (values.json === true) {
    io.stdout.write(`${JSON.stringify({ ...summary, certChain }, null, 2)}\n`);
  } else {
    io.stdout.write(
      [
        `identity   ${summary.identity}`,
        `serial     ${summary.serial}`,
        `valid      ${summary.notBefore} -> ${summary.notAfter}`,
        `key        ${summary.key}`,
        `chain      ${summary.chain.join(' -> ')} (verified)`,
        `response   ${summary.elements} elements, ${summary.roots} root(s) in the trust bundle`,
        ...(values.out === undefined ? [] : [`written    ${resolve(io.cwd, values.out)}`]),
        '',
      ].join('\n'),
    );
  }
  return 0;
}

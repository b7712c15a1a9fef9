/**
 * `meshca scan`: a one-shot rogue-CA report of a cluster, read-only. Progress goes to stderr (a
 * bar on a terminal, plain lines otherwise), the report to stdout (text, or the stable JSON of
 * `discovery/report.ts`), and the exit status says whether something needs action.
 *
 * @module
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { systemClock } from '../clock.js';
import { parseDurationMs } from '../config/index.js';
import {
  Allowlist,
  ReportSink,
  SEVERITIES,
  Scanner,
  VerdictCache,
  atLeast,
  loadAllowlist,
  loadApprovedRoots,
  loadCaDirectoryRoots,
  renderReport,
  uniqueAnchors,
  type DiscoveryReport,
  type ScanProgress,
  type Severity,
  type SourceName,
} from '../discovery/index.js';
import { MeshCaError } from '../errors.js';
import { KubeClient, KubeClusterCertificateReader, type KubeConnection } from '../kube/index.js';
import { createLogger } from '../logger.js';
import { UsageError, type CommandIo, type TextSink } from './io.js';

export const SCAN_USAGE = `Usage: meshca scan [options]

Finds the certificates and CAs in a cluster that do not chain to your approved roots: self-signed
and unapproved CAs, CA private keys stored in Secrets, Ingresses and Gateways serving unapproved
certificates, cert-manager selfSigned and CA issuers, expired, expiring and weak certificates.
It only lists objects (it never writes to the cluster) and never reads private keys: it sees
that a Secret holds one from the entry's name alone.

Options:
      --kubeconfig FILE        kubeconfig (default: $KUBECONFIG, else ~/.kube/config, else in-cluster)
      --context NAME           kubeconfig context (default: the current one)
  -n, --namespace NS           scan only this namespace; repeatable (cluster-scoped objects:
                               webhooks, APIServices, ClusterIssuers, are always scanned)
  -o, --output FORMAT          table (default) or json (schema meshca.io/discovery-report/v1)
      --approved-roots FILE    PEM bundle of approved roots, e.g. your web PKI; repeatable
      --ca-dir DIR             meshca's cacerts directory: its root-cert.pem is approved
      --allowlist FILE         known exceptions (YAML or JSON): reported, marked, not counted
      --expiring-within DUR    the expiring-soon window (default: 30d)
      --fail-on SEVERITY       critical, high (default), medium, low, info or never
      --cert-manager-namespace NS  where ClusterIssuers keep their CA Secret (default: cert-manager)
      --page-size N            objects per list request (default: 100)
  -q, --quiet                  no progress on stderr

Severities: critical (anyone who can read the object can mint certificates you trust), high (a
trust path nobody approved exists or is served), medium (weakness or imminent outage), low
(housekeeping), info (inventory only).

Exit status:
  0  complete scan, no un-allowlisted finding at or above --fail-on
  3  un-allowlisted findings at or above --fail-on (default: high)
  4  no such finding, but some source could not be read (RBAC?): the report says which
  1  the scan could not run (cluster unreachable, unreadable files)
  2  bad usage
`;

const FAIL_ON: readonly (Severity | 'never')[] = [...SEVERITIES, 'never'];
/** Exit status: findings at or above --fail-on. */
export const EXIT_FINDINGS = 3;
/** Exit status: nothing to fail on, but the scan is incomplete. */
export const EXIT_INCOMPLETE = 4;

/** Runs `meshca scan`. */
export async function scanCommand(
  argv: readonly string[],
  io: CommandIo,
  stopSignal: AbortSignal,
): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      kubeconfig: { type: 'string' },
      context: { type: 'string' },
      namespace: { type: 'string', short: 'n', multiple: true },
      output: { type: 'string', short: 'o' },
      'approved-roots': { type: 'string', multiple: true },
      'ca-dir': { type: 'string' },
      allowlist: { type: 'string' },
      'expiring-within': { type: 'string' },
      'fail-on': { type: 'string' },
      'cert-manager-namespace': { type: 'string' },
      'page-size': { type: 'string' },
      quiet: { type: 'boolean', short: 'q' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help === true) {
    io.stdout.write(SCAN_USAGE);
    return 0;
  }
  const output = values.output ?? 'table';
  if (output !== 'table' && output !== 'json') {
    throw new UsageError('meshca scan: --output must be table or json');
  }
  const failOn = (values['fail-on'] ?? 'high') as Severity | 'never';
  if (!FAIL_ON.includes(failOn)) {
    throw new UsageError(`meshca scan: --fail-on must be one of ${FAIL_ON.join(', ')}`);
  }
  let expiringSoonMs = 30 * 24 * 3600 * 1000;
  if (values['expiring-within'] !== undefined) {
    try {
      expiringSoonMs = parseDurationMs(values['expiring-within']);
    } catch (error) {
      throw new UsageError(`meshca scan: --expiring-within: ${(error as Error).message}`);
    }
  }
  const pageSize = Number(values['page-size'] ?? '100');
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 5000) {
    throw new UsageError('meshca scan: --page-size must be an integer from 1 to 5000');
  }

  const anchors = await fileInput(async () => {
    const fromFiles = await loadApprovedRoots(
      (values['approved-roots'] ?? []).map((path) => resolve(io.cwd, path)),
    );
    const caDir = values['ca-dir'];
    const fromCa = caDir === undefined ? [] : await loadCaDirectoryRoots(resolve(io.cwd, caDir));
    return uniqueAnchors([...fromCa, ...fromFiles]);
  });
  const allowlist = await fileInput(async () =>
    values.allowlist === undefined
      ? new Allowlist()
      : loadAllowlist(resolve(io.cwd, values.allowlist)),
  );
  if (anchors.length === 0 && values.quiet !== true) {
    io.stderr.write(
      'meshca scan: no approved roots given (--approved-roots, --ca-dir): every CA will be reported as unapproved\n',
    );
  }

  let client: KubeClient;
  try {
    client = new KubeClient({ connection: connection(values, io), maxSockets: 4 });
  } catch (error) {
    throw new UsageError(
      `meshca scan: cannot load the cluster connection: ${(error as Error).message}`,
      1,
    );
  }
  const report = new ReportSink({ cluster: client.server, maxFindings: Number.MAX_SAFE_INTEGER });
  const scanner = new Scanner(
    {
      reader: new KubeClusterCertificateReader(client, { pageSize, requestTimeoutMs: 30_000 }),
      anchors: () => anchors,
      allowlist,
      sinks: [report],
      cache: new VerdictCache(100_000),
      clock: systemClock,
      logger: createLogger({ level: 'silent' }),
    },
    {
      scope: { namespaces: values.namespace ?? [] },
      expiringSoonMs,
      certManagerNamespace: values['cert-manager-namespace'] ?? 'cert-manager',
    },
  );
  const progress = values.quiet === true ? undefined : new ProgressDisplay(io.stderr);
  try {
    await scanner.scan(
      stopSignal,
      progress === undefined
        ? undefined
        : (p) => {
            progress.update(p);
          },
    );
  } finally {
    progress?.finish();
    await client.close();
  }
  const result = report.report();
  if (result === undefined) throw new Error('the scan produced no report');
  io.stdout.write(
    output === 'json' ? `${JSON.stringify(result, null, 2)}\n` : renderReport(result),
  );
  return exitStatus(result, failOn);
}

/** The exit status of a report (see {@link SCAN_USAGE}). */
export function exitStatus(report: DiscoveryReport, failOn: Severity | 'never'): number {
  if (
    failOn !== 'never' &&
    report.findings.some(
      (finding) => finding.allowlisted === null && atLeast(finding.severity, failOn),
    )
  ) {
    return EXIT_FINDINGS;
  }
  return report.complete ? 0 : EXIT_INCOMPLETE;
}

/** Files the user named: problems with them are usage-level failures with exit status 1. */
async function fileInput<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof MeshCaError) throw new UsageError(`meshca scan: ${error.message}`, 1);
    throw error;
  }
}

function connection(
  values: { readonly kubeconfig?: string | undefined; readonly context?: string | undefined },
  io: CommandIo,
): KubeConnection {
  const context = values.context === undefined ? {} : { context: values.context };
  if (values.kubeconfig !== undefined) {
    return { mode: 'kubeconfig', path: resolve(io.cwd, values.kubeconfig), ...context };
  }
  // Like kubectl: the first file of $KUBECONFIG, else ~/.kube/config, else in-cluster.
  const fromEnv = io.env['KUBECONFIG']?.split(':').find((path) => path !== '');
  if (fromEnv !== undefined)
    return { mode: 'kubeconfig', path: resolve(io.cwd, fromEnv), ...context };
  const home = resolve(io.env['HOME'] ?? homedir(), '.kube', 'config');
  if (existsSync(home)) return { mode: 'kubeconfig', path: home, ...context };
  if (io.env['KUBERNETES_SERVICE_HOST'] !== undefined) return { mode: 'in-cluster' };
  throw new UsageError(
    'meshca scan: no cluster: give --kubeconfig, set KUBECONFIG, or create ~/.kube/config',
    1,
  );
}

const SOURCE_NAMES: Readonly<Record<SourceName, string>> = {
  secrets: 'Secrets',
  ingresses: 'Ingresses',
  'istio-gateways': 'Istio Gateways',
  'gateway-api-gateways': 'Gateway API Gateways',
  'cert-manager-issuers': 'cert-manager Issuers',
  'cert-manager-cluster-issuers': 'cert-manager ClusterIssuers',
  'validating-webhook-configurations': 'validating webhooks',
  'mutating-webhook-configurations': 'mutating webhooks',
  'api-services': 'APIServices',
};

/** Progress on stderr: a redrawn bar on a terminal, a line per source (and per 1,000) otherwise. */
class ProgressDisplay {
  readonly #sink: TextSink;
  readonly #tty: boolean;
  #lastDrawMs = 0;
  #lastLineCount = 0;
  #drawn = false;

  constructor(sink: TextSink) {
    this.#sink = sink;
    this.#tty = sink.isTTY === true;
  }

  update(progress: ScanProgress): void {
    const name = SOURCE_NAMES[progress.source];
    if (!this.#tty) {
      if (progress.done) {
        this.#sink.write(
          `scan: ${name}: ${progress.objects} read; ${progress.findings} finding(s) so far\n`,
        );
        this.#lastLineCount = 0;
      } else if (progress.objects - this.#lastLineCount >= 1000) {
        this.#lastLineCount = progress.objects;
        this.#sink.write(`scan: ${name}: ${progress.objects} read...\n`);
      }
      return;
    }
    const now = performance.now();
    if (!progress.done && now - this.#lastDrawMs < 100) return;
    this.#lastDrawMs = now;
    const total =
      progress.remaining === undefined ? undefined : progress.objects + progress.remaining;
    const width = 30;
    const bar =
      total === undefined || total === 0
        ? ''
        : `[${'#'.repeat(Math.round((progress.objects / total) * width)).padEnd(width, '-')}] `;
    const count = total === undefined ? `${progress.objects}` : `${progress.objects}/${total}`;
    this.#sink.write(
      `\r\x1b[K${name.padEnd(22)} ${bar}${count} read, ${progress.findings} finding(s)${progress.done ? '\n' : ''}`,
    );
    this.#drawn = !progress.done;
  }

  finish(): void {
    if (this.#tty && this.#drawn) this.#sink.write('\n');
    this.#drawn = false;
  }
}

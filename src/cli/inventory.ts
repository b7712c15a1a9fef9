/**
 * `meshca inventory VIEW`: the security team's views of the ledger, read from the database that
 * `meshca serve` writes — a kubectl-like table, or `-o wide|json|yaml`. Every page is read; the
 * JSON and YAML are the `meshca.io/inventory/v1` document of the HTTP API.
 *
 * @module
 */
import { parseArgs } from 'node:util';
import { systemClock } from '../clock.js';
import {
  INVENTORY_VIEWS,
  InventoryRequestError,
  inventoryRequest,
  isInventoryView,
  readWholeInventory,
} from '../inventory/index.js';
import { UsageError, type CommandIo } from './io.js';
import { OUTPUT_FORMATS, formatInventory, type OutputFormat } from './inventory-output.js';
import {
  LEDGER_LOCATION_HELP,
  LEDGER_LOCATION_OPTIONS,
  openCommandLedger,
} from './ledger-command.js';

export const INVENTORY_USAGE = `Usage: meshca inventory VIEW [options]

Views of the identity ledger:
  identities               active certificates, by namespace and identity
  expiring [--within D]    active certificates expiring within D (default: 1h), soonest first
  denials [--since D]      refusals and audit-mode "would deny" since D ago (default: 24h), with the rule
  issuers                  per intermediate: issued, denied, active, first and last use
  workloads                pods and their certificates, retired and revoked ones included
  findings [--since D]     rogue-CA discovery findings since D ago (default: 24h)
  certificates [--state S] [--search TEXT]
                           every certificate kept (active, expired, retired, revoked)
  denial-rules [--since D] refusals and audit verdicts by rule, with the latest examples
  overview [--since D]     issuance and denials over time, totals per cluster and intermediate,
                           open findings by severity

Options:
  -n, --namespace NS         only this namespace
      --cluster ID           only this cluster
      --identity SPIFFE-ID   only this identity
      --issuer SHA256        only this intermediate (its certificate's SHA-256)
      --state STATE          certificates: active, expired, retired or revoked
      --search TEXT          certificates: a part of the identity, pod, node or serial
  -o, --output FORMAT        table (default), wide, json or yaml

${LEDGER_LOCATION_HELP}
`;

/** The views that take `--since`. */
const SINCE_VIEWS: readonly string[] = ['denials', 'findings', 'denial-rules', 'overview'];

/** Runs `meshca inventory`; returns the exit code. */
export async function inventoryCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: {
      namespace: { type: 'string', short: 'n' },
      cluster: { type: 'string' },
      identity: { type: 'string' },
      issuer: { type: 'string' },
      within: { type: 'string' },
      since: { type: 'string' },
      state: { type: 'string' },
      search: { type: 'string' },
      output: { type: 'string', short: 'o' },
      help: { type: 'boolean', short: 'h' },
      ...LEDGER_LOCATION_OPTIONS,
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help === true) {
    io.stdout.write(INVENTORY_USAGE);
    return 0;
  }
  const [view, ...extra] = positionals;
  if (view === undefined || !isInventoryView(view) || extra.length > 0) {
    throw new UsageError(
      `meshca inventory: ${view === undefined ? 'a view is required' : `unknown view "${[view, ...extra].join(' ')}"`} (${INVENTORY_VIEWS.join(', ')})\n\n${INVENTORY_USAGE}`,
    );
  }
  const format = (values.output ?? 'table') as OutputFormat;
  if (!OUTPUT_FORMATS.includes(format)) {
    throw new UsageError(`meshca inventory: --output must be one of ${OUTPUT_FORMATS.join(', ')}`);
  }
  if (values.within !== undefined && view !== 'expiring') {
    throw new UsageError('meshca inventory: --within applies to the expiring view');
  }
  if (values.since !== undefined && !SINCE_VIEWS.includes(view)) {
    throw new UsageError(
      `meshca inventory: --since applies to the ${SINCE_VIEWS.join(', ')} views`,
    );
  }
  if ((values.state !== undefined || values.search !== undefined) && view !== 'certificates') {
    throw new UsageError('meshca inventory: --state and --search apply to the certificates view');
  }
  const params = new URLSearchParams();
  for (const name of [
    'namespace',
    'cluster',
    'identity',
    'issuer',
    'within',
    'since',
    'state',
    'search',
  ] as const) {
    const value = values[name];
    if (value !== undefined) params.set(name, value);
  }
  let request;
  try {
    request = inventoryRequest(view, params);
  } catch (error) {
    if (error instanceof InventoryRequestError) {
      throw new UsageError(`meshca inventory: --${error.message}`);
    }
    throw error;
  }
  const store = await openCommandLedger('inventory', values, io);
  try {
    const document = await readWholeInventory(store, request, systemClock.now());
    if (document.items.length === 0 && (format === 'table' || format === 'wide')) {
      io.stderr.write(`No ${view} found.\n`);
      return 0;
    }
    io.stdout.write(formatInventory(document, format));
    return 0;
  } finally {
    await store.close();
  }
}

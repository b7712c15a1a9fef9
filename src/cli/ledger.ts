/**
 * `meshca ledger verify`: checks every chain of the ledger (`ledger/verify.ts`) and reports the
 * first break of each, with its position; exit status 1 when any chain is broken. Chain heads
 * anchored outside the database (the `ledger chain head` log lines each replica writes every
 * `ledgerHeadInterval`) can be given with `--anchors`, so that the removal of a chain's newest
 * records, or of a whole chain, is found too.
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { verifyLedger, type ChainAnchor, type LedgerVerification } from '../ledger/index.js';
import { UsageError, type CommandIo } from './io.js';
import {
  LEDGER_LOCATION_HELP,
  LEDGER_LOCATION_OPTIONS,
  openCommandLedger,
} from './ledger-command.js';

export const LEDGER_USAGE = `Usage: meshca ledger <command> [options]

Commands:
  verify   check every chain of the ledger; exit 1 and the first break of each broken chain

Run "meshca ledger <command> --help" for a command's options.
`;

export const VERIFY_USAGE = `Usage: meshca ledger verify [options]

Checks that no record of the ledger was deleted, edited, reordered or inserted: every chain (one
per meshca process, pruner and revoke run) must be numbered without holes (but those retention and
a full spool announced), each record must hash to its stored hash and name its predecessor's.
Exit status: 0 every chain is sound, 1 a chain is broken (or the ledger cannot be read).

Options:
      --anchors FILE   chain heads recorded outside the database: meshca's JSON log lines
                       ("ledger chain head") or JSON lines {"chainId","sequence","hash"}; a chain
                       that ends before its anchor, or differs from it, is broken
  -o, --output FORMAT  text (default) or json

${LEDGER_LOCATION_HELP}
`;

/** Runs `meshca ledger ...`; returns the exit code. */
export async function ledgerCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'verify':
      return verifyCommand(rest, io);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      io.stdout.write(LEDGER_USAGE);
      return command === undefined ? 2 : 0;
    default:
      throw new UsageError(`meshca ledger: unknown command "${command}"\n\n${LEDGER_USAGE}`);
  }
}

async function verifyCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      anchors: { type: 'string' },
      output: { type: 'string', short: 'o' },
      help: { type: 'boolean', short: 'h' },
      ...LEDGER_LOCATION_OPTIONS,
    },
    strict: true,
  });
  if (values.help === true) {
    io.stdout.write(VERIFY_USAGE);
    return 0;
  }
  const output = values.output ?? 'text';
  if (output !== 'text' && output !== 'json') {
    throw new UsageError('meshca ledger verify: --output must be text or json');
  }
  const anchors =
    values.anchors === undefined ? [] : await readAnchors(resolve(io.cwd, values.anchors));
  const store = await openCommandLedger('ledger verify', values, io);
  let verification: LedgerVerification;
  try {
    verification = await verifyLedger(store, anchors);
  } finally {
    await store.close();
  }
  io.stdout.write(
    output === 'json' ? `${JSON.stringify(verification, null, 2)}\n` : describe(verification),
  );
  return verification.ok ? 0 : 1;
}

/** The verdict, one line per chain then a summary. */
function describe(verification: LedgerVerification): string {
  const lines = verification.chains.map((chain) => {
    const head = `chain ${chain.chainId}  writer ${chain.writer || '<unknown>'}`;
    const notes = [
      ...(chain.prunedThrough === null ? [] : [`pruned through ${chain.prunedThrough}`]),
      ...(chain.gaps === 0 ? [] : [`${chain.gaps} announced gap(s)`]),
    ];
    const noted = notes.length === 0 ? '' : `  ${notes.join(', ')}`;
    if (chain.break === null) {
      const range = chain.records === 0 ? '' : ` (${chain.firstSequence}..${chain.lastSequence})`;
      return `${head}  records ${chain.records}${range}${noted}  ok`;
    }
    const sound =
      chain.records === 0 ? 'nothing sound' : `sound through record ${chain.lastSequence}`;
    return `${head}  ${sound}${noted}  BROKEN at record ${chain.break.sequence}: ${chain.break.problem}: ${chain.break.detail}`;
  });
  const broken = verification.chains.filter((chain) => chain.break !== null).length;
  const records = verification.chains.reduce((sum, chain) => sum + chain.records, 0);
  const first = verification.firstBreak;
  lines.push(
    first === null
      ? `ledger verified: ${verification.chains.length} chain(s), ${records} record(s), no break`
      : `ledger BROKEN: ${broken} of ${verification.chains.length} chain(s); first break: chain ${first.chainId} record ${first.sequence} (${first.problem})`,
  );
  return `${lines.join('\n')}\n`;
}

/** Anchors from JSON lines: meshca's `ledger chain head` log lines, or bare anchors. */
async function readAnchors(path: string): Promise<ChainAnchor[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`meshca ledger verify: cannot read ${path}: ${(error as Error).message}`);
  }
  const anchors: ChainAnchor[] = [];
  for (const [index, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      continue; // not JSON: other output mixed into a log file
    }
    const entry = value as { chainId?: unknown; sequence?: unknown; hash?: unknown; msg?: unknown };
    if (entry.msg !== undefined && entry.msg !== 'ledger chain head') continue;
    if (
      typeof entry.chainId !== 'string' ||
      typeof entry.sequence !== 'number' ||
      typeof entry.hash !== 'string'
    ) {
      if (entry.msg === undefined) {
        throw new UsageError(
          `meshca ledger verify: ${path}:${index + 1}: not an anchor {"chainId","sequence","hash"}`,
        );
      }
      continue;
    }
    // A head before any record (sequence 0) anchors nothing.
    if (entry.sequence > 0) {
      anchors.push({ chainId: entry.chainId, sequence: entry.sequence, hash: entry.hash });
    }
  }
  return anchors;
}

/**
 * `meshca ledger verify`: checks every chain in the database and reports the first break of each.
 *
 * A chain is sound when its records are numbered without holes, every record's hash is the hash
 * of its own content, and every record names its predecessor's hash. Holes are legitimate in two
 * cases only, each announced by a chained record: a prefix removed by retention (a prune record:
 * the chain starts after sequence N, whose hash was H) and a range dropped because the spool was
 * full (a gap record: sequences A..B never reached the database; B's hash was H).
 *
 * What it cannot see on its own: the removal of a chain's newest records, or of a whole chain.
 * Those are caught by comparing with chain heads anchored outside the database (the recorder logs
 * and exports its head at a fixed interval): pass them as `anchors`.
 *
 * @module
 */
import { recordHash, ZERO_HASH } from './canonical.js';
import type { GapFact, GapRecordBody, PruneFact, PruneRecordBody, RecordBody } from './records.js';
import type { LedgerStore, StoredRecord } from './store.js';

/**
 * What is wrong at a break: a record is missing (`deleted`), its content no longer matches its
 * hash (`edited`), it carries another position's hash (`reordered`), or it is self-consistent but
 * does not follow its predecessor (`inserted`: forged, or its predecessor rewritten with a new hash).
 */
export type ChainProblem = 'deleted' | 'edited' | 'reordered' | 'inserted';

/** The first break of a chain. */
export interface ChainBreak {
  readonly chainId: string;
  readonly sequence: number;
  readonly problem: ChainProblem;
  readonly detail: string;
}

/** A chain's state as verified. */
export interface ChainReport {
  readonly chainId: string;
  readonly writer: string;
  readonly firstSequence: number;
  readonly lastSequence: number;
  readonly records: number;
  /** Where retention legitimately cut the chain, when it did. */
  readonly prunedThrough: number | null;
  /** Dropped ranges (spool full) met in the chain. */
  readonly gaps: number;
  readonly break: ChainBreak | null;
}

/** A chain head recorded outside the database. */
export interface ChainAnchor {
  readonly chainId: string;
  readonly sequence: number;
  readonly hash: string;
}

/** The verdict. */
export interface LedgerVerification {
  readonly ok: boolean;
  readonly chains: readonly ChainReport[];
  /** The first break found (by chain id), when any. */
  readonly firstBreak: ChainBreak | null;
}

/** Records read per query. */
const PAGE = 2000;
/** How far from its place a reordered record is looked for. */
const REORDER_WINDOW = 1000;

/** Verifies every chain of `store` (and the given anchors). */
export async function verifyLedger(
  store: LedgerStore,
  anchors: readonly ChainAnchor[] = [],
): Promise<LedgerVerification> {
  const gaps = new Map<string, Map<number, GapFact>>();
  const addGap = (gap: GapFact): void => {
    const chain = gaps.get(gap.chainId) ?? new Map<number, GapFact>();
    chain.set(gap.fromSequence, gap);
    gaps.set(gap.chainId, chain);
  };
  const pruned = new Map<string, PruneFact>();
  for (const record of await store.recordsOfKind('gap')) {
    const body = parseBody(record) as GapRecordBody | undefined;
    for (const gap of body?.gaps ?? []) addGap(gap);
  }
  for (const record of await store.recordsOfKind('prune')) {
    const body = parseBody(record) as PruneRecordBody | undefined;
    if (body === undefined) continue;
    for (const gap of body.carriedGaps) addGap(gap);
    const known = pruned.get(body.pruned.chainId);
    if (known === undefined || known.throughSequence < body.pruned.throughSequence) {
      pruned.set(body.pruned.chainId, body.pruned);
    }
  }

  const reports: ChainReport[] = [];
  const chains = await store.chains();
  for (const chain of chains) {
    const anchored = anchors.filter((anchor) => anchor.chainId === chain.chainId);
    reports.push(
      await verifyChain(
        store,
        chain.chainId,
        chain.writer,
        pruned.get(chain.chainId),
        gaps.get(chain.chainId),
        anchored,
      ),
    );
  }
  // Anchors of chains with no record left: gone, unless retention removed them all.
  for (const anchor of anchors) {
    if (chains.some((chain) => chain.chainId === anchor.chainId)) continue;
    const prune = pruned.get(anchor.chainId);
    if (prune !== undefined && prune.throughSequence >= anchor.sequence) continue;
    reports.push({
      chainId: anchor.chainId,
      writer: '',
      firstSequence: 0,
      lastSequence: 0,
      records: 0,
      prunedThrough: prune?.throughSequence ?? null,
      gaps: 0,
      break: {
        chainId: anchor.chainId,
        sequence: anchor.sequence,
        problem: 'deleted',
        detail: `the chain is missing from the database, yet its record ${anchor.sequence} was anchored`,
      },
    });
  }
  const broken = reports.filter((report) => report.break !== null);
  return { ok: broken.length === 0, chains: reports, firstBreak: broken[0]?.break ?? null };
}

async function verifyChain(
  store: LedgerStore,
  chainId: string,
  writer: string,
  prune: PruneFact | undefined,
  gaps: ReadonlyMap<number, GapFact> | undefined,
  anchors: readonly ChainAnchor[],
): Promise<ChainReport> {
  let expected = prune === undefined ? 1 : prune.throughSequence + 1;
  let previousHash = prune === undefined ? ZERO_HASH : prune.throughHash;
  let first = 0;
  let records = 0;
  let gapCount = 0;
  const seen = new Map<number, string>();
  const wanted = new Set(anchors.map((anchor) => anchor.sequence));
  const report = (chainBreak: ChainBreak | null): ChainReport => ({
    chainId,
    writer,
    firstSequence: first,
    lastSequence: expected - 1,
    records,
    prunedThrough: prune?.throughSequence ?? null,
    gaps: gapCount,
    break: chainBreak,
  });
  const fail = (sequence: number, problem: ChainProblem, detail: string): ChainReport =>
    report({ chainId, sequence, problem, detail });

  for (let after = expected - 1; ;) {
    const page = await store.readChain(chainId, after, PAGE);
    if (page.length === 0) break;
    for (const record of page) {
      after = record.sequence;
      // Skip over ranges a gap record explains; any other hole is a deletion.
      while (record.sequence > expected) {
        const gap = gaps?.get(expected);
        if (gap?.prevHash !== previousHash || gap.toSequence >= record.sequence) {
          return fail(
            expected,
            'deleted',
            `records ${expected}..${record.sequence - 1} are missing and no gap or prune record explains it`,
          );
        }
        gapCount++;
        expected = gap.toSequence + 1;
        previousHash = gap.lastHash;
      }
      if (first === 0) first = record.sequence;
      const problem = checkRecord(record, previousHash);
      if (problem !== undefined) return fail(record.sequence, problem.problem, problem.detail);
      if (wanted.has(record.sequence)) seen.set(record.sequence, record.hash);
      records++;
      expected++;
      previousHash = record.hash;
    }
  }
  for (const anchor of anchors) {
    if (prune !== undefined && anchor.sequence <= prune.throughSequence) continue;
    const hash = seen.get(anchor.sequence);
    if (hash === undefined && anchor.sequence >= expected) {
      return fail(
        anchor.sequence,
        'deleted',
        `anchored record ${anchor.sequence} is missing (the chain ends at ${expected - 1})`,
      );
    }
    if (hash !== undefined && hash !== anchor.hash) {
      return fail(
        anchor.sequence,
        'edited',
        `record ${anchor.sequence} differs from its anchored hash`,
      );
    }
  }
  return report(null);
}

function parseBody(record: StoredRecord): RecordBody | undefined {
  try {
    const body = JSON.parse(record.bodyJson) as unknown;
    if (typeof body !== 'object' || body === null) return undefined;
    return (body as { type?: unknown }).type === record.kind ? (body as RecordBody) : undefined;
  } catch {
    return undefined;
  }
}

function checkRecord(
  record: StoredRecord,
  previousHash: string,
): { problem: ChainProblem; detail: string } | undefined {
  const body = parseBody(record);
  if (body === undefined) {
    return {
      problem: 'edited',
      detail: `record ${record.sequence}'s body is not the record written`,
    };
  }
  const content = {
    chainId: record.chainId,
    writer: record.writer,
    time: record.time,
    keepUntil: record.keepUntil,
    body,
    prevHash: record.prevHash,
  };
  if (recordHash({ ...content, sequence: record.sequence }) !== record.hash) {
    for (let distance = 1; distance <= REORDER_WINDOW; distance++) {
      for (const sequence of [record.sequence - distance, record.sequence + distance]) {
        if (sequence >= 1 && recordHash({ ...content, sequence }) === record.hash) {
          return {
            problem: 'reordered',
            detail: `the record at ${record.sequence} was written as record ${sequence}`,
          };
        }
      }
    }
    return {
      problem: 'edited',
      detail: `record ${record.sequence}'s content does not match its hash`,
    };
  }
  if (record.prevHash !== previousHash) {
    return {
      problem: 'inserted',
      detail: `record ${record.sequence} does not follow record ${record.sequence - 1}: it was inserted, or its predecessor was rewritten`,
    };
  }
  return undefined;
}

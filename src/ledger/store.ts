/**
 * The ledger's storage roles: a {@link LedgerStore} appends chained records (deriving the state
 * that queries need in the same transaction) and prunes; an {@link InventoryQuery} reads. One
 * implementation of both per database (`sqlite-store.ts`, `postgres-store.ts`), all held to one
 * contract test suite.
 *
 * @module
 */
import type { ChainedRecord, GapFact, JsonValue, PruneFact } from './records.js';

/** What one {@link LedgerStore.append} did. */
export interface AppendResult {
  /** Records stored now. */
  readonly inserted: number;
  /** Records already there (a replay after a crash or a lost acknowledgement): skipped. */
  readonly duplicates: number;
}

/**
 * A record as stored, its body still the stored text: the verifier must see what is there, even
 * when it is no longer valid JSON.
 */
export interface StoredRecord {
  readonly chainId: string;
  readonly sequence: number;
  readonly writer: string;
  readonly kind: string;
  readonly time: number;
  readonly keepUntil: number | null;
  readonly bodyJson: string;
  readonly prevHash: string;
  readonly hash: string;
}

/** A chain as the database holds it. */
export interface StoredChain {
  readonly chainId: string;
  readonly writer: string;
  readonly firstSequence: number;
  readonly lastSequence: number;
  readonly records: number;
}

/** One retention step, on one chain, in one transaction. */
export interface PruneRequest {
  /** Records kept until before this (ms) may go; so may denials and findings older than it. */
  readonly cutoff: number;
  /** At most this many chained records (and as many rows of each derived table) per step. */
  readonly limit: number;
  /**
   * The chained record saying what was pruned, made inside the transaction once the prefix is
   * known (the pruner's own chain; see `pruner.ts`).
   */
  readonly record: (pruned: PruneFact, carriedGaps: readonly GapFact[]) => ChainedRecord;
}

/** What one prune step did. */
export interface PruneResult {
  /** Chained records removed (0 when no chain had a prunable prefix). */
  readonly records: number;
  /** The prune record appended, when records were removed. */
  readonly pruneRecord: ChainedRecord | undefined;
  /** Rows of derived tables removed (expired certificates, old denials and findings). */
  readonly derivedRows: number;
}

/**
 * Appends and prunes. Every method is one transaction; every write is idempotent, so that a
 * batch may be sent again after a failure without duplicating anything.
 */
export interface LedgerStore extends InventoryQuery {
  /** `sqlite` or `postgres`, for logs. */
  readonly kind: string;
  /** Connects and applies the schema migrations not applied yet (serialized across processes). */
  open(): Promise<void>;
  /** Stores `records` and updates the derived state (certificate status...) in one transaction. */
  append(records: readonly ChainedRecord[]): Promise<AppendResult>;
  /** One retention step; call again while it removes something. */
  prune(request: PruneRequest): Promise<PruneResult>;
  /** Every chain, for the verifier. */
  chains(): Promise<StoredChain[]>;
  /** Records of one chain with `sequence > after`, in order, at most `limit`. */
  readChain(chainId: string, after: number, limit: number): Promise<StoredRecord[]>;
  /** Every record of one kind (`gap`, `prune`), for the verifier. */
  recordsOfKind(kind: 'gap' | 'prune'): Promise<StoredRecord[]>;
  /** The schema version the database is at. */
  schemaVersion(): Promise<number>;
  close(): Promise<void>;
}

/** Filters common to the inventory views; each one exact. */
export interface InventoryFilter {
  readonly namespace?: string;
  readonly cluster?: string;
  /** A SPIFFE ID. */
  readonly identity?: string;
  /** An intermediate's fingerprint. */
  readonly issuer?: string;
}

/** Which page: at most `limit` items after `cursor` (from the previous page's `nextCursor`). */
export interface PageRequest {
  readonly limit?: number;
  readonly cursor?: string;
}

/** One page of a view; `nextCursor` is absent on the last page. Stable while data is added. */
export interface Page<T> {
  readonly items: readonly T[];
  readonly nextCursor?: string;
}

/** A certificate, as the inventory shows it. Times are ISO 8601. */
export interface CertificateView {
  readonly serial: string;
  readonly issuerFingerprint: string;
  readonly identity: string;
  readonly trustDomain: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly cluster: string | null;
  readonly podName: string | null;
  readonly podUid: string | null;
  readonly nodeName: string | null;
  /** The caller's SPIFFE ID when it differs from the identity (ztunnel). */
  readonly caller: string | null;
  readonly keyAlgorithm: string | null;
  readonly keyBits: number | null;
  readonly issuedAt: string;
  readonly notBefore: string;
  readonly notAfter: string;
  /** `active`, `retired` (workload gone) or `revoked` (by hand). */
  readonly status: 'active' | 'retired' | 'revoked';
  readonly statusTime: string | null;
  readonly statusReason: string | null;
  readonly statusBy: string | null;
}

/** A refusal, or an audit-mode "would deny" of an issued request. */
export interface DenialView {
  readonly time: string;
  /** True for an audit verdict: the certificate was issued anyway. */
  readonly audit: boolean;
  readonly outcome: string;
  readonly errorCode: string | null;
  readonly layer: string | null;
  readonly rule: string | null;
  readonly reason: string | null;
  readonly identity: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly cluster: string | null;
  readonly podName: string | null;
  readonly caller: string | null;
  readonly issuerFingerprint: string | null;
}

/** Per-intermediate statistics. */
export interface IssuerView {
  readonly issuerFingerprint: string;
  readonly issued: number;
  readonly denied: number;
  /** Unexpired and neither retired nor revoked. */
  readonly active: number;
  readonly firstUse: string | null;
  readonly lastUse: string | null;
}

/** A pod and every certificate it got (retired ones included). */
export interface WorkloadView {
  readonly cluster: string | null;
  readonly namespace: string;
  readonly podName: string;
  readonly podUid: string;
  readonly nodeName: string | null;
  readonly certificates: readonly CertificateView[];
}

/** A discovery finding as recorded. */
export interface FindingView {
  readonly time: string;
  readonly cluster: string | null;
  readonly kind: string;
  readonly severity: string;
  readonly object: string;
  readonly fingerprint: string | null;
  readonly detail: JsonValue;
}

/** A serial that belongs on the CRL: retired or revoked, not yet expired. */
export interface RevocationView {
  readonly serial: string;
  readonly issuerFingerprint: string;
  readonly status: 'retired' | 'revoked';
  readonly revokedAt: string;
  /** The RFC 5280 CRLReason name (`cessationOfOperation` for retired workloads). */
  readonly reason: string;
  readonly notAfter: string;
}

/** Which certificates the `certificates` view lists (every one when absent). */
export type CertificateState = 'active' | 'expired' | 'retired' | 'revoked';

/** What the `certificates` view narrows to, besides the common filters. */
export interface CertificateQuery {
  /** `active` and `expired` are both stored as active: `now` tells them apart. */
  readonly state?: CertificateState;
  /**
   * A case-insensitive substring of the identity, pod name, node name or serial (a search box:
   * it scans the rows the other filters leave).
   */
  readonly search?: string;
}

/** Counts of one time bucket of the overview's timeline. */
export interface TimelineBucket {
  /** Start of the bucket (ISO 8601); it lasts `bucketSeconds`. */
  readonly start: string;
  readonly issued: number;
  /** Refusals (not audit verdicts). */
  readonly denied: number;
  /** Audit-mode "would deny" verdicts of issued requests. */
  readonly audit: number;
}

/** Counts of one cluster, or one intermediate, in the overview. */
export interface OverviewTotals {
  /** Certificates issued in the window. */
  readonly issued: number;
  /** Refusals in the window. */
  readonly denied: number;
  /** Audit verdicts in the window. */
  readonly audit: number;
  /** Unexpired, neither retired nor revoked, now. */
  readonly active: number;
  /** Unexpired and retired (their workload is gone), now: on the CRL. */
  readonly retired: number;
  /** Unexpired and revoked by hand, now: on the CRL. */
  readonly revoked: number;
}

/**
 * The overview of the ledger over a window: the issuance and denial timeline, totals, per
 * cluster and per intermediate, and the findings open by severity.
 */
export interface LedgerOverview {
  /** The window: `since` up to the read time (ISO 8601). */
  readonly since: string;
  readonly until: string;
  readonly bucketSeconds: number;
  /** Every bucket of the window, oldest first (empty ones included). */
  readonly timeline: readonly TimelineBucket[];
  readonly totals: OverviewTotals;
  /** Per cluster (null: not recorded), by cluster. */
  readonly clusters: readonly (OverviewTotals & { readonly cluster: string | null })[];
  /** Per intermediate, by fingerprint. */
  readonly issuers: readonly (OverviewTotals & { readonly issuerFingerprint: string })[];
  /**
   * Distinct findings (kind, object, certificate) recorded since `findingsSince` and not
   * allowlisted, by severity, most severe first: discovery records a finding that stays at
   * least once a day.
   */
  readonly findings: readonly { readonly severity: string; readonly open: number }[];
  readonly findingsSince: string;
}

/** Refusals (or audit verdicts) of one rule, with the latest examples. */
export interface DenialRuleView {
  readonly audit: boolean;
  /** Null for refusals that are not policy decisions (an invalid CSR, an identity not owned). */
  readonly layer: string | null;
  readonly rule: string | null;
  readonly errorCode: string | null;
  readonly count: number;
  readonly firstTime: string;
  readonly lastTime: string;
  /** The newest few, newest first. */
  readonly latest: readonly {
    readonly time: string;
    readonly identity: string;
    readonly namespace: string;
    readonly serviceAccount: string;
    readonly cluster: string | null;
    readonly podName: string | null;
    readonly outcome: string;
    readonly reason: string | null;
  }[];
}

/**
 * The security team's views. Read-only, paginated, plain JSON-able objects with a stable shape:
 * the CLI, the HTTP API and the console all read through this one interface.
 */
export interface InventoryQuery {
  /** Active certificates (at `now`), by namespace, identity, serial. */
  identities(
    now: Date,
    filter?: InventoryFilter,
    page?: PageRequest,
  ): Promise<Page<CertificateView>>;
  /** Active certificates expiring within `withinMs` of `now`, soonest first. */
  expiring(
    now: Date,
    withinMs: number,
    filter?: InventoryFilter,
    page?: PageRequest,
  ): Promise<Page<CertificateView>>;
  /** Refusals and audit verdicts since `since`, oldest first. */
  denials(since: Date, filter?: InventoryFilter, page?: PageRequest): Promise<Page<DenialView>>;
  /** Statistics per intermediate, by fingerprint. */
  issuers(now: Date, filter?: InventoryFilter, page?: PageRequest): Promise<Page<IssuerView>>;
  /** Pods and their certificates, by namespace and pod name. */
  workloads(filter?: InventoryFilter, page?: PageRequest): Promise<Page<WorkloadView>>;
  /** Findings since `since`, oldest first. */
  findings(since: Date, filter?: InventoryFilter, page?: PageRequest): Promise<Page<FindingView>>;
  /**
   * Every certificate retention keeps (active, expired, retired, revoked), by namespace,
   * identity and issue time; `query` narrows it.
   */
  certificates(
    now: Date,
    filter?: InventoryFilter,
    query?: CertificateQuery,
    page?: PageRequest,
  ): Promise<Page<CertificateView>>;
  /**
   * The overview of the window from `since` to `now` (its timeline in 48 buckets of whole
   * minutes, the last one ending after `now`); findings counted since `findingsSince`.
   */
  overview(
    now: Date,
    since: Date,
    findingsSince: Date,
    filter?: InventoryFilter,
  ): Promise<LedgerOverview>;
  /**
   * Refusals and audit verdicts since `since`, grouped by (audit, layer, rule, error code),
   * most frequent first within audit and refusals, with the latest `examples` of each; at most
   * 1000 groups.
   */
  denialRules(since: Date, filter?: InventoryFilter, examples?: number): Promise<DenialRuleView[]>;
  /** Serials for the CRL of `issuer`: retired or revoked and unexpired at `now`. */
  revocations(now: Date, issuer: string, page?: PageRequest): Promise<Page<RevocationView>>;
}

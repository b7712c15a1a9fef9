/**
 * The inventory views as one document shape, shared by `meshca inventory -o json|yaml`, the HTTP
 * API (`/v1/inventory/<view>`) and the coming web console, all reading through the ledger's
 * {@link InventoryQuery}. The document is a stable schema (`meshca.io/inventory/v1`): fields are
 * only ever added, and every field of an item is always present (`null` when unknown).
 *
 * @module
 */
import { parseDurationMs } from '../util/index.js';
import type {
  CertificateQuery,
  CertificateState,
  InventoryFilter,
  InventoryQuery,
  LedgerOverview,
  Page,
} from '../ledger/index.js';
import type { AuthorityFacts, PolicyFacts, ServingFacts } from './serving-facts.js';

/** The schema name every inventory document carries. */
export const INVENTORY_SCHEMA = 'meshca.io/inventory/v1';

/** The views, in help order. */
export const INVENTORY_VIEWS = [
  'identities',
  'expiring',
  'denials',
  'issuers',
  'workloads',
  'findings',
  'certificates',
  'denial-rules',
  'overview',
] as const;

/** A view's name. */
export type InventoryView = (typeof INVENTORY_VIEWS)[number];

/** True for a view's name. */
export function isInventoryView(name: string): name is InventoryView {
  return (INVENTORY_VIEWS as readonly string[]).includes(name);
}

/** Default window of `expiring`: what expires within the hour (and was not renewed). */
export const DEFAULT_WITHIN_MS = 3_600_000;
/** Default window of `denials`, `denial-rules`, `findings` and `overview`: the last day. */
export const DEFAULT_SINCE_MS = 86_400_000;

/** One read of one view. */
export interface InventoryRequest {
  readonly view: InventoryView;
  readonly filter: InventoryFilter;
  /** `expiring`: certificates expiring within this long from now, ms. */
  readonly withinMs: number;
  /** `denials`, `denial-rules`, `findings`, `overview`: since this long ago, ms. */
  readonly sinceMs: number;
  /** `certificates`: only this state. */
  readonly state?: CertificateState;
  /** `certificates`: a substring of the identity, pod, node or serial. */
  readonly search?: string;
  /** Items per page (at most 1000). */
  readonly limit?: number;
  /** From a previous document's `nextCursor`. */
  readonly cursor?: string;
}

/** One page of a view, as the CLI prints it in JSON and YAML and the HTTP API answers it. */
export interface InventoryDocument {
  readonly schema: typeof INVENTORY_SCHEMA;
  readonly view: InventoryView;
  /** When the view was read (ISO 8601): `expiring`, `denials` and `findings` count from it. */
  readonly generatedAt: string;
  readonly items: readonly unknown[];
  /** Pass as `cursor` for the next page; null on the last page. */
  readonly nextCursor: string | null;
}

/** A request the inventory cannot answer (a bad parameter): HTTP 400, CLI usage error. */
export class InventoryRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InventoryRequestError';
  }
}

/** Query parameters of the HTTP API (and the CLI flags of the same names). */
export const INVENTORY_PARAMETERS = [
  'namespace',
  'cluster',
  'identity',
  'issuer',
  'within',
  'since',
  'state',
  'search',
  'limit',
  'cursor',
] as const;

/** Values of the `state` parameter. */
export const CERTIFICATE_STATES: readonly CertificateState[] = [
  'active',
  'expired',
  'retired',
  'revoked',
];

/** The views that answer one page, whatever the limit (aggregates, bounded). */
const SINGLE_PAGE_VIEWS: ReadonlySet<InventoryView> = new Set(['overview', 'denial-rules']);

/**
 * The one item of the `overview` view: the ledger's overview, and what the answering replica has
 * in force (null when the reader is not a running meshca: `meshca inventory overview`).
 */
export interface OverviewItem extends LedgerOverview {
  readonly authority: AuthorityFacts | null;
  readonly policies: readonly PolicyFacts[] | null;
}

/**
 * Reads a request from query parameters (`namespace`, `cluster`, `identity`, `issuer`, `within`,
 * `since`, `state`, `search`, `limit`, `cursor`).
 *
 * @throws {@link InventoryRequestError} naming the bad parameter.
 */
export function inventoryRequest(view: InventoryView, params: URLSearchParams): InventoryRequest {
  for (const name of params.keys()) {
    if (!(INVENTORY_PARAMETERS as readonly string[]).includes(name)) {
      throw new InventoryRequestError(`unknown parameter "${name}"`);
    }
  }
  const text = (name: string): string | undefined => {
    const value = params.get(name);
    return value === null || value === '' ? undefined : value;
  };
  const duration = (name: string, fallback: number): number => {
    const value = text(name);
    if (value === undefined) return fallback;
    try {
      return parseDurationMs(value);
    } catch (error) {
      throw new InventoryRequestError(`${name}: ${(error as Error).message}`);
    }
  };
  const limitText = text('limit');
  let limit: number | undefined;
  if (limitText !== undefined) {
    limit = Number(limitText);
    if (!/^\d+$/.test(limitText) || limit < 1 || limit > 1000) {
      throw new InventoryRequestError('limit must be a whole number from 1 to 1000');
    }
  }
  const filter: InventoryFilter = {
    ...optional('namespace', text('namespace')),
    ...optional('cluster', text('cluster')),
    ...optional('identity', text('identity')),
    ...optional('issuer', text('issuer')),
  };
  const cursor = text('cursor');
  if (cursor !== undefined && SINGLE_PAGE_VIEWS.has(view)) {
    throw new InventoryRequestError(`cursor: the ${view} view is one page`);
  }
  const state = text('state');
  if (state !== undefined && !(CERTIFICATE_STATES as readonly string[]).includes(state)) {
    throw new InventoryRequestError(`state must be one of ${CERTIFICATE_STATES.join(', ')}`);
  }
  const search = text('search');
  if (search !== undefined && search.length > 200) {
    throw new InventoryRequestError('search is at most 200 characters');
  }
  return {
    view,
    filter,
    withinMs: duration('within', DEFAULT_WITHIN_MS),
    sinceMs: duration('since', DEFAULT_SINCE_MS),
    ...(state === undefined ? {} : { state: state as CertificateState }),
    ...(search === undefined ? {} : { search }),
    ...(limit === undefined ? {} : { limit }),
    ...(cursor === undefined ? {} : { cursor }),
  };
}

function optional<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, string>);
}

/**
 * Reads one page of a view at `now`.
 *
 * @param facts What the answering replica has in force (`overview`); absent outside `serve`.
 * @throws {@link InventoryRequestError} for a cursor the ledger did not make; anything else
 *   means the ledger could not be read.
 */
export async function readInventory(
  query: InventoryQuery,
  request: InventoryRequest,
  now: Date,
  facts?: ServingFacts,
): Promise<InventoryDocument> {
  const page = {
    ...(request.limit === undefined ? {} : { limit: request.limit }),
    ...(request.cursor === undefined ? {} : { cursor: request.cursor }),
  };
  const since = new Date(now.getTime() - request.sinceMs);
  let result: Page<unknown>;
  try {
    switch (request.view) {
      case 'identities':
        result = await query.identities(now, request.filter, page);
        break;
      case 'expiring':
        result = await query.expiring(now, request.withinMs, request.filter, page);
        break;
      case 'denials':
        result = await query.denials(since, request.filter, page);
        break;
      case 'issuers':
        result = await query.issuers(now, request.filter, page);
        break;
      case 'workloads':
        result = await query.workloads(request.filter, page);
        break;
      case 'findings':
        result = await query.findings(since, request.filter, page);
        break;
      case 'certificates': {
        const narrowed: CertificateQuery = {
          ...(request.state === undefined ? {} : { state: request.state }),
          ...(request.search === undefined ? {} : { search: request.search }),
        };
        result = await query.certificates(now, request.filter, narrowed, page);
        break;
      }
      case 'denial-rules':
        result = { items: await query.denialRules(since, request.filter) };
        break;
      case 'overview': {
        // Findings are counted over a day whatever the window: discovery records a finding that
        // stays once a day, so a shorter window would miss open ones.
        const findingsSince = new Date(now.getTime() - DEFAULT_SINCE_MS);
        const ledger = await query.overview(now, since, findingsSince, request.filter);
        const item: OverviewItem = {
          ...ledger,
          authority: facts === undefined ? null : facts.authority(),
          policies: facts === undefined ? null : facts.policies(),
        };
        result = { items: [item] };
        break;
      }
    }
  } catch (error) {
    if (error instanceof TypeError && error.message.includes('cursor')) {
      throw new InventoryRequestError('cursor: not a cursor of this view');
    }
    throw error;
  }
  return {
    schema: INVENTORY_SCHEMA,
    view: request.view,
    generatedAt: now.toISOString(),
    items: result.items,
    nextCursor: result.nextCursor ?? null,
  };
}

/** Reads every page of a view (the CLI's default): one document with every item. */
export async function readWholeInventory(
  query: InventoryQuery,
  request: InventoryRequest,
  now: Date,
): Promise<InventoryDocument> {
  const items: unknown[] = [];
  let cursor = request.cursor;
  for (;;) {
    const document = await readInventory(
      query,
      { ...request, limit: 1000, ...(cursor === undefined ? {} : { cursor }) },
      now,
    );
    items.push(...document.items);
    if (document.nextCursor === null) return { ...document, items };
    cursor = document.nextCursor;
  }
}

/**
 * Keyset pagination and WHERE building for the inventory SQL: pages sorted on a unique, non-null
 * key, with that key as the (opaque) cursor, so that a cursor stays valid while rows arrive.
 *
 * @module
 */
import type { InventoryFilter, Page, PageRequest } from './store.js';
import type { SqlExecutor, SqlRow, SqlValue } from './sql-driver.js';

/** Items per page when the caller does not say, and at most. */
export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;

/** ms since the epoch as ISO 8601 (a stored time, not the current one). */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export function optionalIso(ms: number | null): string | null {
  return ms === null ? null : iso(ms);
}

/** A WHERE clause builder. */
export class Where {
  readonly #clauses: string[] = [];
  readonly params: SqlValue[] = [];

  add(clause: string, ...params: SqlValue[]): this {
    this.#clauses.push(clause);
    this.params.push(...params);
    return this;
  }

  /** The filters, on columns of the same names in every table (issuer: `issuer_fingerprint`). */
  filter(filter: InventoryFilter | undefined, prefix = ''): this {
    if (filter?.namespace !== undefined) this.add(`${prefix}namespace = ?`, filter.namespace);
    if (filter?.cluster !== undefined) this.add(`${prefix}cluster = ?`, filter.cluster);
    if (filter?.identity !== undefined) this.add(`${prefix}identity = ?`, filter.identity);
    if (filter?.issuer !== undefined) {
      this.add(`${prefix}issuer_fingerprint = ?`, filter.issuer.toLowerCase());
    }
    return this;
  }

  /** Rows after the cursor's key, compared as a row value. */
  after(columns: readonly string[], cursor: string | undefined): this {
    if (cursor === undefined) return this;
    const key = decodeCursor(cursor, columns.length);
    return this.add(`(${columns.join(', ')}) > (${columns.map(() => '?').join(', ')})`, ...key);
  }

  toString(): string {
    return this.#clauses.length === 0 ? '' : `WHERE ${this.#clauses.join(' AND ')}`;
  }
}

/** The page size asked for, bounded. */
export function pageSize(page: PageRequest | undefined): number {
  const limit = page?.limit ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(limit) || limit < 1) throw new TypeError(`bad page size ${limit}`);
  return Math.min(limit, MAX_PAGE_SIZE);
}

export function encodeCursor(key: readonly SqlValue[]): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

/** @throws TypeError for a cursor this code did not make. */
export function decodeCursor(cursor: string, length: number): SqlValue[] {
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new TypeError('bad page cursor');
  }
  if (
    !Array.isArray(key) ||
    key.length !== length ||
    !key.every((part) => typeof part === 'string' || typeof part === 'number')
  ) {
    throw new TypeError('bad page cursor');
  }
  return key;
}

/** Runs a keyset-paginated query: one row more than the page tells whether there is a next. */
export async function paged<T>(
  db: SqlExecutor,
  select: string,
  where: Where,
  orderColumns: readonly string[],
  page: PageRequest | undefined,
  view: (row: SqlRow) => T,
  keyOf: (row: SqlRow) => SqlValue[],
  groupBy = '',
): Promise<Page<T>> {
  const limit = pageSize(page);
  where.after(orderColumns, page?.cursor);
  const rows = await db.query(
    `${select} ${where.toString()} ${groupBy} ORDER BY ${orderColumns.join(', ')} LIMIT ?`,
    [...where.params, limit + 1],
  );
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return rows.length > limit && last !== undefined
    ? { items: items.map(view), nextCursor: encodeCursor(keyOf(last)) }
    : { items: items.map(view) };
}

/**
 * The little the shared SQL code needs from a database driver: statements with positional `?`
 * parameters, and transactions. Each store adapts its driver (better-sqlite3, pg) to this.
 *
 * @module
 */

/** A parameter value: text, a number (integers up to 2^53), or NULL. */
export type SqlValue = string | number | null;

/** One result row, column name to value (drivers differ: BIGINT is a string in pg). */
export type SqlRow = Readonly<Record<string, unknown>>;

/** Runs statements. */
export interface SqlExecutor {
  /** Runs `sql` with `?` placeholders; returns the rows (none for statements without RETURNING). */
  query(sql: string, params?: readonly SqlValue[]): Promise<readonly SqlRow[]>;
}

/** A connection (or pool) that can also run transactions. */
export interface SqlDriver extends SqlExecutor {
  /**
   * Runs `work` in one transaction that holds the write lock from its start (SQLite `BEGIN
   * IMMEDIATE`); commits when it resolves, rolls back when it throws.
   */
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** `?` placeholders to PostgreSQL's `$1, $2...` (our SQL has no `?` in literals). */
export function numberedPlaceholders(sql: string): string {
  let index = 0;
  return sql.replace(/\?/g, () => `$${++index}`);
}

/** A column as a number (pg returns BIGINT and COUNT as strings). */
export function numberColumn(row: SqlRow, column: string): number {
  const value = row[column];
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return Number(value);
  if (typeof value === 'bigint') return Number(value);
  throw new TypeError(`column ${column} is not a number`);
}

/** A nullable numeric column. */
export function optionalNumberColumn(row: SqlRow, column: string): number | null {
  return row[column] === null || row[column] === undefined ? null : numberColumn(row, column);
}

/** A text column. */
export function textColumn(row: SqlRow, column: string): string {
  const value = row[column];
  if (typeof value !== 'string') throw new TypeError(`column ${column} is not text`);
  return value;
}

/** A nullable text column. */
export function optionalTextColumn(row: SqlRow, column: string): string | null {
  const value = row[column];
  if (value === null || value === undefined) return null;
  if (typeof value !== 'string') throw new TypeError(`column ${column} is not text`);
  return value;
}

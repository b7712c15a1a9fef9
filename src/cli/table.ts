/**
 * kubectl-like tables for the CLI: upper-case headers, columns three spaces apart, `<none>` for
 * what is unknown; some columns only with `-o wide`.
 *
 * @module
 */

/** A table cell. */
export type Cell = string | number | boolean | null;

/** One column: its header, whether only `-o wide` shows it, and its cell. */
export interface Column<T> {
  readonly header: string;
  readonly wide?: boolean;
  readonly cell: (item: T) => Cell;
}

/** An ISO time without milliseconds: `2026-12-07T06:58:19Z`. */
export function time(value: string | null): string | null {
  return value === null ? null : value.replace(/\.\d{3}Z$/, 'Z');
}

/** Rows under upper-case headers, columns three spaces apart, `<none>` for what is unknown. */
export function table<T>(
  items: readonly T[],
  columns: readonly Column<T>[],
  wide: boolean,
): string {
  const shown = columns.filter((column) => wide || column.wide !== true);
  const rows = [
    shown.map((column) => column.header),
    ...items.map((item) =>
      shown.map((column) => {
        const value = column.cell(item);
        return value === null || value === '' ? '<none>' : String(value);
      }),
    ),
  ];
  const widths = shown.map((_, index) => Math.max(...rows.map((row) => (row[index] ?? '').length)));
  return rows
    .map((row) =>
      row
        .map((cell, index) => (index === row.length - 1 ? cell : cell.padEnd(widths[index] ?? 0)))
        .join('   '),
    )
    .join('\n');
}

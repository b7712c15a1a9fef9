/**
 * What every page gets, and the controls pages share.
 *
 * @module
 */
import { h } from '../dom.js';

/** The page's parameters (from the location's hash) and its hooks. */
export interface PageContext {
  readonly params: URLSearchParams;
  /** Runs once the page is in the document (charts need their width). */
  onRendered(hook: () => void): void;
}

/** `#/route?params` with empty parameters left out. */
export function link(route: string, params: Readonly<Record<string, string | undefined>>): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== '') query.set(name, value);
  }
  const text = query.toString();
  return `#/${route}${text === '' ? '' : `?${text}`}`;
}

/** Links to the same page over other windows (`since`). */
export function windowPicker(
  route: string,
  since: string,
  choices: readonly string[],
): HTMLElement {
  return h(
    'nav',
    { class: 'window', 'aria-label': 'window' },
    ...choices.map((choice) =>
      h(
        'a',
        { href: link(route, { since: choice }), class: choice === since ? 'current' : undefined },
        choice === '168h' ? '7d' : choice,
      ),
    ),
  );
}

/** A "next page" link when there is one, and "first page" when not on it. */
export function pager(
  route: string,
  params: URLSearchParams,
  nextCursor: string | null,
): HTMLElement {
  const base = Object.fromEntries([...params.entries()].filter(([name]) => name !== 'cursor'));
  return h(
    'nav',
    { class: 'pager' },
    params.has('cursor')
      ? h('a', { href: link(route, base), id: 'first-page' }, '« first page')
      : null,
    nextCursor === null
      ? null
      : h(
          'a',
          { href: link(route, { ...base, cursor: nextCursor }), id: 'next-page' },
          'next page »',
        ),
  );
}

/**
 * A few DOM helpers: elements are built with `createElement` and text nodes only (never
 * `innerHTML`), so that nothing the ledger holds is ever parsed as markup.
 *
 * @module
 */

/** A child of {@link h}: a node, text, or nothing. */
export type Child = Node | string | number | null | undefined | false;

/** Attributes of {@link h}: `class`, `data-*`, `href`, `title`, ... (strings only). */
export type Attributes = Readonly<Record<string, string | undefined>>;

/** An element with attributes and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: readonly Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined) element.setAttribute(name, value);
  }
  append(element, ...children);
  return element;
}

/** Appends children, skipping empty ones. */
export function append(parent: Node, ...children: readonly Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
}

/** Replaces every child of `parent`. */
export function replace(parent: Element, ...children: readonly Child[]): void {
  parent.replaceChildren();
  append(parent, ...children);
}

/** A table: headers, then one row of cells per item. */
export function table<T>(
  headers: readonly string[],
  items: readonly T[],
  row: (item: T) => readonly Child[],
  attributes: Attributes = {},
): HTMLTableElement {
  return h(
    'table',
    attributes,
    h('thead', {}, h('tr', {}, ...headers.map((header) => h('th', {}, header)))),
    h(
      'tbody',
      {},
      ...items.map((item) => h('tr', {}, ...row(item).map((cell) => h('td', {}, cell)))),
    ),
  );
}

/** A labelled figure: a card of the overview. */
export function stat(label: string, value: Child, name: string): HTMLElement {
  return h(
    'div',
    { class: 'stat', 'data-stat': name },
    h('div', { class: 'stat-value' }, value),
    h('div', { class: 'stat-label' }, label),
  );
}

/**
 * Findings: rogue-CA discovery's report as the ledger recorded it — the object, why, the
 * severity and the allowlist state — from the `findings` view.
 *
 * @module
 */
import { readView } from '../api.js';
import { append, h, table } from '../dom.js';
import { short, time } from '../format.js';
import type { FindingView } from '../types.js';
import { pager, windowPicker, type PageContext } from './page.js';

/** A member of a finding's `detail`, as text. */
function detailText(detail: unknown, key: string): string | undefined {
  if (typeof detail !== 'object' || detail === null) return undefined;
  const value = (detail as Record<string, unknown>)[key];
  return typeof value === 'string' ? value : undefined;
}

/** `allowlisted (rule value: reason)`, or `not allowlisted`. */
function allowlist(detail: unknown): HTMLElement {
  const match =
    typeof detail === 'object' && detail !== null
      ? (detail as Record<string, unknown>)['allowlisted']
      : undefined;
  if (typeof match !== 'object' || match === null) {
    return h('span', { class: 'badge' }, 'not allowlisted');
  }
  const { rule, value, reason } = match as Record<string, unknown>;
  return h(
    'span',
    { class: 'badge ok', title: `${String(rule)} ${String(value)}` },
    `allowlisted: ${String(reason)}`,
  );
}

/** Renders the findings into `main`. */
export async function findingsPage(main: HTMLElement, context: PageContext): Promise<void> {
  const { params } = context;
  const since = params.get('since') ?? '24h';
  const document = await readView<FindingView>('findings', {
    since,
    limit: '200',
    cursor: params.get('cursor') ?? undefined,
  });
  append(
    main,
    h(
      'header',
      { class: 'page-header' },
      h('h1', {}, 'Findings'),
      windowPicker('findings', since, ['24h', '168h', '720h']),
      h(
        'p',
        { class: 'muted' },
        'Rogue-CA discovery records a finding when first seen, when it comes back, and once a day while it stays.',
      ),
    ),
    document.items.length === 0
      ? h('p', { id: 'empty' }, 'No findings.')
      : table(
          ['time', 'severity', 'kind', 'object', 'why', 'allowlist', 'cluster', 'certificate'],
          [...document.items].reverse(),
          (f) => [
            time(f.time),
            h('span', { class: `badge severity-${f.severity}` }, f.severity),
            f.kind,
            h(
              'span',
              {},
              f.object,
              detailText(f.detail, 'location') === undefined
                ? null
                : h('div', { class: 'muted' }, detailText(f.detail, 'location')),
            ),
            detailText(f.detail, 'why') ?? '—',
            allowlist(f.detail),
            f.cluster ?? '—',
            h('span', { class: 'mono', title: f.fingerprint ?? undefined }, short(f.fingerprint)),
          ],
          { id: 'findings' },
        ),
    pager('findings', params, document.nextCursor),
  );
}

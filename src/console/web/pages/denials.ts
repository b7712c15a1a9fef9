/**
 * Denials: refusals grouped by layer and rule (or error code), with the latest examples and
 * their reasons; audit-mode "would deny" verdicts, which did not stop issuance, apart — from the
 * `denial-rules` view.
 *
 * @module
 */
import { readView } from '../api.js';
import { append, h, table } from '../dom.js';
import { count, time } from '../format.js';
import type { DenialRuleView } from '../types.js';
import { link, windowPicker, type PageContext } from './page.js';

function ruleName(group: DenialRuleView): string {
  return group.rule === null ? (group.errorCode ?? '—') : `${group.layer ?? ''}/${group.rule}`;
}

function groups(items: readonly DenialRuleView[], id: string): HTMLElement {
  if (items.length === 0) return h('p', { id }, 'none');
  return table(
    ['rule', 'count', 'last', 'latest examples'],
    items,
    (g) => [
      h('span', { class: 'mono' }, ruleName(g)),
      count(g.count),
      time(g.lastTime),
      h(
        'ul',
        { class: 'examples' },
        ...g.latest.map((e) =>
          h(
            'li',
            {},
            h('span', { class: 'muted' }, `${time(e.time)} `),
            h('a', { href: link('history', { identity: e.identity }) }, e.identity),
            e.podName === null ? null : ` (pod ${e.podName})`,
            h('div', { class: 'reason' }, e.reason ?? '—'),
          ),
        ),
      ),
    ],
    { id },
  );
}

/** Renders the denials into `main`. */
export async function denialsPage(main: HTMLElement, context: PageContext): Promise<void> {
  const since = context.params.get('since') ?? '24h';
  const document = await readView<DenialRuleView>('denial-rules', { since });
  const refused = document.items.filter((g) => !g.audit);
  const audits = document.items.filter((g) => g.audit);
  append(
    main,
    h(
      'header',
      { class: 'page-header' },
      h('h1', {}, 'Denials'),
      windowPicker('denials', since, ['1h', '24h', '168h']),
    ),
    h('section', { class: 'card' }, h('h2', {}, 'Refused, by rule'), groups(refused, 'refused')),
    h(
      'section',
      { class: 'card audit' },
      h('h2', {}, 'Audit mode: would deny (issued anyway)'),
      groups(audits, 'audits'),
    ),
  );
}

/**
 * Issuers: per-intermediate statistics (the `issuers` view: issued, refused, active, first and
 * last use over what retention keeps), with the intermediate in force and its expiry (the
 * `overview` view's CA).
 *
 * @module
 */
import { readView } from '../api.js';
import { append, h, table } from '../dom.js';
import { count, relative, time } from '../format.js';
import type { IssuerView, OverviewItem } from '../types.js';
import { link } from './page.js';

/** Renders the intermediates into `main`. */
export async function issuersPage(main: HTMLElement): Promise<void> {
  const [issuers, overview] = await Promise.all([
    readView<IssuerView>('issuers', { limit: '1000' }),
    readView<OverviewItem>('overview', { since: '1h' }),
  ]);
  const authority = overview.items[0]?.authority ?? null;
  const now = Date.parse(issuers.generatedAt);
  append(
    main,
    h('header', { class: 'page-header' }, h('h1', {}, 'Issuers')),
    authority === null
      ? null
      : h(
          'section',
          { class: 'card', id: 'in-force' },
          h('h2', {}, 'Intermediate in force'),
          h('p', {}, authority.intermediate.subject),
          h('p', { class: 'mono' }, authority.intermediate.fingerprint),
          h(
            'p',
            {},
            `valid ${time(authority.intermediate.notBefore)} → ${time(authority.intermediate.notAfter)} (expires ${relative(authority.intermediate.notAfter, now)})`,
          ),
        ),
    table(
      ['intermediate (SHA-256)', 'issued', 'refused', 'active', 'first use', 'last use'],
      issuers.items,
      (i) => [
        h(
          'span',
          { class: 'mono' },
          h(
            'a',
            {
              href: link('identities', { issuer: i.issuerFingerprint }),
              title: i.issuerFingerprint,
            },
            i.issuerFingerprint,
          ),
          i.issuerFingerprint === authority?.intermediate.fingerprint
            ? h('span', { class: 'badge ok' }, 'in force')
            : null,
        ),
        count(i.issued),
        count(i.denied),
        count(i.active),
        time(i.firstUse),
        time(i.lastUse),
      ],
      { id: 'issuers' },
    ),
  );
}

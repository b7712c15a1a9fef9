/**
 * One identity's history: every certificate it got (active, expired, retired, revoked) and the
 * refusals and audit verdicts of its requests over the retention period, from the
 * `certificates` and `denials` views filtered by identity.
 *
 * @module
 */
import { readView } from '../api.js';
import { append, h, table } from '../dom.js';
import { short, time } from '../format.js';
import type { CertificateView, DenialView } from '../types.js';
import { stateBadge } from './identities.js';
import type { PageContext } from './page.js';

/** How far back refusals are shown: the default retention (30 days). */
const DENIALS_SINCE = '720h';

/** Renders the history into `main`. */
export async function historyPage(main: HTMLElement, context: PageContext): Promise<void> {
  const identity = context.params.get('identity');
  if (identity === null) throw new Error('history: no identity given');
  const [certificates, denials] = await Promise.all([
    readView<CertificateView>('certificates', { identity, limit: '1000' }),
    readView<DenialView>('denials', { identity, since: DENIALS_SINCE, limit: '1000' }),
  ]);
  const now = Date.parse(certificates.generatedAt);
  const newestFirst = [...certificates.items].reverse();
  append(
    main,
    h(
      'header',
      { class: 'page-header' },
      h('h1', {}, 'History'),
      h('p', { class: 'mono', id: 'identity' }, identity),
    ),
    h(
      'section',
      { class: 'card' },
      h(
        'h2',
        {},
        `Certificates (${newestFirst.length}${certificates.nextCursor === null ? '' : '+'})`,
      ),
      table(
        ['issued', 'serial', 'pod', 'node', 'valid until', 'intermediate', 'key', 'state', 'by'],
        newestFirst,
        (c) => [
          time(c.issuedAt),
          h('span', { class: 'mono' }, c.serial),
          c.podName ?? '—',
          c.nodeName ?? '—',
          time(c.notAfter),
          h('span', { class: 'mono', title: c.issuerFingerprint }, short(c.issuerFingerprint)),
          c.keyAlgorithm === null ? '—' : `${c.keyAlgorithm}-${String(c.keyBits)}`,
          stateBadge(c, now),
          c.statusReason === null
            ? '—'
            : `${c.statusReason}${c.statusBy === null ? '' : ` (${c.statusBy})`}`,
        ],
        { id: 'history-certificates' },
      ),
    ),
    h(
      'section',
      { class: 'card' },
      h('h2', {}, 'Refusals and audit verdicts (30 days)'),
      denials.items.length === 0
        ? h('p', { id: 'history-denials' }, 'none')
        : table(
            ['time', 'kind', 'rule', 'reason'],
            [...denials.items].reverse(),
            (d) => [
              time(d.time),
              d.audit ? h('span', { class: 'badge audit' }, 'audit') : d.outcome,
              d.rule === null ? (d.errorCode ?? '—') : `${d.layer ?? ''}/${d.rule}`,
              d.reason ?? '—',
            ],
            { id: 'history-denials' },
          ),
    ),
  );
}

/**
 * Overview: what was issued and refused over the window (a chart), active identities, totals per
 * cluster and intermediate, the CA's expiry, the policies in force, and open findings by
 * severity — all from the `overview` view.
 *
 * @module
 */
import { readView } from '../api.js';
import { timelineChart } from '../chart.js';
import { append, h, stat, table, type Child } from '../dom.js';
import { count, relative, short, time } from '../format.js';
import type { OverviewItem, Totals } from '../types.js';
import { windowPicker, type PageContext } from './page.js';

/** Renders the overview into `main`. */
export async function overviewPage(main: HTMLElement, context: PageContext): Promise<void> {
  const since = context.params.get('since') ?? '24h';
  const document = await readView<OverviewItem>('overview', { since });
  const overview = document.items[0];
  if (overview === undefined) throw new Error('overview: the API answered no item');
  const now = Date.parse(document.generatedAt);
  const chart = h('div', { class: 'chart', id: 'timeline' });
  const totals = overview.totals;
  const totalCells = (t: Totals): Child[] => [
    count(t.issued),
    count(t.denied),
    count(t.audit),
    count(t.active),
    count(t.retired),
    count(t.revoked),
  ];
  const totalHeaders = ['issued', 'refused', 'audit', 'active', 'retired', 'revoked'];
  const current = overview.authority?.intermediate.fingerprint;
  append(
    main,
    h(
      'header',
      { class: 'page-header' },
      h('h1', {}, 'Overview'),
      windowPicker('overview', since, ['1h', '24h', '168h']),
      h('p', { class: 'muted' }, `${time(overview.since)} → ${time(overview.until)}`),
    ),
    h(
      'section',
      { class: 'stats' },
      stat('active identities', count(totals.active), 'active'),
      stat(`issued (${since})`, count(totals.issued), 'issued'),
      stat(`refused (${since})`, count(totals.denied), 'denied'),
      stat(`audit: would deny (${since})`, count(totals.audit), 'audit'),
      stat('retired, on the CRL', count(totals.retired), 'retired'),
      stat('revoked, on the CRL', count(totals.revoked), 'revoked'),
    ),
    h(
      'section',
      { class: 'card' },
      h('h2', {}, `Issuance and refusals (per ${overview.bucketSeconds / 60} min)`),
      chart,
    ),
    h(
      'div',
      { class: 'columns' },
      h('section', { class: 'card' }, h('h2', {}, 'Policy in force'), policies(overview)),
      h('section', { class: 'card' }, h('h2', {}, 'CA expiry'), authority(overview, now)),
      h(
        'section',
        { class: 'card' },
        h('h2', {}, h('a', { href: '#/findings' }, 'Open findings')),
        findings(overview),
      ),
    ),
    h(
      'section',
      { class: 'card' },
      h('h2', {}, 'Per cluster'),
      table(
        ['cluster', ...totalHeaders],
        overview.clusters,
        (c) => [c.cluster ?? '—', ...totalCells(c)],
        { id: 'clusters' },
      ),
    ),
    h(
      'section',
      { class: 'card' },
      h('h2', {}, h('a', { href: '#/issuers' }, 'Per intermediate')),
      table(
        ['intermediate', ...totalHeaders],
        overview.issuers,
        (i) => [
          h(
            'span',
            { class: 'mono', title: i.issuerFingerprint },
            short(i.issuerFingerprint),
            i.issuerFingerprint === current ? h('span', { class: 'badge' }, 'in force') : null,
          ),
          ...totalCells(i),
        ],
        { id: 'issuers' },
      ),
    ),
  );
  context.onRendered(() => timelineChart(chart, overview));
}

function policies(overview: OverviewItem): HTMLElement {
  if (overview.policies === null) return h('p', { class: 'muted' }, 'not known to this reader');
  if (overview.policies.length === 0) {
    return h('p', { id: 'policy' }, "none: meshca's TTL limits decide alone");
  }
  return table(
    ['layer', 'name', 'sha256', 'signature'],
    overview.policies,
    (p) => [
      p.layer,
      p.name,
      h('span', { class: 'mono', title: p.sha256 }, short(p.sha256)),
      h(
        'span',
        { class: p.signature === 'verified' ? 'badge ok' : 'badge' },
        p.signature === 'verified' ? `verified (${p.signedBy ?? '?'})` : p.signature,
      ),
    ],
    { id: 'policy' },
  );
}

function authority(overview: OverviewItem, now: number): HTMLElement {
  const ca = overview.authority;
  if (ca === null) return h('p', { class: 'muted' }, 'not known to this reader');
  const rows = [
    { role: 'intermediate', ...ca.intermediate },
    ...ca.roots.map((root) => ({ role: 'root', ...root })),
  ];
  return table(
    ['', 'subject', 'expires'],
    rows,
    (c) => {
      const soon = Date.parse(c.notAfter) - now < 30 * 86_400_000;
      return [
        c.role,
        h('span', { title: c.fingerprint }, c.subject),
        h('span', { class: soon ? 'warn' : '', title: c.notAfter }, relative(c.notAfter, now)),
      ];
    },
    { id: 'authority' },
  );
}

function findings(overview: OverviewItem): HTMLElement {
  if (overview.findings.length === 0) return h('p', { id: 'findings' }, 'none');
  return h(
    'ul',
    { class: 'severities', id: 'findings' },
    ...overview.findings.map((f) =>
      h(
        'li',
        { 'data-severity': f.severity },
        h('span', { class: `badge severity-${f.severity}` }, f.severity),
        ` ${count(f.open)}`,
      ),
    ),
  );
}

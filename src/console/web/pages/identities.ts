/**
 * Identities: every certificate the ledger keeps, searched and filtered on the server (the
 * `certificates` view, a page at a time); each row links to its identity's history.
 *
 * @module
 */
import { readView } from '../api.js';
import { append, h, table } from '../dom.js';
import { short, time } from '../format.js';
import type { CertificateView } from '../types.js';
import { link, pager, type PageContext } from './page.js';

/** Rows per page. */
const PAGE_SIZE = '50';

const STATES = ['', 'active', 'expired', 'retired', 'revoked'];

/** A certificate's state at `now`: its status, or `expired` once past notAfter. */
export function stateOf(certificate: CertificateView, now: number): string {
  return certificate.status === 'active' && Date.parse(certificate.notAfter) <= now
    ? 'expired'
    : certificate.status;
}

/** The state as a badge. */
export function stateBadge(certificate: CertificateView, now: number): HTMLElement {
  const state = stateOf(certificate, now);
  const reason = certificate.statusReason ?? undefined;
  return h('span', { class: `badge state-${state}`, title: reason }, state);
}

/** Renders the list into `main`. */
export async function identitiesPage(main: HTMLElement, context: PageContext): Promise<void> {
  const { params } = context;
  const filters = {
    search: params.get('search') ?? undefined,
    namespace: params.get('namespace') ?? undefined,
    cluster: params.get('cluster') ?? undefined,
    state: params.get('state') ?? undefined,
    issuer: params.get('issuer') ?? undefined,
  };
  const document = await readView<CertificateView>('certificates', {
    ...filters,
    limit: PAGE_SIZE,
    cursor: params.get('cursor') ?? undefined,
  });
  const now = Date.parse(document.generatedAt);
  const form = h(
    'form',
    { class: 'filters', id: 'filters' },
    h('input', {
      name: 'search',
      type: 'search',
      placeholder: 'identity, pod, node or serial',
      value: filters.search,
      'aria-label': 'search',
    }),
    h('input', {
      name: 'namespace',
      placeholder: 'namespace',
      value: filters.namespace,
      'aria-label': 'namespace',
    }),
    h('input', {
      name: 'cluster',
      placeholder: 'cluster',
      value: filters.cluster,
      'aria-label': 'cluster',
    }),
    h(
      'select',
      { name: 'state', 'aria-label': 'state' },
      ...STATES.map((state) => {
        const option = h('option', { value: state }, state === '' ? 'any state' : state);
        option.selected = state === (filters.state ?? '');
        return option;
      }),
    ),
    h('button', { type: 'submit' }, 'Search'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const value = (name: string): string | undefined => {
      const entry = data.get(name);
      return typeof entry === 'string' && entry.trim() !== '' ? entry.trim() : undefined;
    };
    window.location.hash = link('identities', {
      search: value('search'),
      namespace: value('namespace'),
      cluster: value('cluster'),
      state: value('state'),
      issuer: filters.issuer,
    });
  });
  append(
    main,
    h('header', { class: 'page-header' }, h('h1', {}, 'Identities')),
    form,
    filters.issuer === undefined
      ? null
      : h(
          'p',
          { id: 'issuer-filter' },
          `intermediate ${short(filters.issuer)} `,
          h('a', { href: link('identities', { ...filters, issuer: undefined }) }, '(any)'),
        ),
    document.items.length === 0
      ? h('p', { id: 'empty' }, 'No certificate matches.')
      : table(
          ['identity', 'pod', 'node', 'serial', 'valid', 'intermediate', 'state', 'cluster'],
          document.items,
          (c) => [
            h(
              'a',
              { href: link('history', { identity: c.identity }), class: 'identity' },
              `${c.namespace}/${c.serviceAccount}`,
            ),
            c.podName ?? '—',
            c.nodeName ?? '—',
            h('span', { class: 'mono' }, c.serial),
            `${time(c.notBefore)} → ${time(c.notAfter)}`,
            h('span', { class: 'mono', title: c.issuerFingerprint }, short(c.issuerFingerprint)),
            stateBadge(c, now),
            c.cluster ?? '—',
          ],
          { id: 'certificates' },
        ),
    pager('identities', params, document.nextCursor),
  );
}

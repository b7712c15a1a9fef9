/**
 * The console: a read-only view of the inventory API in the browser. A hash router picks the
 * page (`#/overview`, `#/identities`, `#/history?identity=…`, `#/denials`, `#/findings`,
 * `#/issuers`); each page reads its views through `api.ts` and builds its DOM. When the API
 * refuses (401, 403), the page is replaced by the sign-in form: paste a bearer token (a
 * Kubernetes service-account token minted for the inventory audience).
 *
 * `document.body.dataset.state` says where the page is (`loading`, `ready`, `signed-out`,
 * `error`), for people and for the browser tests; a `meshca:ready` performance mark times it.
 *
 * @module
 */
import { AccessError, currentToken, signIn, signOut } from './api.js';
import { h, replace } from './dom.js';
import { denialsPage } from './pages/denials.js';
import { findingsPage } from './pages/findings.js';
import { historyPage } from './pages/history.js';
import { identitiesPage } from './pages/identities.js';
import { issuersPage } from './pages/issuers.js';
import { overviewPage } from './pages/overview.js';
import type { PageContext } from './pages/page.js';

type Page = (main: HTMLElement, context: PageContext) => Promise<void>;

const PAGES: Readonly<Record<string, { readonly title: string; readonly page: Page }>> = {
  overview: { title: 'Overview', page: overviewPage },
  identities: { title: 'Identities', page: identitiesPage },
  denials: { title: 'Denials', page: denialsPage },
  findings: { title: 'Findings', page: findingsPage },
  issuers: { title: 'Issuers', page: issuersPage },
  history: { title: 'History', page: historyPage },
};

/** The pages in the navigation bar (history is reached from a row). */
const NAVIGATION = ['overview', 'identities', 'denials', 'findings', 'issuers'];

/** `#/identities?state=active` → `['identities', params]`. */
function route(): [string, URLSearchParams] {
  const hash = window.location.hash.replace(/^#\/?/, '');
  const [name = '', query = ''] = hash.split('?', 2);
  return [name === '' ? 'overview' : name, new URLSearchParams(query)];
}

function setState(state: 'loading' | 'ready' | 'signed-out' | 'error'): void {
  document.body.dataset['state'] = state;
}

/** Renders the current route; the newest render wins when the user clicks quickly. */
let generation = 0;

async function render(): Promise<void> {
  const mine = ++generation;
  const [name, params] = route();
  const entry = PAGES[name] ?? PAGES['overview'];
  if (entry === undefined) return;
  const main = h('main', { id: 'main', 'data-page': name });
  const rendered: (() => void)[] = [];
  setState('loading');
  replace(
    document.body,
    header(name),
    h('main', { id: 'main' }, h('p', { class: 'muted' }, 'Loading…')),
  );
  document.title = `${entry.title} · meshca`;
  try {
    await entry.page(main, { params, onRendered: (hook) => rendered.push(hook) });
    if (mine !== generation) return;
    replace(document.body, header(name), main);
    for (const hook of rendered) hook();
    setState('ready');
    // How long the page took from navigation (or the route change) to drawn: for people in the
    // browser's performance tools, and for the speed test.
    performance.mark('meshca:ready', { detail: { route: name } });
  } catch (error) {
    if (mine !== generation) return;
    if (error instanceof AccessError) {
      replace(document.body, header(name), signInForm(error));
      setState('signed-out');
      return;
    }
    replace(
      document.body,
      header(name),
      h(
        'main',
        { id: 'main' },
        h(
          'section',
          { class: 'card error', id: 'error' },
          h('h2', {}, 'The inventory cannot be read'),
          h('p', {}, (error as Error).message),
        ),
      ),
    );
    setState('error');
  }
}

function header(current: string): HTMLElement {
  const token = currentToken();
  const out = h('button', { type: 'button', id: 'sign-out' }, 'Sign out');
  out.addEventListener('click', () => {
    signOut();
    void render();
  });
  return h(
    'header',
    { class: 'top' },
    h('a', { class: 'brand', href: '#/overview' }, 'meshca'),
    h(
      'nav',
      { class: 'pages' },
      ...NAVIGATION.map((name) =>
        h(
          'a',
          { href: `#/${name}`, class: name === current ? 'current' : undefined },
          PAGES[name]?.title ?? name,
        ),
      ),
    ),
    token === null ? h('span', { class: 'who muted' }, 'no token') : out,
  );
}

/** The signed-out state: why the API refused, and where to paste a token. */
function signInForm(error: AccessError): HTMLElement {
  const input = h('textarea', {
    id: 'token',
    name: 'token',
    rows: '4',
    placeholder: 'eyJhbGciOi…',
    autocomplete: 'off',
    spellcheck: 'false',
    'aria-label': 'bearer token',
  });
  const form = h(
    'form',
    { id: 'sign-in', class: 'card' },
    h('h2', {}, 'Sign in with a token'),
    h(
      'p',
      { id: 'refusal', class: 'error' },
      `${error.status === 403 ? 'This token may not read the inventory' : 'The inventory needs a valid bearer token'}: ${error.message}`,
    ),
    h(
      'p',
      {},
      'Paste a service-account token minted for the inventory audience, e.g. ',
      h('code', {}, 'kubectl create token auditor -n security --audience meshca-inventory'),
      '. It is kept in this tab only (sessionStorage) and sent to this meshca alone.',
    ),
    input,
    h('button', { type: 'submit' }, 'Sign in'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (input.value.trim() === '') return;
    signIn(input.value);
    void render();
  });
  return h('main', { id: 'main', 'data-page': 'sign-in' }, form);
}

window.addEventListener('hashchange', () => {
  void render();
});
void render();

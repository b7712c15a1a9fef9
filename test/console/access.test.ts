/**
 * Who may use the console, in a real browser against meshca with a real kube-apiserver: the
 * operations port bound to every address, so that the inventory API admits only bearer tokens
 * that TokenReview accepts for the inventory audience and that name an allowed account. Logged
 * out, the console shows the sign-in form and no data; a wrong token and a token of someone not
 * allowed are refused, each with the API's reason; the auditor's token shows the overview, and
 * signing out forgets it. The files themselves are public (they hold no data).
 */
import type { Browser } from 'playwright-core';
import type * as k8s from '@kubernetes/client-node';
import { chromiumAvailable, launchChromium } from '../support/chromium.js';
import {
  adminKubeConfig,
  createServiceAccount,
  describeKube,
  meshcaKubeArgs,
  requestToken,
  setupMeshcaNamespaces,
  type MeshcaNamespaces,
} from '../support/kube.js';
import { startDevServer, type DevServer } from '../support/server.js';
import { removeTempDirs } from '../support/tmp.js';
import { openConsole, settled, type ConsolePage } from './browser.js';

/** What the browser itself logs for the refusals this test provokes: expected, not a defect. */
const REFUSED_FETCH =
  /^console: Failed to load resource: the server responded with a status of 40[13]/;

const describeConsoleAccess = chromiumAvailable() ? describeKube : describe.skip;

describeConsoleAccess('console access', () => {
  let admin: k8s.KubeConfig;
  let namespaces: MeshcaNamespaces;
  let meshca: DevServer;
  let browser: Browser;
  let base: string;
  let session: ConsolePage | undefined;

  beforeAll(async () => {
    admin = adminKubeConfig();
    namespaces = await setupMeshcaNamespaces(admin);
    await createServiceAccount(admin, namespaces.meshca, 'auditor');
    await createServiceAccount(admin, namespaces.meshca, 'stranger');
    meshca = await startDevServer([
      ...meshcaKubeArgs(namespaces),
      '--dev-pki',
      '--no-istiod-certificate',
      '--no-leader-election',
      '--http-listen',
      '0.0.0.0:0',
      '--inventory-service-accounts',
      `${namespaces.meshca}/auditor`,
    ]);
    base = `http://127.0.0.1:${meshca.server.httpPort}/ui/`;
    browser = await launchChromium();
  }, 90_000);
  afterEach(async () => {
    await session?.close();
  });
  afterAll(async () => {
    await browser.close();
    await meshca.stop();
    removeTempDirs();
  });

  const token = (account: string, audience = 'meshca-inventory'): Promise<string> =>
    requestToken(admin, namespaces.meshca, account, { audiences: [audience] });

  async function signIn(page: ConsolePage['page'], value: string): Promise<void> {
    await page.fill('#token', value);
    await page.click('#sign-in button[type=submit]');
  }

  async function refusal(page: ConsolePage['page']): Promise<string> {
    await settled(page, 'signed-out');
    return page.locator('#refusal').innerText();
  }

  it('serves the files to anyone, and the data to the allowed token only', async () => {
    const index = await fetch(base);
    expect(index.status).toBe(200);
    const data = await fetch(`http://127.0.0.1:${meshca.server.httpPort}/v1/inventory/overview`);
    expect(data.status).toBe(401);
    expect(data.headers.get('www-authenticate')).toBe('Bearer');

    session = await openConsole(browser, base, '#/overview', 'signed-out');
    const { page } = session;
    expect(await page.locator('#refusal').innerText()).toBe(
      'The inventory needs a valid bearer token: a bearer token is required',
    );
    expect(await page.locator('#main .stat').count()).toBe(0);
    await session.screenshot('sign-in');

    await signIn(page, 'not-a-token');
    expect(await refusal(page)).toBe(
      'The inventory needs a valid bearer token: the token is not valid for the audience meshca-inventory',
    );
    await signIn(page, await token('auditor', 'istio-ca'));
    expect(await refusal(page)).toBe(
      'The inventory needs a valid bearer token: the token is not valid for the audience meshca-inventory',
    );
    await signIn(page, await token('stranger'));
    expect(await refusal(page)).toBe(
      `This token may not read the inventory: system:serviceaccount:${namespaces.meshca}:stranger may not read the inventory (see inventoryServiceAccounts, inventoryGroups)`,
    );

    await signIn(page, await token('auditor'));
    await settled(page, 'ready');
    expect(await page.locator('[data-stat="active"] .stat-value').innerText()).toBe('0');
    // Other pages use the same token.
    await page.click('nav.pages a[href="#/identities"]');
    await settled(page, 'ready', '#/identities');
    expect(await page.locator('#empty').innerText()).toBe('No certificate matches.');
    // The token is in this tab's sessionStorage, never a cookie.
    expect((await session.context.cookies()).length).toBe(0);

    await page.click('#sign-out');
    expect(await refusal(page)).toBe(
      'The inventory needs a valid bearer token: a bearer token is required',
    );
    expect(session.errors.filter((error) => !REFUSED_FETCH.test(error))).toEqual([]);
  });
});

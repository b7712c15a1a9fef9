/**
 * The web console in a real browser (Debian's Chromium, headless) against a real `meshca serve`
 * whose ledger holds known data (`seed.ts`): every page loads without a console error, shows the
 * figures of the seed (the same the inventory API answers), filters and pages on the server, and
 * leaves a screenshot under `test-results/`. The files come with their caching and security
 * headers. Development mode binds the operations port to loopback, where the API lets requests
 * without a token in; the refusals are `access.test.ts`'s.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { CONSOLE_CSP } from '../../src/console/index.js';
import { describeBrowser, launchChromium } from '../support/chromium.js';
import { startMeshcaProcess, type MeshcaProcess } from '../support/meshca-process.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';
import { ISSUER_A, ISSUER_B } from '../ledger/fixtures.js';
import { hashContains, openConsole, settled, tableRows, type ConsolePage } from './browser.js';
import { EXPECTED, seedKnownLedger, type SeededSerials } from './seed.js';

describeBrowser('the web console', () => {
  let meshca: MeshcaProcess;
  let browser: Browser;
  let base: string;
  let serials: SeededSerials;
  let policySha256: string;
  const opened: ConsolePage[] = [];

  beforeAll(async () => {
    const stateDir = tempDir('meshca-console-');
    serials = await seedKnownLedger(stateDir, Date.now());
    // A central policy in force, unsigned (no signing keys configured): the overview names it.
    const policy = join(stateDir, 'central.yaml');
    writeFileSync(
      policy,
      'apiVersion: meshca.io/v1alpha1\nkind: IssuancePolicy\nmetadata: { name: baseline }\nspec:\n  defaultAction: allow\n  rules: []\n',
    );
    policySha256 = createHash('sha256').update(readFileSync(policy)).digest('hex');
    meshca = await startMeshcaProcess(['--state-dir', stateDir, '--policy-central', policy]);
    base = `http://127.0.0.1:${meshca.httpPort}/ui/`;
    browser = await launchChromium();
  }, 120_000);
  afterEach(async () => {
    for (const page of opened.splice(0)) {
      const errors = page.errors;
      await page.close();
      expect(errors).toEqual([]);
    }
  });
  afterAll(async () => {
    await browser.close();
    meshca.kill();
    await meshca.exited;
    removeTempDirs();
  });

  async function open(hash: string): Promise<ConsolePage> {
    const page = await openConsole(browser, base, hash);
    opened.push(page);
    return page;
  }

  it('serves its files with their types, caching and a strict Content-Security-Policy', async () => {
    const index = await fetch(base);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(index.headers.get('cache-control')).toBe('no-cache');
    expect(index.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
    expect(CONSOLE_CSP).toContain("default-src 'none'");
    expect(CONSOLE_CSP).toContain("script-src 'self'");
    expect(CONSOLE_CSP).toContain("frame-ancestors 'none'");
    expect(index.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await index.text();
    // No inline script or style: every script and stylesheet is a hashed file of this origin.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)/);
    expect(html).not.toMatch(/<style|style=/);
    const assets = [...html.matchAll(/(?:src|href)="(assets\/[^"]+)"/g)].map((m) => m[1] ?? '');
    expect(assets.map((a) => a.replace(/-[A-Z0-9]{8}\./, '-HASH.')).sort()).toEqual([
      'assets/console-HASH.js',
      'assets/style-HASH.css',
    ]);
    for (const asset of assets) {
      const answer = await fetch(`${base}${asset}`);
      expect(answer.status).toBe(200);
      expect(answer.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(answer.headers.get('content-type')).toBe(
        asset.endsWith('.js') ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8',
      );
      expect(answer.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
      expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
      // Nothing is fetched from elsewhere: no URL of another origin in the bundle.
      expect(await answer.text()).not.toMatch(/https?:\/\/(?!www\.w3\.org\/)/);
    }
    const bare = await fetch(base.slice(0, -1), { redirect: 'manual' });
    expect([bare.status, bare.headers.get('location')]).toEqual([308, '/ui/']);
    expect((await fetch(`${base}assets/nothing.js`)).status).toBe(404);
  });

  it('shows the overview: the timeline, totals, clusters, intermediates, CA, policy, findings', async () => {
    const api = (await (
      await fetch(`http://127.0.0.1:${meshca.httpPort}/v1/inventory/overview`)
    ).json()) as {
      items: { totals: unknown; authority: { intermediate: { subject: string } } }[];
    };
    expect(api.items[0]?.totals).toEqual(EXPECTED.totals);
    const { page, screenshot } = await open('#/overview');
    const stat = (name: string): Promise<string> =>
      page.locator(`[data-stat="${name}"] .stat-value`).innerText();
    for (const name of ['active', 'issued', 'denied', 'audit', 'retired', 'revoked'] as const) {
      expect(await stat(name)).toBe(String(EXPECTED.totals[name]));
    }
    // uPlot drew the chart, with its three series in the legend.
    await page.locator('#timeline canvas').first().waitFor();
    expect(await page.locator('#timeline .u-legend .u-label').allTextContents()).toEqual([
      'time (UTC)',
      'issued',
      'refused',
      'audit: would deny',
    ]);
    const totals = (t: {
      issued: number;
      denied: number;
      audit: number;
      active: number;
      retired: number;
      revoked: number;
    }): string[] => [t.issued, t.denied, t.audit, t.active, t.retired, t.revoked].map(String);
    expect(await tableRows(page, '#clusters')).toEqual([
      ['east', ...totals(EXPECTED.clusters.east)],
      ['west', ...totals(EXPECTED.clusters.west)],
    ]);
    expect(await tableRows(page, '#issuers')).toEqual([
      [ISSUER_A.slice(0, 12), ...totals(EXPECTED.issuers[ISSUER_A]!)],
      [ISSUER_B.slice(0, 12), ...totals(EXPECTED.issuers[ISSUER_B]!)],
    ]);
    expect(await page.locator('#findings li').allInnerTexts()).toEqual(['high 1', 'medium 1']);
    // Development mode: its own intermediate and root; the central policy, unsigned.
    const authority = await tableRows(page, '#authority');
    expect(authority.map((row) => [row[0], row[1]])).toEqual([
      ['intermediate', api.items[0]?.authority.intermediate.subject],
      ['root', 'O=meshca, CN=meshca development root'],
    ]);
    expect(authority[0]?.[2]).toMatch(/^in \d+d/);
    expect(await tableRows(page, '#policy')).toEqual([
      ['central', 'baseline', policySha256.slice(0, 12), 'not-required'],
    ]);
    await screenshot('overview');
  });

  it('lists identities a page at a time, searched and filtered on the server', async () => {
    const { page, screenshot } = await open('#/identities');
    expect(await page.locator('#certificates tbody tr').count()).toBe(50);
    await screenshot('identities');
    // The form: a namespace, then the next page and back.
    await page.fill('input[name=namespace]', 'bulk');
    await page.click('button[type=submit]');
    await settled(page, 'ready', '#/identities?namespace=bulk');
    expect(await page.locator('#certificates tbody tr').count()).toBe(50);
    await page.click('#next-page');
    await hashContains(page, 'cursor=');
    await settled(page);
    const rest = await tableRows(page, '#certificates');
    expect(rest).toHaveLength(EXPECTED.bulk - 50);
    expect(rest.every((row) => row[0]?.startsWith('bulk/svc-') && row[6] === 'active')).toBe(true);
    await page.click('#first-page');
    await settled(page, 'ready', '#/identities?namespace=bulk');
    expect(await page.locator('#certificates tbody tr').count()).toBe(50);
    // Search and state: a pod's name; shop's retired and revoked certificates.
    await page.goto(`${base}#/identities?search=cart-2`);
    await settled(page, 'ready', '#/identities?search=cart-2');
    const found = await tableRows(page, '#certificates');
    expect(found.map((row) => [row[0], row[1], row[2], row[3], row[6]])).toEqual([
      ['shop/cart', 'cart-2', 'node-1', serials.cart2, 'active'],
    ]);
    await page.fill('input[name=search]', '');
    await page.fill('input[name=namespace]', 'shop');
    await page.selectOption('select[name=state]', 'revoked');
    await page.click('button[type=submit]');
    await settled(page, 'ready', '#/identities?namespace=shop&state=revoked');
    expect((await tableRows(page, '#certificates')).map((row) => [row[3], row[6]])).toEqual([
      [serials.revoked, 'revoked'],
    ]);
    await page.goto(`${base}#/identities?namespace=shop&state=expired`);
    await settled(page, 'ready', '#/identities?namespace=shop&state=expired');
    expect((await tableRows(page, '#certificates')).map((row) => [row[0], row[6]])).toEqual([
      ['shop/old', 'expired'],
    ]);
  });

  it('links each identity to its history: every certificate and refusal', async () => {
    const { page, screenshot } = await open('#/identities?namespace=shop&search=cart');
    await page.locator('#certificates a.identity').first().click();
    await settled(
      page,
      'ready',
      `#/history?identity=${encodeURIComponent('spiffe://cluster.local/ns/shop/sa/cart')}`,
    );
    expect(await page.locator('#identity').innerText()).toBe(
      'spiffe://cluster.local/ns/shop/sa/cart',
    );
    const certificates = await tableRows(page, '#history-certificates');
    expect(certificates.map((row) => [row[2], row[7], row[8]])).toEqual([
      ['cart-3', 'active', '—'],
      ['cart-2', 'active', '—'],
      ['cart-1', 'retired', 'pod-deleted'],
    ]);
    const denials = await tableRows(page, '#history-denials');
    expect(denials.map((row) => [row[1], row[2]])).toEqual([['invalid', 'ERR_CSR_SAN_MISSING']]);
    await screenshot('history');
  });

  it('shows denials by rule with the latest examples, audit verdicts apart', async () => {
    const { page, screenshot } = await open('#/denials');
    const refused = await tableRows(page, '#refused');
    expect(refused.map((row) => [row[0], row[1]])).toEqual([
      ['central/namespaces', '2'],
      ['ERR_CSR_SAN_MISSING', '1'],
    ]);
    expect(refused[0]?.[3]).toContain('spiffe://cluster.local/ns/bank/sa/intruder');
    expect(refused[0]?.[3]).toContain('namespace bank is not allowed');
    const audits = await tableRows(page, '#audits');
    expect(audits.map((row) => [row[0], row[1]])).toEqual([['local/bank-pods-only', '1']]);
    expect(audits[0]?.[3]).toContain('pod api-0 is not labelled tier=bank');
    await screenshot('denials');
  });

  it('shows the findings: object, why, severity and allowlist state', async () => {
    const { page, screenshot } = await open('#/findings');
    const rows = await tableRows(page, '#findings');
    expect(rows.map((row) => [row[1], row[2], row[3], row[4], row[5]])).toEqual([
      [
        'high',
        'self-signed-ca',
        'Secret lab/cadata[ca.crt]',
        'a self-signed CA',
        'allowlisted: the lab runs its own CA',
      ],
      [
        'medium',
        'expired',
        'Secret team-b/tlsdata[ca.crt]',
        'the certificate expired',
        'not allowlisted',
      ],
      [
        'high',
        'unapproved-ca',
        'Secret team-a/cadata[ca.crt]',
        'a CA that no approved anchor signed',
        'not allowlisted',
      ],
      [
        'high',
        'unapproved-ca',
        'Secret team-a/cadata[ca.crt]',
        'a CA that no approved anchor signed',
        'not allowlisted',
      ],
    ]);
    await screenshot('findings');
  });

  it('shows per-intermediate statistics', async () => {
    const { page, screenshot } = await open('#/issuers');
    const rows = await tableRows(page, '#issuers');
    // Over what retention keeps: shop/old, expired yesterday, counts too.
    expect(rows.map((row) => row.slice(0, 4))).toEqual([
      [ISSUER_A, '6', '3', '3'],
      [ISSUER_B, '63', '0', '63'],
    ]);
    expect(await page.locator('#in-force').innerText()).toContain(
      'meshca development intermediate',
    );
    await screenshot('issuers');
  });
});

/**
 * Opening console pages in Chromium for the tests: a fresh context per page (its own
 * sessionStorage), the page's console errors collected, and a screenshot under `test-results/`.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { REPO_ROOT } from '../support/environment.js';
import { collectPageErrors } from '../support/chromium.js';

/** Where screenshots go (gitignored). */
export const RESULTS_DIR = join(REPO_ROOT, 'test-results');

/** One open console page. */
export interface ConsolePage {
  readonly page: Page;
  readonly context: BrowserContext;
  /** Console errors and page errors so far. */
  readonly errors: string[];
  /** Writes `test-results/console-<name>.png`; returns its path. */
  readonly screenshot: (name: string) => Promise<string>;
  readonly close: () => Promise<void>;
}

/** The state the console reports on `<body data-state>`. */
export type ConsoleState = 'ready' | 'signed-out' | 'error';

/** What the predicates below read of the page (the tests type-check without the DOM library). */
interface PageGlobals {
  readonly document: { readonly body: { readonly dataset: Record<string, string | undefined> } };
  readonly location: { readonly hash: string };
}

/**
 * Waits until the console has rendered `hash` (or any route) and reached `state`. The predicate
 * is a function, not a string: the console's CSP forbids `eval`, which string predicates need.
 */
export async function settled(
  page: Page,
  state: ConsoleState = 'ready',
  hash?: string,
): Promise<void> {
  await page.waitForFunction(
    ([wanted, wantedHash]) => {
      const page = globalThis as unknown as PageGlobals;
      return (
        page.document.body.dataset['state'] === wanted &&
        (wantedHash === undefined || page.location.hash === wantedHash)
      );
    },
    [state, hash] as const,
    { timeout: 20_000 },
  );
}

/** Waits until the location's hash contains `part`. */
export async function hashContains(page: Page, part: string): Promise<void> {
  await page.waitForFunction(
    (wanted) => (globalThis as unknown as PageGlobals).location.hash.includes(wanted),
    part,
    { timeout: 20_000 },
  );
}

/** Opens `base` + `hash` in a new context and waits for `state`. */
export async function openConsole(
  browser: Browser,
  base: string,
  hash: string,
  state: ConsoleState = 'ready',
): Promise<ConsolePage> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const errors = collectPageErrors(page);
  await page.goto(`${base}${hash}`);
  await settled(page, state);
  return {
    page,
    context,
    errors,
    screenshot: async (name) => {
      mkdirSync(RESULTS_DIR, { recursive: true });
      const path = join(RESULTS_DIR, `console-${name}.png`);
      await page.screenshot({ path, fullPage: true });
      return path;
    },
    close: () => context.close(),
  };
}

/** The text of every cell of a table, row by row. */
export async function tableRows(page: Page, selector: string): Promise<string[][]> {
  return page
    .locator(`${selector} tbody tr`)
    .evaluateAll((rows) =>
      rows.map((row) =>
        Array.from((row as { cells: ArrayLike<{ textContent: string | null }> }).cells, (cell) =>
          (cell.textContent ?? '').trim(),
        ),
      ),
    );
}

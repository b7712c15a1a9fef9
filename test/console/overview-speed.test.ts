/**
 * The overview at scale: 100,000 decisions in the ledger (a day of issuances in two clusters and
 * two intermediates, refusals, audit verdicts, retirements and revocations), a real `meshca
 * serve`, Debian's Chromium. Logs how long the overview takes to render, from navigation to the
 * chart drawn, and the API's answer alone; the README quotes the figures. The machines are
 * shared, so the bound asserted is generous: a regression to a full scan shows in the log first.
 */
import { systemClock } from '../../src/clock.js';
import { SqliteLedgerStore, sqliteLedgerPath } from '../../src/ledger/index.js';
import { describeBrowser, launchChromium } from '../support/chromium.js';
import { seedLedgerAtScale } from '../support/ledger-seed.js';
import { startMeshcaProcess } from '../support/meshca-process.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';
import { openConsole } from './browser.js';

const RECORDS = 100_000;

describeBrowser('the overview at scale', () => {
  afterAll(() => {
    removeTempDirs();
  });

  it(`renders with ${RECORDS.toLocaleString('en-US')} ledger records`, async () => {
    const stateDir = tempDir('meshca-console-scale-');
    const store = new SqliteLedgerStore({ path: sqliteLedgerPath(stateDir) }, systemClock);
    await store.open();
    const { issued } = await seedLedgerAtScale(store, Date.now(), RECORDS);
    await store.close();
    const meshca = await startMeshcaProcess(['--state-dir', stateDir]);
    const browser = await launchChromium();
    try {
      const api = `http://127.0.0.1:${meshca.httpPort}/v1/inventory/overview`;
      const apiMs: number[] = [];
      for (let i = 0; i < 3; i++) {
        const started = performance.now();
        const body = (await (await fetch(api)).json()) as {
          items: { totals: { issued: number } }[];
        };
        apiMs.push(performance.now() - started);
        expect(body.items[0]?.totals.issued).toBe(issued);
      }
      const renders: number[] = [];
      const withBrowser: number[] = [];
      for (let i = 0; i < 3; i++) {
        const started = performance.now();
        const page = await openConsole(
          browser,
          `http://127.0.0.1:${meshca.httpPort}/ui/`,
          '#/overview',
        );
        await page.page.locator('#timeline canvas').first().waitFor();
        withBrowser.push(performance.now() - started);
        // In the page's own clock: from the start of navigation to the overview drawn.
        renders.push(
          await page.page.evaluate(
            () =>
              (
                globalThis as unknown as {
                  performance: { getEntriesByName(name: string): { startTime: number }[] };
                }
              ).performance.getEntriesByName('meshca:ready')[0]?.startTime ?? NaN,
          ),
        );
        expect(await page.page.locator('[data-stat="issued"] .stat-value').innerText()).toBe(
          issued.toLocaleString('en-US'),
        );
        expect(page.errors).toEqual([]);
        if (i === 2) await page.screenshot('overview-100k');
        await page.close();
      }
      const median = (values: number[]): number => [...values].sort((a, b) => a - b)[1] ?? NaN;
      console.log(
        `overview with ${RECORDS} ledger records: navigation to drawn ${renders.map((ms) => ms.toFixed(0)).join(', ')} ms (median ${median(renders).toFixed(0)}); with a new browser context ${withBrowser.map((ms) => ms.toFixed(0)).join(', ')} ms; the API alone ${apiMs.map((ms) => ms.toFixed(0)).join(', ')} ms`,
      );
      expect(median(renders)).toBeLessThan(5000);
    } finally {
      await browser.close();
      meshca.kill();
      await meshca.exited;
    }
  }, 240_000);
});

/**
 * Debian's Chromium, driven headless through playwright-core, for the console's browser tests.
 * playwright-core never downloads a browser: it is pointed at the system binary.
 *
 * In CI (`CI=true`) a missing Chromium is a failure, never a skip: `.ci/run` installs it.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { IN_CI } from './environment.js';

/** The browser binary (Debian's `chromium` package). */
export const CHROMIUM = process.env['MESHCA_TEST_CHROMIUM'] ?? '/usr/bin/chromium';

/** Why Chromium cannot be used here, or undefined when it can. */
export function chromiumUnavailableReason(): string | undefined {
  return existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is missing (apt-get install chromium)`;
}

/**
 * Whether the browser tests run: true when Chromium is installed; in CI a missing one throws, so
 * the run fails; elsewhere it warns and the caller skips.
 */
export function chromiumAvailable(): boolean {
  const reason = chromiumUnavailableReason();
  if (reason === undefined) return true;
  if (IN_CI) throw new Error(`the console tests need Chromium in CI: ${reason}`);
  console.warn(`skipping the browser tests: ${reason}`);
  return false;
}

/** `describe`, or `describe.skip` without Chromium (outside CI). */
export function describeBrowser(name: string, body: () => void): void {
  if (chromiumAvailable()) describe(name, body);
  else describe.skip(name, body);
}

/** Launches headless Chromium (no sandbox: tests run as root in CI). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
}

/** Console messages of type error and uncaught page errors, as they happen. */
export function collectPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => {
    errors.push(`pageerror: ${error.message}`);
  });
  return errors;
}

// Headless Chromium for the editor tests (playwright-core driving Debian's chromium): one launch
// per file, and pages that record every console error and page error, so a test can assert none.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';

// Code inside page.evaluate and addInitScript runs in the browser; the tests compile without the DOM library.
declare const window: any;

export const chromiumPath = '/usr/bin/chromium';
/** A skip reason when Chromium is not installed (.ci/run installs it), else false. */
export const chromiumMissing: string | false = fs.existsSync(chromiumPath) ? false : `${chromiumPath} is missing`;

export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A folder under test-output/ for a file's screenshots, made if missing. */
export function screenshotDir(projectRoot: string, name: string): string {
  const dir = path.join(projectRoot, 'test-output', name);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

export interface PageOptions {
  locale: string;
  viewport: { width: number; height: number };
  /** An admin API token, put where the editor keeps one after its own login dialog. */
  token?: string;
  /** Accept the editor's confirm() dialogs. */
  acceptDialogs?: boolean;
}

/** A new page at url; `problems` collects the browser's console errors and page errors. */
export async function openPage(browser: Browser, url: string, options: PageOptions): Promise<{ page: Page; problems: string[] }> {
  const context = await browser.newContext({ locale: options.locale, viewport: options.viewport });
  if (options.token !== undefined) {
    await context.addInitScript((t: string) => {
      window.localStorage.setItem('auth-tokens', JSON.stringify({ access_token: t, expires_in: 604800, token_type: 'Bearer' }));
    }, options.token);
  }
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  if (options.acceptDialogs) page.on('dialog', (d) => void d.accept());
  await page.goto(url);
  return { page, problems };
}

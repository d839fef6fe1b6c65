import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** Debian's Chromium (the `chromium` package). */
export const CHROMIUM = '/usr/bin/chromium';

/** A headless Chromium on a dashboard page, with what the page logged and asked elsewhere. */
export interface DashboardBrowser {
  readonly browser: Browser;
  readonly context: BrowserContext;
  readonly page: Page;
  /** Console errors and uncaught page errors. */
  readonly errors: string[];
  /** Requests that left the app's origin. */
  readonly outside: string[];
}

/**
 * Launches headless Chromium, opens `url` (the dashboard page) with `headers` on every request,
 * and resolves once the page says it is ready.
 */
export async function openDashboard(
  url: string,
  headers: Record<string, string>,
): Promise<DashboardBrowser> {
  const origin = new URL(url).origin;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-background-networking'],
  });
  const context = await browser.newContext({
    extraHTTPHeaders: headers,
    viewport: { width: 1280, height: 900 },
  });
  const page = await context.newPage();
  const errors: string[] = [];
  const outside: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('request', (request) => {
    const target = request.url();
    if (!target.startsWith('data:') && new URL(target).origin !== origin) outside.push(target);
  });
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]');
  return { browser, context, page, errors, outside };
}

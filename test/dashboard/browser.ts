/** Headless Chromium (Debian's `chromium`, installed by .ci/run) driven by playwright-core, for the dashboard tests. */
import { existsSync } from 'node:fs';
import { expect } from '@jest/globals';
import AxeBuilder from '@axe-core/playwright';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';

/** CHROMIUM_PATH, else Debian's /usr/bin/chromium. */
export function chromiumPath(): string {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter((p): p is string => !!p);
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`no Chromium found (tried ${candidates.join(', ')}); install Debian's chromium package (.ci/run does) or set CHROMIUM_PATH`);
  return found;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), headless: true, args: ['--no-sandbox'] });
}

export interface DashboardPage {
  context: BrowserContext;
  page: Page;
  /** Console errors and page errors (a CSP violation is one): a passing test leaves none. */
  problems: string[];
  /** Every URL the page requested (the API key must never be in one). */
  requests: string[];
}

/** A fresh context on /dashboard (plus `hash`); signs in with `apiKey` (typed into the key form) unless null. */
export async function openDashboard(browser: Browser, baseUrl: string, apiKey: string | null, hash = ''): Promise<DashboardPage> {
  const context = await browser.newContext({ baseURL: baseUrl });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const problems: string[] = [];
  const requests: string[] = [];
  // A failed request is reported by its URL (the console line has none); the browser's own favicon request is not the page's.
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) problems.push(msg.text());
  });
  page.on('response', (res) => {
    if (res.status() >= 400 && !res.url().endsWith('/favicon.ico')) problems.push(`${res.status()} ${res.request().method()} ${res.url()}`);
  });
  page.on('pageerror', (err) => problems.push(String(err)));
  page.on('request', (req) => requests.push(req.url()));
  await page.goto(`/dashboard${hash}`);
  if (apiKey !== null) {
    await page.getByRole('textbox', { name: 'API key' }).fill(apiKey);
    await page.getByRole('button', { name: 'Load webhooks' }).click();
    await expect(await statusText(page, /Loaded \d+ webhook/)).toMatch(/Loaded/);
  }
  return { context, page, problems, requests };
}

/** Waits until the live status region's text matches, and returns it. */
export async function statusText(page: Page, pattern: RegExp): Promise<string> {
  const region = page.locator('#status');
  await region.filter({ hasText: pattern }).waitFor();
  return (await region.textContent()) ?? '';
}

/** The table row of webhook `id` in "Your webhooks". */
export function webhookRow(page: Page, id: string): Locator {
  return page.locator(`tr[data-webhook-id="${id}"]`);
}

/** axe-core on the page as it is: no serious or critical violation. */
export async function expectAccessible(page: Page): Promise<void> {
  const result = await new AxeBuilder({ page }).analyze();
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join('; ')})`);
  expect(bad).toEqual([]);
}

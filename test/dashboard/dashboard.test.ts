/**
 * The dashboard ("Settings → Webhooks", issue 11 item 8) in headless Chromium against the real
 * subscription-api and dispatcher (in-process, real Kafka and Postgres) and a real receiver. Each
 * feature is checked on the page and on the server (through the API): serving (CSP, content
 * types, no traversal), add with the keyboard only, list, disable/enable, rotate, delete, test
 * event, delivery log with filters and a delivery's attempts, the 24 h chart, change history,
 * hostile text shown as text, and axe-core finds no serious or critical violation.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import type { Browser, Page } from 'playwright-core';
import request from 'supertest';
import { newId, SEED_EXAMPLES, TOPICS, ValidatedEventCodec } from '@odis/contracts';
import { startTestReceiver, type TestReceiver } from '@odis/receiver-kit';
import { createAccount } from '../api/subscription-api.harness.js';
import { baseUrl, suffix, TestKafka, waitRouted } from '../dispatch/support.js';
import { startApiAndDispatcher } from '../e2e/real-stack.js';
import { waitFor } from '../support/infra.js';
import { expectAccessible, launchChromium, openDashboard, statusText, webhookRow, type DashboardPage } from './browser.js';

const HOSTILE = '<img src=x onerror="window.__xss=1">';

describe('dashboard in Chromium (real stack)', () => {
  const tag = suffix();
  let api: INestApplication;
  let dispatcher: INestApplication;
  let dispatcherUrl: string;
  let url: string;
  let receiver: TestReceiver;
  let browser: Browser;
  let dash: DashboardPage;
  let page: Page;
  let apiKey: string;
  let auth: Record<string, string>;
  const server = () => request(api.getHttpServer());
  const kafka = new TestKafka();
  /** The other accounts' auth headers (delivery settings, Load more), for the cleanup. */
  const otherAuths: Record<string, string>[] = [];

  beforeAll(async () => {
    // More than 100 webhooks per account: the list's "Load more webhooks".
    ({ api, dispatcher, dispatcherUrl } = await startApiAndDispatcher(`dash-${tag}`, { WITH_ATTEMPT_CONSUMER: 'true', WEBHOOK_MAX_PER_ACCOUNT: '110' }));
    url = baseUrl(api);
    ({ apiKey } = await createAccount(`Dashboard Clinic ${tag}`));
    auth = { Authorization: `Bearer ${apiKey}` };
    // The receiver fails with hostile markup: the dashboard must show it as text.
    receiver = await startTestReceiver({ respond: () => ({ status: 500, body: HOSTILE, headers: { 'content-type': 'text/html' } }) });
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    // Later test files' dispatchers read the whole changelog: leave no live webhook behind.
    for (const a of [auth, ...otherAuths]) {
      if (!api || !a) continue;
      for (;;) {
        const hooks = (await server().get('/v1/webhooks?limit=100').set(a)).body.data as { id: string }[] | undefined;
        if (!hooks?.length) break;
        for (const w of hooks) await server().delete(`/v1/webhooks/${w.id}`).set(a);
      }
    }
    await kafka.close();
    await dash?.context.close();
    await browser?.close();
    await receiver?.close();
    await Promise.allSettled([api?.close(), dispatcher?.close()]);
  }, 60_000);

  it('serves the shell and its modules with a strict CSP and their content types, and nothing outside them', async () => {
    const shell = await server().get('/dashboard');
    expect(shell.status).toBe(200);
    expect(shell.headers['content-type']).toBe('text/html; charset=utf-8');
    const csp = String(shell.headers['content-security-policy']);
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(shell.headers['x-content-type-options']).toBe('nosniff');
    expect(shell.text).toContain('<script type="module" src="/dashboard/assets/app.js"></script>');
    expect(shell.text).not.toMatch(/<script>|<script [^>]*>[^<]+<\/script>|style=/); // nothing inline
    const app = await server().get('/dashboard/assets/app.js');
    expect(app.status).toBe(200);
    expect(app.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(app.text).toContain("from './api.js'");
    expect((await server().get('/dashboard/assets/dashboard.css')).headers['content-type']).toBe('text/css; charset=utf-8');
    for (const path of [
      '/dashboard/assets/..%2F..%2F..%2F..%2F..%2Fpackage.json',
      '/dashboard/assets/..%2fdashboard.controller.js',
      '/dashboard/assets/%2e%2e%2fdashboard-assets.js',
      '/dashboard/assets/..%5c..%5cpackage.json',
      '/dashboard/assets/app.js.map',
      '/dashboard/assets/api.ts',
      '/dashboard/assets/.env',
      '/dashboard/assets/nope.js',
    ]) {
      const res = await server().get(path);
      expect({ path, status: res.status }).toEqual({ path, status: 404 });
      expect(res.text).not.toContain('"name"');
    }
  });

  it('adds a webhook with the keyboard only', async () => {
    dash = await openDashboard(browser, url, null);
    page = dash.page;
    // The focused element: tag, its label (or aria-label, or text) and value.
    const focused = () =>
      page.evaluate<string>(`(() => {
        const el = document.activeElement;
        const label = (el && el.labels && el.labels[0] && el.labels[0].textContent) || (el && el.getAttribute('aria-label')) || (el && el.textContent) || '';
        return (el ? el.tagName : '') + '|' + label + '|' + (el && 'value' in el ? el.value : '');
      })()`);
    const tabTo = async (pattern: RegExp) => {
      for (let i = 0; i < 40; i++) {
        await page.keyboard.press('Tab');
        if (pattern.test(await focused())) return;
      }
      throw new Error(`Tab never reached ${pattern}`);
    };
    await tabTo(/^INPUT\|API key/);
    await page.keyboard.type(apiKey);
    await page.keyboard.press('Enter');
    await statusText(page, /Loaded 0 webhooks/);
    await tabTo(/^INPUT\|Endpoint URL/);
    await page.keyboard.type(`${receiver.url}/keyboard`);
    await tabTo(/^INPUT\|.*appointment\.created/);
    await page.keyboard.press('Space'); // unsubscribe appointment.created
    await tabTo(/^BUTTON\|Save/);
    await page.keyboard.press('Enter');
    await statusText(page, /Saved webhook wh_/);
    // The generated secret is shown once in a modal dialog that has the focus; Escape closes it.
    const dialog = page.getByRole('dialog', { name: 'Your signing secret' });
    await dialog.waitFor();
    const secret = (await dialog.locator('code').textContent()) ?? '';
    expect(await page.evaluate<boolean>(`!!document.activeElement?.closest('dialog')`)).toBe(true);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });

    const hooks = (await server().get('/v1/webhooks').set(auth).expect(200)).body.data as { id: string; url: string; events: string[]; secret_hint: string }[];
    expect(hooks).toHaveLength(1);
    expect(hooks[0]).toMatchObject({ url: `${receiver.url}/keyboard`, events: ['call.started', 'call.ended'] });
    expect(secret.length).toBeGreaterThanOrEqual(16);
    expect(secret.endsWith(hooks[0]!.secret_hint)).toBe(true);
    await webhookRow(page, hooks[0]!.id).waitFor();
    await expectAccessible(page);
  });

  it('lists webhooks with hostile text shown as text; disables, enables, rotates and deletes them', async () => {
    const created = await server()
      .post('/v1/webhooks')
      .set(auth)
      .send({ url: `${receiver.url}/hostile?q=<b>`, events: ['call.started'], description: HOSTILE })
      .expect(201);
    const id = created.body.id as string;
    await page.getByRole('button', { name: 'Load webhooks' }).click();
    const row = webhookRow(page, id);
    await row.waitFor();
    expect(await row.textContent()).toContain(HOSTILE);
    expect(await page.locator('img').count()).toBe(0);

    await row.getByRole('button', { name: 'Disable' }).click();
    await row.filter({ hasText: 'disabled' }).waitFor();
    expect((await server().get(`/v1/webhooks/${id}`).set(auth)).body.status).toBe('disabled');
    await row.getByRole('button', { name: 'Enable' }).click();
    await row.filter({ hasText: 'active' }).waitFor();
    expect((await server().get(`/v1/webhooks/${id}`).set(auth)).body.status).toBe('active');

    await row.getByRole('button', { name: 'Rotate secret' }).click();
    await page.getByRole('dialog', { name: 'Rotate secret' }).getByRole('button', { name: 'Rotate secret' }).click();
    const shown = page.getByRole('dialog', { name: 'Your new signing secret' });
    const newSecret = (await shown.locator('code').textContent()) ?? '';
    await shown.getByRole('button', { name: 'Done' }).click();
    const rotated = (await server().get(`/v1/webhooks/${id}`).set(auth)).body;
    expect(newSecret.endsWith(rotated.secret_hint)).toBe(true);
    expect(rotated.previous_secret_expires_at).not.toBeNull();

    // Delete asks first: Escape keeps the webhook, confirming deletes it.
    await row.getByRole('button', { name: 'Delete' }).click();
    const confirm = page.getByRole('dialog', { name: 'Delete webhook' });
    await confirm.waitFor();
    await page.keyboard.press('Escape');
    await confirm.waitFor({ state: 'detached' });
    expect((await server().get(`/v1/webhooks/${id}`).set(auth)).status).toBe(200);
    await row.getByRole('button', { name: 'Delete' }).click();
    await confirm.getByRole('button', { name: 'Delete' }).click();
    await row.waitFor({ state: 'detached' });
    expect((await server().get(`/v1/webhooks/${id}`).set(auth)).status).toBe(404);
    await statusText(page, /Deleted/);
  });

  it("sends a test event and shows the receiver's status and hostile response as text; the delivery log, its filters, the attempts, the chart and the history", async () => {
    const hooks = (await server().get('/v1/webhooks').set(auth)).body.data as { id: string }[];
    const id = hooks[0]!.id;
    await waitRouted(dispatcherUrl, id);
    await webhookRow(page, id).getByRole('button', { name: 'Open' }).click();
    const detail = page.locator('#detail-section');
    await detail.getByRole('heading', { name: /Webhook/ }).waitFor();

    await detail.getByLabel('Event type', { exact: true }).first().selectOption('call.ended');
    await detail.getByRole('button', { name: 'Send test event' }).click();
    const result = detail.locator('[data-field="test-result"]');
    await result.filter({ hasText: 'HTTP 500' }).waitFor();
    expect(await result.locator('pre').textContent()).toBe(HOSTILE);
    const sent = receiver.requests.filter((r) => r.path === '/keyboard');
    expect(sent).toHaveLength(1);
    expect(JSON.parse(sent[0]!.body.toString('utf8')).event).toBe('call.ended');

    // The log: the test delivery (it is logged by the attempt-log consumer, so wait for it).
    const log = (await waitFor(async () => {
      const res = await server().get(`/v1/webhooks/${id}/deliveries`).set(auth);
      return res.body.data?.length ? res.body.data : null;
    }, { message: 'test delivery in the log' })) as { delivery_id: string; event_id: string }[];
    const deliveryRow = detail.locator(`tr[data-delivery-id="${log[0]!.delivery_id}"]`);
    await waitFor(async () => {
      await detail.getByRole('button', { name: 'Apply filters' }).click();
      return (await deliveryRow.count()) > 0;
    }, { message: 'the delivery row' });
    await detail.getByLabel('Outcome').selectOption('succeeded');
    await detail.getByRole('button', { name: 'Apply filters' }).click();
    await detail.getByText('No deliveries match.').waitFor();
    await detail.getByLabel('Outcome').selectOption('failed');
    await detail.getByLabel('Event id').fill(log[0]!.event_id);
    await detail.getByRole('button', { name: 'Apply filters' }).click();
    await deliveryRow.waitFor();
    expect(await detail.locator('table.deliveries tbody tr').count()).toBe(1);

    await deliveryRow.getByRole('button', { name: /View delivery/ }).click();
    const attempt = detail.locator('article.attempt').first();
    await attempt.waitFor();
    expect(await attempt.locator('[data-field="response-excerpt"]').textContent()).toBe(HOSTILE);
    const logged = (await server().get(`/v1/webhooks/${id}/deliveries/${log[0]!.delivery_id}`).set(auth)).body as { attempts: { request_headers: Record<string, string> }[] };
    const signature = attempt.locator('table.headers tr').filter({ has: page.getByRole('rowheader', { name: 'X-ODIS-Signature', exact: true }) });
    expect(await signature.locator('td').textContent()).toBe(logged.attempts[0]!.request_headers['X-ODIS-Signature']);
    const body = await detail.locator('[data-field="delivery-body"]').textContent();
    expect(JSON.parse(body ?? '')).toMatchObject({ event: 'call.ended' });
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.evaluate<unknown>('window.__xss')).toBeUndefined();

    // The chart's table: the current hour has the failed test attempt, as the stats say.
    const stats = (await server().get(`/v1/webhooks/${id}/stats?window=24h`).set(auth)).body as { buckets: { hour: string; failed: number }[] };
    const last = stats.buckets[stats.buckets.length - 1]!;
    expect(last.failed).toBe(1);
    expect(await detail.locator('svg.chart[role="img"] rect').count()).toBe(48);
    const hourRow = detail.locator('table.stats-table tbody tr').last();
    expect(await hourRow.locator('th').textContent()).toBe(`${last.hour.slice(0, 13).replace('T', ' ')}:00`);
    expect(await hourRow.locator('td').nth(1).textContent()).toBe('1');

    // The change history, as the API has it.
    const history = (await server().get(`/v1/webhooks/${id}/events`).set(auth)).body.data as { type: string }[];
    const rows = detail.locator('table.history tbody tr');
    expect(await rows.count()).toBe(history.length);
    expect(await rows.first().textContent()).toContain(history[0]!.type);

    await expectAccessible(page);
    expect(dash.problems).toEqual([]);
    expect(dash.requests.filter((r) => r.includes(apiKey))).toEqual([]);
  });

  it('delivery settings: adds custom headers (keyboard) and a rate limit, shows them, sends them, shows the next attempt; an edit to a reserved header shows the error beside its row; removing them PATCHes {}', async () => {
    const account = await createAccount(`Dashboard Settings ${tag}`);
    const authB = { Authorization: `Bearer ${account.apiKey}` };
    otherAuths.push(authB);
    const settings = await openDashboard(browser, url, account.apiKey);
    const p = settings.page;
    const focused = () =>
      p.evaluate<string>(`(() => {
        const el = document.activeElement;
        const label = (el && el.labels && el.labels[0] && el.labels[0].textContent) || (el && el.getAttribute('aria-label')) || (el && el.textContent) || '';
        return (el ? el.tagName : '') + '|' + label;
      })()`);
    const add = p.locator('#add-section');
    await add.getByLabel('Endpoint URL').fill(`${receiver.url}/settings`);

    // Keyboard only: Tab to "Add header", Enter adds a row and focuses its name; Tab to the value, Remove, Add header.
    await add.getByLabel('Description (optional)').focus();
    for (let i = 0; i < 5 && !/^BUTTON\|Add header/.test(await focused()); i++) await p.keyboard.press('Tab');
    expect(await focused()).toBe('BUTTON|Add header');
    await p.keyboard.press('Enter');
    expect(await focused()).toBe('INPUT|Name of header 1');
    await p.keyboard.type('Authorization');
    await p.keyboard.press('Tab');
    expect(await focused()).toBe('INPUT|Value of header 1');
    await p.keyboard.type('Bearer dash-token');
    await p.keyboard.press('Tab');
    expect(await focused()).toBe('BUTTON|Remove header 1');
    await p.keyboard.press('Tab');
    await p.keyboard.press('Space');
    expect(await focused()).toBe('INPUT|Name of header 2');
    await p.keyboard.type('X-Clinic-Id');
    await p.keyboard.press('Tab');
    await p.keyboard.type('happy-paws');
    // A third row, removed again with the keyboard: the focus goes back to row 2.
    await p.keyboard.press('Tab');
    await p.keyboard.press('Tab');
    await p.keyboard.press('Enter');
    expect(await focused()).toBe('INPUT|Name of header 3');
    await p.keyboard.type('X-Oops');
    await p.keyboard.press('Tab');
    await p.keyboard.press('Tab');
    expect(await focused()).toBe('BUTTON|Remove header 3');
    await p.keyboard.press('Enter');
    expect(await focused()).toBe('INPUT|Name of header 2');
    expect(await add.locator('[data-header-row]').count()).toBe(2);
    await add.getByLabel('Rate limit, deliveries per second (optional)').fill('5');
    await add.getByRole('button', { name: 'Save' }).click();
    await statusText(p, /Saved webhook wh_/);
    await p.getByRole('dialog', { name: 'Your signing secret' }).getByRole('button', { name: 'Done' }).click();

    const [created] = (await server().get('/v1/webhooks').set(authB).expect(200)).body.data as { id: string; version: number; headers: Record<string, string>; rate_limit_per_second: number | null }[];
    expect(created).toMatchObject({ headers: { Authorization: 'Bearer dash-token', 'X-Clinic-Id': 'happy-paws' }, rate_limit_per_second: 5 });
    const id = created!.id;
    const row = webhookRow(p, id);
    const controls = await row.locator('[data-field="delivery-controls"]').textContent();
    expect(controls).toContain('Authorization: Bearer dash-token');
    expect(controls).toContain('X-Clinic-Id: happy-paws');
    expect(controls).toContain('at most 5 per second');

    // A live event to the failing receiver: the attempt sent the custom headers; the delivery is pending with its next attempt.
    await waitRouted(dispatcherUrl, id, { version: created!.version });
    const eventId = newId('evt');
    const sample = SEED_EXAMPLES['call.started'];
    await kafka.producer.sendOne(
      TOPICS.callStarted,
      ValidatedEventCodec.encode({ v: 1, event_id: eventId, account_id: account.accountId, event: 'call.started', timestamp: sample.timestamp, data: sample.data, received_at: new Date().toISOString() }),
    );
    const logged = (await waitFor(async () => (await server().get(`/v1/webhooks/${id}/deliveries?event_id=${eventId}`).set(authB)).body.data?.[0] ?? null, {
      timeoutMs: 20_000,
      message: 'the live delivery in the log',
    })) as { delivery_id: string; next_attempt_at: string | null };
    expect(logged.next_attempt_at).not.toBeNull();
    const sent = receiver.requests.find((r) => r.headers['x-odis-event-id'] === eventId);
    expect(sent?.headers['x-clinic-id']).toBe('happy-paws');

    await row.getByRole('button', { name: 'Open' }).click();
    const detail = p.locator('#detail-section');
    const settingsView = detail.locator('[data-field="delivery-settings"]');
    await settingsView.locator('[data-field="webhook-headers"] li').first().waitFor();
    const shownHeaders = await settingsView.locator('[data-field="webhook-headers"] li').allTextContents();
    expect(shownHeaders.sort()).toEqual(['Authorization: Bearer dash-token', 'X-Clinic-Id: happy-paws']);
    expect(await settingsView.locator('[data-field="webhook-rate-limit"]').textContent()).toBe('at most 5 per second');
    const deliveryRow = detail.locator(`tr[data-delivery-id="${logged.delivery_id}"]`);
    const shownTime = logged.next_attempt_at!.replace('T', ' ').replace(/\.\d+Z$|Z$/, '');
    expect(await deliveryRow.locator('[data-field="next-attempt"]').textContent()).toBe(`next attempt at ${shownTime} UTC`);
    await deliveryRow.getByRole('button', { name: /View delivery/ }).click();
    await detail.locator('[data-field="delivery-status"]').filter({ hasText: `pending — next attempt at ${shownTime} UTC` }).waitFor();
    const attempt = detail.locator('article.attempt').last();
    expect(await attempt.locator('[data-field="attempt-next"]').textContent()).toBe(`next attempt at ${shownTime} UTC`);
    const headerRow = (name: string) => attempt.locator('table.headers tr').filter({ has: p.getByRole('rowheader', { name, exact: true }) }).locator('td');
    expect(await headerRow('X-Clinic-Id').textContent()).toBe('happy-paws');
    expect(await headerRow('Authorization').textContent()).toBe('Bearer dash-token');

    // Edit: a reserved name is refused; the API's message is shown beside that row and nothing changes.
    await settingsView.getByRole('button', { name: 'Edit delivery settings' }).click();
    const form = settingsView.getByRole('form', { name: /Edit delivery settings of/ });
    expect(await focused()).toBe('INPUT|Endpoint URL');
    // The rows come in the API's order (Postgres jsonb orders keys): find X-Clinic-Id's row.
    const n = Object.keys(created!.headers).indexOf('X-Clinic-Id') + 1;
    const other = 3 - n;
    await form.getByLabel(`Name of header ${n}`).fill('X-ODIS-Foo');
    await form.getByLabel('Rate limit, deliveries per second (optional)').fill('7');
    await form.getByRole('button', { name: 'Save changes' }).click();
    const rowError = form.locator(`[data-header-row="${n}"] .field-error`);
    await rowError.filter({ hasText: 'headers.X-ODIS-Foo' }).waitFor();
    expect(await rowError.textContent()).toMatch(/^headers\.X-ODIS-Foo: X-ODIS-Foo is reserved/);
    expect(await form.getByLabel(`Name of header ${n}`).getAttribute('aria-invalid')).toBe('true');
    expect(await form.getByLabel(`Name of header ${n}`).getAttribute('aria-describedby')).toBe(await rowError.getAttribute('id'));
    expect(await form.locator(`[data-header-row="${other}"] .field-error`).isHidden()).toBe(true);
    expect(await focused()).toBe(`INPUT|Name of header ${n}`);
    await statusText(p, /Error: headers\.X-ODIS-Foo/);
    const unchanged = (await server().get(`/v1/webhooks/${id}`).set(authB)).body;
    expect(unchanged).toMatchObject({ version: created!.version, headers: created!.headers, rate_limit_per_second: 5 });
    await expectAccessible(p); // the form open with the error shown

    // Remove both headers and the rate limit: PATCH {"headers": {}, "rate_limit_per_second": null}.
    await form.getByRole('button', { name: 'Remove header 2' }).click();
    await form.getByRole('button', { name: 'Remove header 1' }).click();
    expect(await focused()).toBe('BUTTON|Add header');
    await form.getByLabel('Rate limit, deliveries per second (optional)').fill('');
    await form.getByRole('button', { name: 'Save changes' }).click();
    await statusText(p, /Saved the delivery settings/);
    const cleared = (await server().get(`/v1/webhooks/${id}`).set(authB)).body;
    expect(cleared).toMatchObject({ headers: {}, rate_limit_per_second: null, url: `${receiver.url}/settings`, version: created!.version + 1 });
    await settingsView.locator('[data-field="webhook-headers"]').filter({ hasText: 'none' }).waitFor();
    expect(await settingsView.locator('[data-field="webhook-rate-limit"]').textContent()).toBe('no limit');
    expect(await focused()).toBe('BUTTON|Edit delivery settings');
    expect(await row.locator('[data-field="delivery-controls"]').textContent()).toBe('No custom headers · Rate limit: no limit');

    // The only failed request of the page is the refused PATCH.
    expect(settings.problems).toEqual([expect.stringMatching(new RegExp(`^400 PATCH .*/v1/webhooks/${id}$`))]);
    await settings.context.close();
  }, 90_000);

  it('lists more than 100 webhooks with "Load more webhooks"', async () => {
    const account = await createAccount(`Dashboard Many ${tag}`);
    const authC = { Authorization: `Bearer ${account.apiKey}` };
    otherAuths.push(authC);
    const ids: string[] = [];
    for (let i = 0; i < 101; i++) {
      const res = await server().post('/v1/webhooks').set(authC).send({ url: `${receiver.url}/many/${i}`, events: ['appointment.created'] }).expect(201);
      ids.push(res.body.id as string);
    }
    const many = await openDashboard(browser, url, account.apiKey);
    const p = many.page;
    await statusText(p, /Loaded 100 webhooks \(more to load\)/);
    const rows = p.locator('table.webhooks tbody tr');
    expect(await rows.count()).toBe(100);
    const more = p.getByRole('button', { name: 'Load more webhooks' });
    await more.click();
    await statusText(p, /Loaded 101 webhooks\./);
    expect(await rows.count()).toBe(101);
    expect((await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-webhook-id')))).sort()).toEqual([...ids].sort());
    expect(await more.isHidden()).toBe(true);
    // After a change the list keeps all 101 (both pages read again).
    await webhookRow(p, ids[0]!).getByRole('button', { name: 'Disable' }).click();
    await statusText(p, /Disabled/);
    await webhookRow(p, ids[0]!).filter({ hasText: 'disabled' }).waitFor();
    expect(await rows.count()).toBe(101);
    expect(many.problems).toEqual([]);
    await many.context.close();
  }, 90_000);
});

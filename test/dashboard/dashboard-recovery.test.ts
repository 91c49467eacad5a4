/**
 * The end-to-end story through the dashboard (issue 11 item 8, "Done when"), on the real stack:
 * subscription-api (with its delivery-log consumer and recovery runner), dispatcher, retry-scheduler
 * and notifier in-process with a fast retry schedule (0, 1 s, 1 s), real Kafka, Postgres and SMTP,
 * a real receiver, and the dashboard in headless Chromium.
 *
 * The receiver takes one event, then fails until the webhook is disabled; two more events come while
 * it is disabled; the receiver recovers. In the dashboard, "Re-enable and recover since the
 * disable" shows a dry-run count of exactly the missed events, then the receiver gets each of them
 * once with its original X-ODIS-Event-Id. Redeliver (from the filtered delivery log) sends the
 * identical body bytes; Send test event shows the receiver's own status code.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import type { Browser } from 'playwright-core';
import { simpleParser } from 'mailparser';
import request from 'supertest';
import { RETRY_TIER_ATTEMPTS, retryTierTopic, TOPICS, type EventType } from '@odis/contracts';
import { startTestReceiver, type ReceivedRequest, type TestReceiver } from '@odis/receiver-kit';
import { startNotifier } from '../../apps/notifier/src/notifier.app.js';
import { loadNotifierConfig } from '../../apps/notifier/src/config/notifier.config.js';
import { startRetryScheduler } from '../../apps/retry-scheduler/src/retry-scheduler.app.js';
import { loadRetrySchedulerConfig } from '../../apps/retry-scheduler/src/config/retry-scheduler.config.js';
import { startSmtp, type SmtpHandle } from '../../scripts/local-stack/smtp.js';
import { createAccount } from '../api/subscription-api.harness.js';
import { appEnv, baseUrl, suffix, TestKafka, waitReady, waitRouted } from '../dispatch/support.js';
import { startApiAndDispatcher } from '../e2e/real-stack.js';
import { connection, seedGroupAtEnd } from '../retry/retry-test-kit.js';
import { requireEnv, waitFor } from '../support/infra.js';
import { expectAccessible, launchChromium, openDashboard, statusText, type DashboardPage } from './browser.js';

describe('dashboard: disabled after failures, re-enabled and recovered in Chromium (end to end)', () => {
  const tag = suffix();
  const kafka = new TestKafka();
  const mailDir = mkdtempSync(join(tmpdir(), 'e2e-dash-mail-'));
  const apps: INestApplication[] = [];
  let api: INestApplication;
  let dispatcherUrl: string;
  let smtp: SmtpHandle;
  let receiver: TestReceiver;
  let browser: Browser;
  let dash: DashboardPage | undefined;
  let accountId: string;
  let auth: Record<string, string>;
  let apiKey: string;
  let webhookId: string;
  let down = false;
  const server = () => request(api.getHttpServer());
  const eventIdOf = (r: ReceivedRequest) => String(r.headers['x-odis-event-id']);

  beforeAll(async () => {
    const env = appEnv(tag, { LOG_LEVEL: 'error' }); // WEBHOOK_RETRY_SCHEDULE 0,1s,1s: three attempts, then disabled
    let dispatcher: INestApplication;
    ({ api, dispatcher, dispatcherUrl } = await startApiAndDispatcher(tag));
    apps.push(dispatcher);
    const conn = connection();
    const schedulerGroup = `it-dash-scheduler-${tag}`;
    const notifierGroup = `it-dash-notifier-${tag}`;
    await seedGroupAtEnd(conn, schedulerGroup, RETRY_TIER_ATTEMPTS.map((a) => retryTierTopic(a)));
    await seedGroupAtEnd(conn, notifierGroup, [TOPICS.exhausted]);
    smtp = await startSmtp({ mailDir, logFile: join(mailDir, '..', `smtp-dash-${tag}.log`) });
    apps.push(await startRetryScheduler(loadRetrySchedulerConfig({ ...env, RETRY_SCHEDULER_GROUP: schedulerGroup })));
    apps.push(
      await startNotifier(
        loadNotifierConfig({ ...env, DATABASE_URL: requireEnv('DATABASE_URL'), SMTP_URL: smtp.url, NOTIFIER_GROUP: notifierGroup, NOTIFIER_POLL_MS: '500', NOTIFIER_RETRY_INITIAL_MS: '300' }),
      ),
    );
    await Promise.all(apps.map((a) => waitReady(baseUrl(a), 90_000)));

    // Down: 500. Up: 200, and 202 for a test event (so the dashboard must show the receiver's own status).
    receiver = await startTestReceiver({
      respond: (r) => (down ? { status: 500, body: 'down for maintenance' } : { status: eventIdOf(r).startsWith('evt_test_') ? 202 : 200 }),
    });
    ({ accountId, apiKey } = await createAccount(`Dashboard E2E ${tag}`, `owner-dash-${tag}@clinic.example`));
    auth = { Authorization: `Bearer ${apiKey}` };
    const created = await server()
      .post('/v1/webhooks')
      .set(auth)
      .send({ url: `${receiver.url}/odis`, events: ['call.started', 'call.ended'] })
      .expect(201);
    webhookId = created.body.id;
    await waitRouted(dispatcherUrl, webhookId);
    browser = await launchChromium();
  }, 180_000);

  afterAll(async () => {
    // Later test files' dispatchers read the whole changelog: leave no live webhook behind.
    if (api && webhookId) await server().delete(`/v1/webhooks/${webhookId}`).set(auth);
    await dash?.context.close();
    await browser?.close();
    for (const app of apps.reverse()) await app.close().catch(() => undefined);
    await api?.close();
    await Promise.allSettled([receiver?.close(), smtp?.stop()]);
    await kafka.close();
  }, 90_000);

  /** A validated event of this account on its per-type topic (what event-ingest produces), by id. */
  const produce = (type: EventType): Promise<string> => kafka.produceSample(accountId, type);

  it('fails until disabled; the dashboard re-enables it and recovers exactly the missed events, redelivers identical bytes, and shows a test event status', async () => {
    // 1. One event is delivered (the last success before the outage), and logged.
    const delivered = await produce('call.started');
    await waitFor(() => receiver.requests.some((r) => eventIdOf(r) === delivered), { timeoutMs: 20_000, message: 'first event delivered' });
    await waitFor(async () => (await server().get(`/v1/webhooks/${webhookId}/deliveries?outcome=succeeded`).set(auth)).body.data?.length === 1, { message: 'success logged' });

    // 2. The receiver fails: three events fail until the webhook is disabled.
    down = true;
    const missed = [await produce('call.started'), await produce('call.ended'), await produce('call.started')];
    const disabled = await waitFor(async () => {
      const res = await server().get(`/v1/webhooks/${webhookId}`).set(auth);
      return res.body.status === 'disabled' ? res.body : null;
    }, { timeoutMs: 30_000, intervalMs: 200, message: 'webhook disabled' });
    expect(disabled.disabled_reason).toContain('failed delivery attempts');
    // 3. Two more while disabled (never attempted), then the receiver recovers.
    await waitRouted(dispatcherUrl, webhookId, { status: 'disabled' });
    missed.push(await produce('call.ended'), await produce('call.started'));
    await produce('appointment.created'); // not a type of this webhook: never counted
    // Every failed delivery is settled (failed or skipped, no retry pending) before the receiver recovers.
    await waitFor(async () => {
      for (const eventId of missed.slice(0, 3)) {
        const log = await server().get(`/v1/webhooks/${webhookId}/deliveries?event_id=${eventId}`).set(auth);
        const deliveryId = log.body.data?.[0]?.delivery_id;
        if (!deliveryId) return false;
        const status = (await server().get(`/v1/webhooks/${webhookId}/deliveries/${deliveryId}`).set(auth)).body.status;
        if (status !== 'failed' && status !== 'skipped') return false;
      }
      return true;
    }, { timeoutMs: 20_000, intervalMs: 200, message: 'failed deliveries settled' });
    down = false;

    // 4. The dashboard: open the webhook, "Re-enable and recover since the disable".
    dash = await openDashboard(browser, baseUrl(api), apiKey, `#${webhookId}`); // the link opens the webhook
    const page = dash.page;
    const detail = page.locator('#detail-section');
    await detail.locator('[data-field="webhook-status"]').filter({ hasText: 'disabled' }).waitFor();
    await detail.getByRole('button', { name: 'Re-enable and recover since the disable' }).click();
    const dialog = page.getByRole('dialog', { name: 'Re-enable and recover since the disable' });
    await dialog.getByRole('button', { name: 'Re-enable and count missed events' }).click();
    const count = dialog.locator('[data-field="dry-run-count"]');
    await count.waitFor();
    expect(await count.getAttribute('data-count')).toBe(String(missed.length));
    expect(await count.textContent()).toContain(`${missed.length} missed events`);
    expect((await server().get(`/v1/webhooks/${webhookId}`).set(auth)).body.status).toBe('active');
    await expectAccessible(page); // with the modal dialog open
    const before = receiver.requests.length;
    expect(receiver.requests.slice(before)).toEqual([]); // the dry run sent nothing

    // 5. Recover: each missed event arrives once, with its original event id; nothing else.
    await dialog.getByRole('button', { name: `Recover ${missed.length} events` }).click();
    await dialog.locator('[data-field="recovery-progress"]').filter({ hasText: 'done' }).waitFor({ timeout: 30_000 });
    expect(await dialog.locator('[data-field="recovery-progress"]').textContent()).toContain(`${missed.length} of ${missed.length} delivered, 0 failed`);
    const recovered = receiver.requests.slice(before);
    expect(recovered.map(eventIdOf).sort()).toEqual([...missed].sort());
    for (const r of recovered) expect(r.headers['x-odis-attempt']).toBe('1');
    await dialog.getByRole('button', { name: 'Close' }).click();
    await dialog.waitFor({ state: 'detached' });

    // The disable email's recover call (since the exhausted event's ingest time) counts the same missed events.
    // (this notifier also sees other accounts' exhausted deliveries: pick this webhook's email)
    const mail = await waitFor(async () => {
      const mails = await Promise.all(readdirSync(mailDir).filter((f) => f.endsWith('.eml')).map((f) => simpleParser(readFileSync(join(mailDir, f)))));
      const mine = mails.filter((m) => (m.text ?? '').includes(webhookId));
      return mine.length === 1 ? mine[0]! : null;
    }, { timeoutMs: 20_000, message: 'the disable email' });
    const emailSince = /"since":"([^"]+)"/.exec(mail.text ?? '')?.[1];
    expect(emailSince).toBeDefined();
    const emailDryRun = await server().post(`/v1/webhooks/${webhookId}/recover`).set(auth).send({ since: emailSince, dry_run: true }).expect(202);
    expect(emailDryRun.body.events).toBe(missed.length);

    // 6. Redeliver the first event from the delivery log (filtered by its event id): identical bytes.
    const original = receiver.requests.find((r) => eventIdOf(r) === delivered)!;
    await detail.locator('[data-field="webhook-status"]').filter({ hasText: 'active' }).waitFor();
    await detail.getByLabel('Event id').fill(delivered);
    await detail.getByRole('button', { name: 'Apply filters' }).click();
    const row = detail.locator(`tr[data-delivery-id="${String(original.headers['x-odis-delivery-id'])}"]`);
    await row.waitFor();
    expect(await detail.locator('table.deliveries tbody tr').count()).toBe(1);
    await row.getByRole('button', { name: /View delivery/ }).click();
    const mark = receiver.requests.length;
    await detail.getByRole('button', { name: 'Redeliver' }).click();
    await statusText(page, /Redelivery queued/);
    const again = await waitFor(() => receiver.requests.slice(mark).find((r) => eventIdOf(r) === delivered), { timeoutMs: 20_000, message: 'the redelivery' });
    expect(again.body.equals(original.body)).toBe(true);
    expect(again.headers['x-odis-delivery-id']).not.toBe(original.headers['x-odis-delivery-id']);

    // 7. Send test event: the dashboard shows the receiver's status (202 for test events here).
    await detail.getByRole('button', { name: 'Send test event' }).click();
    const result = detail.locator('[data-field="test-result"]');
    await result.filter({ hasText: 'HTTP 202' }).waitFor();
    const test = receiver.requests.find((r) => eventIdOf(r).startsWith('evt_test_'));
    expect(test).toBeDefined();
    expect(await result.textContent()).toContain(eventIdOf(test!));

    // Each missed event still arrived exactly once; the page logged no error.
    for (const id of missed) expect(receiver.requests.slice(before).filter((r) => eventIdOf(r) === id)).toHaveLength(1);
    expect(dash.problems).toEqual([]);
  }, 90_000);
});

/**
 * End to end on the real stack with WEBHOOK_RETRY_SCHEDULE=0,1s,2s,3s,4s: subscription-api,
 * event-ingest, dispatcher, retry-scheduler and notifier in-process (their Nest modules, env as in
 * production), real Kafka, Postgres and an SMTP server process.
 *
 * An endpoint answering 500 receives exactly 5 attempts of one delivery (same delivery id, attempt
 * numbers 1-5) with gaps of 1, 2, 3 and 4 s (each within 500 ms); the webhook then reads
 * `disabled`; the SMTP server received exactly one email naming it; a later event is not
 * delivered to it; after `PATCH {"status":"active"}` the next event is.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { simpleParser, type ParsedMail } from 'mailparser';
import request from 'supertest';
import { EVENT_TOPICS, SEED_EXAMPLES, TOPICS } from '@odis/contracts';
import { runMigrations } from '@odis/persistence';
import { startTestReceiver, verifyOdisSignature, type ReceivedRequest, type TestReceiver } from '@odis/receiver-kit';
import { startDispatcher } from '../../apps/dispatcher/src/dispatcher.app.js';
import { loadDispatcherConfig } from '../../apps/dispatcher/src/config/dispatcher.config.js';
import { startEventIngest } from '../../apps/event-ingest/src/event-ingest.app.js';
import { loadIngestConfig } from '../../apps/event-ingest/src/config/event-ingest.config.js';
import { startNotifier } from '../../apps/notifier/src/notifier.app.js';
import { loadNotifierConfig } from '../../apps/notifier/src/config/notifier.config.js';
import { startRetryScheduler } from '../../apps/retry-scheduler/src/retry-scheduler.app.js';
import { loadRetrySchedulerConfig } from '../../apps/retry-scheduler/src/config/retry-scheduler.config.js';
import { RETRY_TIER_ATTEMPTS, retryTierTopic } from '@odis/contracts';
import { startSmtp, type SmtpHandle } from '../../scripts/local-stack/smtp.js';
import { createAccount, startSubscriptionApi } from '../api/subscription-api.harness.js';
import { appEnv, baseUrl, suffix, TEST_ENCRYPTION_KEY, TestKafka, waitReady, waitRouted } from '../dispatch/support.js';
import { connection, ensurePlatformTopics, seedGroupAtEnd } from '../retry/retry-test-kit.js';
import { requireEnv, waitFor } from '../support/infra.js';

const SCHEDULE = '0,1s,2s,3s,4s';
const TOLERANCE_MS = 500;

describe('retries, disable and re-enable (end to end)', () => {
  const tag = suffix();
  const kafka = new TestKafka();
  const mailDir = mkdtempSync(join(tmpdir(), 'e2e-retry-mail-'));
  const apps: INestApplication[] = [];
  let api: INestApplication;
  let dispatcherUrl: string;
  let smtp: SmtpHandle;
  let failing: TestReceiver;
  let healthy: TestReceiver;
  let accountId: string;
  let apiKey: string;
  let webhookId: string;
  let controlId: string;
  const secret = `whsec_e2e_${suffix()}`;
  let endpointDown = true;

  const auth = () => ({ Authorization: `Bearer ${apiKey}` });
  // Mail about this test's webhook (a notifier sends whatever the shared notification log owes).
  const mails = async (): Promise<ParsedMail[]> =>
    (await Promise.all(readdirSync(mailDir).filter((f) => f.endsWith('.eml')).map((f) => simpleParser(readFileSync(join(mailDir, f)))))).filter((m) =>
      String(m.headers.get('x-odis-notification-key') ?? '').startsWith(`webhook-disabled:${webhookId}:`),
    );
  const callStarted = (n: number) => ({ ...SEED_EXAMPLES['call.started'], account_id: accountId, data: { ...SEED_EXAMPLES['call.started'].data, call_id: `call_${tag}_${n}` } });
  const callIdOf = (r: ReceivedRequest) => (JSON.parse(r.body.toString('utf8')) as { data: { call_id: string } }).data.call_id;

  beforeAll(async () => {
    const dbUrl = requireEnv('DATABASE_URL');
    await runMigrations(dbUrl).catch(async () => runMigrations(dbUrl));
    const conn = connection();
    await ensurePlatformTopics(conn);
    const env = appEnv(tag, { WEBHOOK_RETRY_SCHEDULE: SCHEDULE, KAFKA_SESSION_TIMEOUT_MS: '6000', LOG_LEVEL: 'error' });
    // Every group of this test starts at the current end of its topics: nothing of earlier tests is replayed.
    await seedGroupAtEnd(conn, env.INGEST_GROUP!, [TOPICS.telephonyRaw]);
    await seedGroupAtEnd(conn, env.DISPATCH_FANOUT_GROUP!, Object.values(EVENT_TOPICS));
    await seedGroupAtEnd(conn, env.DISPATCH_DELIVERY_GROUP!, [TOPICS.deliveries]);
    const schedulerGroup = `it-e2e-scheduler-${tag}`;
    const notifierGroup = `it-e2e-notifier-${tag}`;
    await seedGroupAtEnd(conn, schedulerGroup, RETRY_TIER_ATTEMPTS.map((a) => retryTierTopic(a)));
    await seedGroupAtEnd(conn, notifierGroup, [TOPICS.exhausted]);
    smtp = await startSmtp({ mailDir, logFile: join(mailDir, '..', `smtp-${tag}.log`) });

    api = await startSubscriptionApi({ SECRET_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY, LOG_LEVEL: 'error' });
    const dispatcher = await startDispatcher(loadDispatcherConfig(env));
    apps.push(dispatcher, await startEventIngest(loadIngestConfig(env)));
    apps.push(await startRetryScheduler(loadRetrySchedulerConfig({ ...env, RETRY_SCHEDULER_GROUP: schedulerGroup })));
    apps.push(
      await startNotifier(
        loadNotifierConfig({ ...env, DATABASE_URL: dbUrl, SMTP_URL: smtp.url, NOTIFIER_GROUP: notifierGroup, NOTIFIER_POLL_MS: '500', NOTIFIER_RETRY_INITIAL_MS: '300' }),
      ),
    );
    dispatcherUrl = baseUrl(dispatcher);
    await Promise.all(apps.map((a) => waitReady(baseUrl(a), 90_000)));

    failing = await startTestReceiver({ respond: () => (endpointDown ? { status: 500, body: 'down for maintenance' } : { status: 200 }) });
    healthy = await startTestReceiver();
    ({ accountId, apiKey } = await createAccount(`E2E Clinic ${tag}`, `owner-${tag}@clinic.example`));
    const created = await request(api.getHttpServer())
      .post('/v1/webhooks')
      .set(auth())
      .send({ url: `${failing.url}/webhooks/odis`, events: ['call.started'], secret })
      .expect(201);
    webhookId = created.body.id;
    const control = await request(api.getHttpServer()).post('/v1/webhooks').set(auth()).send({ url: `${healthy.url}/control`, events: ['call.started'] }).expect(201);
    controlId = control.body.id;
    await Promise.all([waitRouted(dispatcherUrl, webhookId), waitRouted(dispatcherUrl, controlId)]);
  }, 180_000);

  afterAll(async () => {
    // Later test files' dispatchers read the whole changelog: leave no live webhook behind.
    if (api && apiKey) {
      for (const id of [webhookId, controlId].filter(Boolean)) await request(api.getHttpServer()).delete(`/v1/webhooks/${id}`).set(auth());
      await new Promise((r) => setTimeout(r, 500)); // the outbox relay publishes the tombstones
    }
    for (const app of apps.reverse()) await app.close().catch(() => undefined);
    await api?.close();
    await Promise.allSettled([failing?.close(), healthy?.close(), smtp?.stop()]);
    await kafka.close();
  }, 90_000);

  it('5 attempts 1, 2, 3, 4 s apart → disabled → one email → nothing delivered → re-enabled → delivered', async () => {
    // 1. One event; the endpoint answers 500 every time.
    await kafka.produceRaw(accountId, callStarted(1));
    await waitFor(() => failing.requests.length >= 5, { timeoutMs: 40_000, intervalMs: 100, message: 'five attempts' });
    const attempts = failing.requests.slice(0, 5);
    expect(attempts.map((r) => r.headers['x-odis-attempt'])).toEqual(['1', '2', '3', '4', '5']);
    expect(new Set(attempts.map((r) => r.headers['x-odis-delivery-id'])).size).toBe(1);
    expect(new Set(attempts.map((r) => r.body.toString('utf8'))).size).toBe(1);
    for (const r of attempts) expect(verifyOdisSignature(r.body, String(r.headers['x-odis-signature']), secret)).toBe(true);
    const gaps = attempts.slice(1).map((r, i) => r.receivedAt - attempts[i]!.receivedAt);
    [1000, 2000, 3000, 4000].forEach((expected, i) => expect(Math.abs(gaps[i]! - expected)).toBeLessThanOrEqual(TOLERANCE_MS));

    // 2. The webhook reads disabled (through the API), with the reason.
    const disabled = await waitFor(async () => {
      const res = await request(api.getHttpServer()).get(`/v1/webhooks/${webhookId}`).set(auth());
      return res.body.status === 'disabled' ? res.body : null;
    }, { timeoutMs: 20_000, intervalMs: 200, message: 'webhook disabled' });
    expect(JSON.stringify(disabled)).toContain('5 failed delivery attempts; last error: HTTP 500');

    // 3. Exactly one email, naming the webhook.
    const [mail] = await waitFor(async () => ((await mails()).length ? mails() : null), { timeoutMs: 30_000, message: 'the email' });
    expect(mail!.to).toMatchObject({ text: `owner-${tag}@clinic.example` });
    expect(mail!.subject).toContain(`${failing.url}/webhooks/odis`);
    expect(mail!.text).toContain(webhookId);
    expect(mail!.text).toContain(`curl -X PATCH https://api.odis.ai/v1/webhooks/${webhookId}`);
    const attemptLines = mail!.text!.split('\n').filter((l) => /^\s+\d\. \d{4}-\d\d-\d\dT[\d:.]+Z\s+HTTP 500/.test(l));
    expect(attemptLines).toHaveLength(5); // the five attempts, each with its time and result

    // 4. A later event is not delivered to it (the control webhook of the same account gets it).
    await waitRouted(dispatcherUrl, webhookId, { status: 'disabled' });
    await kafka.produceRaw(accountId, callStarted(2));
    await waitFor(() => healthy.requests.some((r) => callIdOf(r) === `call_${tag}_2`), { timeoutMs: 20_000, message: 'control got event 2' });
    await new Promise((r) => setTimeout(r, 1_500));
    expect(failing.requests).toHaveLength(5);
    expect(await mails()).toHaveLength(1);

    // 5. Re-enable with the call from the email; the next event is delivered.
    endpointDown = false;
    const enabled = await request(api.getHttpServer()).patch(`/v1/webhooks/${webhookId}`).set(auth()).send({ status: 'active' }).expect(200);
    expect(enabled.body.status).toBe('active');
    await waitRouted(dispatcherUrl, webhookId, { status: 'active' });
    await kafka.produceRaw(accountId, callStarted(3));
    await waitFor(() => failing.requests.some((r) => callIdOf(r) === `call_${tag}_3`), { timeoutMs: 20_000, message: 'event 3 delivered after re-enable' });
    const third = failing.requests.find((r) => callIdOf(r) === `call_${tag}_3`)!;
    expect(third.headers['x-odis-attempt']).toBe('1');
    expect(third.headers['x-odis-delivery-id']).not.toBe(attempts[0]!.headers['x-odis-delivery-id']);
    expect(failing.requests.filter((r) => callIdOf(r) === `call_${tag}_2`)).toHaveLength(0);
    expect(await mails()).toHaveLength(1);
  }, 120_000);
});

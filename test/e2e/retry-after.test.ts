/**
 * Retry-After (issue 12 item 2, decision 0013) on the real stack with WEBHOOK_RETRY_SCHEDULE=0,1s,2s,3s,4s:
 * subscription-api (with its attempt-log consumer), dispatcher and retry-scheduler in-process, real
 * Kafka and Postgres, a real HTTP receiver. The receiver answers the first attempt of each event
 * with 429 `Retry-After: 3`, 503 with an HTTP-date 4 s ahead, or 429 `Retry-After: 6` (longer than
 * the schedule's longest tier: held, released early, parked again), then 200. The second attempt
 * comes no earlier than asked (the schedule alone would send it after 1 s), and the delivery log's
 * `next_attempt_at` of the first attempt says when.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import type { INestApplication } from '@nestjs/common';
import { EVENT_TOPICS, newId, RETRY_TIER_ATTEMPTS, retryTierTopic, SEED_EXAMPLES, TOPICS, ValidatedEventCodec } from '@odis/contracts';
import { startTestReceiver, type ReceivedRequest, type TestReceiver, type TestReply } from '@odis/receiver-kit';
import { startDispatcher } from '../../apps/dispatcher/src/dispatcher.app.js';
import { loadDispatcherConfig } from '../../apps/dispatcher/src/config/dispatcher.config.js';
import { startRetryScheduler } from '../../apps/retry-scheduler/src/retry-scheduler.app.js';
import { loadRetrySchedulerConfig } from '../../apps/retry-scheduler/src/config/retry-scheduler.config.js';
import { createAccount, startSubscriptionApi } from '../api/subscription-api.harness.js';
import { appEnv, baseUrl, ensurePlatformTopics, suffix, TestKafka, waitReady, waitRouted } from '../dispatch/support.js';
import { connection, seedGroupAtEnd } from '../retry/retry-test-kit.js';
import { waitFor } from '../support/infra.js';

const SCHEDULE = '0,1s,2s,3s,4s';

describe('Retry-After on 429/503 (real stack, schedule 0,1s,2s,3s,4s)', () => {
  const tag = suffix();
  const kafka = new TestKafka();
  const apps: INestApplication[] = [];
  let api: INestApplication;
  let receiver: TestReceiver;
  let auth: Record<string, string>;
  let accountId: string;
  let webhookId: string;
  /** First reply per call id (then 200). */
  const firstReply = new Map<string, () => TestReply>();
  const seen = new Set<string>();
  const callIdOf = (r: ReceivedRequest) => (JSON.parse(r.body.toString('utf8')) as { data: { call_id: string } }).data.call_id;

  beforeAll(async () => {
    await ensurePlatformTopics();
    const env = appEnv(tag, { WEBHOOK_RETRY_SCHEDULE: SCHEDULE, LOG_LEVEL: 'error' });
    const conn = connection();
    await seedGroupAtEnd(conn, env.DISPATCH_FANOUT_GROUP!, Object.values(EVENT_TOPICS));
    await seedGroupAtEnd(conn, env.DISPATCH_DELIVERY_GROUP!, [TOPICS.deliveries]);
    const schedulerGroup = `it-retry-after-scheduler-${tag}`;
    await seedGroupAtEnd(conn, schedulerGroup, RETRY_TIER_ATTEMPTS.map((a) => retryTierTopic(a)));

    api = await startSubscriptionApi({ WITH_ATTEMPT_CONSUMER: 'true', LOG_LEVEL: 'error' });
    const dispatcher = await startDispatcher(loadDispatcherConfig(env));
    apps.push(dispatcher, await startRetryScheduler(loadRetrySchedulerConfig({ ...env, RETRY_SCHEDULER_GROUP: schedulerGroup })));
    await Promise.all(apps.map((a) => waitReady(baseUrl(a), 90_000)));

    receiver = await startTestReceiver({
      respond: (req) => {
        const callId = callIdOf(req);
        if (seen.has(callId)) return { status: 200 };
        seen.add(callId);
        return firstReply.get(callId)?.() ?? { status: 200 };
      },
    });
    const account = await createAccount(`Retry-After ${tag}`);
    accountId = account.accountId;
    auth = { Authorization: `Bearer ${account.apiKey}`, 'Content-Type': 'application/json' };
    const res = await request(api.getHttpServer()).post('/v1/webhooks').set(auth).send({ url: `${receiver.url}/hook`, events: ['call.started'] });
    expect(res.status).toBe(201);
    webhookId = res.body.id;
    await waitRouted(baseUrl(dispatcher), webhookId, { version: 1 });
  }, 180_000);

  afterAll(async () => {
    if (webhookId) {
      await request(api.getHttpServer()).delete(`/v1/webhooks/${webhookId}`).set(auth);
      await new Promise((r) => setTimeout(r, 500)); // the outbox relay publishes the tombstone
    }
    for (const app of apps.reverse()) await app.close().catch(() => undefined);
    await api?.close();
    await receiver?.close();
    await kafka.close();
  }, 60_000);

  async function deliver(callId: string, reply: () => TestReply): Promise<{ first: ReceivedRequest; second: ReceivedRequest; retryAfter: string }> {
    let retryAfter = '';
    firstReply.set(callId, () => {
      const r = reply();
      retryAfter = r.headers!['retry-after'];
      return r;
    });
    const sample = SEED_EXAMPLES['call.started'];
    await kafka.producer.sendOne(
      TOPICS.callStarted,
      ValidatedEventCodec.encode({ v: 1, event_id: newId('evt'), account_id: accountId, event: 'call.started', timestamp: sample.timestamp, data: { ...sample.data, call_id: callId }, received_at: new Date().toISOString() }),
    );
    const mine = () => receiver.requests.filter((r) => callIdOf(r) === callId);
    await waitFor(() => mine().length >= 2, { timeoutMs: 30_000, intervalMs: 50, message: `second attempt of ${callId}` });
    const [first, second] = mine();
    expect(first.headers['x-odis-attempt']).toBe('1');
    expect(second.headers['x-odis-attempt']).toBe('2');
    expect(second.headers['x-odis-delivery-id']).toBe(first.headers['x-odis-delivery-id']);
    return { first, second, retryAfter };
  }

  /** The delivery log's first attempt of a delivery, once the delivery succeeded. */
  async function loggedFirstAttempt(deliveryId: string): Promise<{ attempted_at: string; next_attempt_at: string; status_code: number }> {
    let attempts: Array<{ attempt: number; attempted_at: string; next_attempt_at: string; status_code: number }> = [];
    await waitFor(
      async () => {
        const res = await request(api.getHttpServer()).get(`/v1/webhooks/${webhookId}/deliveries/${deliveryId}`).set(auth);
        attempts = res.body.attempts ?? [];
        return res.status === 200 && res.body.status === 'succeeded' && attempts.length === 2;
      },
      { timeoutMs: 20_000, intervalMs: 100, message: `delivery ${deliveryId} logged` },
    );
    return attempts.find((a) => a.attempt === 1)!;
  }

  it('429 with Retry-After: 3 → the second attempt comes at least 3 s after the first, and the log says when', async () => {
    const { first, second } = await deliver(`call_ra_seconds_${tag}`, () => ({ status: 429, headers: { 'retry-after': '3' }, body: 'slow down' }));
    expect(second.receivedAt - first.receivedAt).toBeGreaterThanOrEqual(3000);
    expect(second.receivedAt - first.receivedAt).toBeLessThan(6000);
    const logged = await loggedFirstAttempt(String(first.headers['x-odis-delivery-id']));
    expect(logged.status_code).toBe(429);
    expect(Date.parse(logged.next_attempt_at) - Date.parse(logged.attempted_at)).toBeGreaterThanOrEqual(3000);
    expect(second.receivedAt).toBeGreaterThanOrEqual(Date.parse(logged.next_attempt_at));
  }, 60_000);

  it('503 with an HTTP-date → no attempt before that date', async () => {
    const { first, second, retryAfter } = await deliver(`call_ra_date_${tag}`, () => ({ status: 503, headers: { 'retry-after': new Date(Date.now() + 4000).toUTCString() } }));
    expect(retryAfter).toMatch(/ GMT$/);
    expect(second.receivedAt).toBeGreaterThanOrEqual(Date.parse(retryAfter));
    expect(second.receivedAt - first.receivedAt).toBeGreaterThanOrEqual(3000); // the date has whole seconds
    const logged = await loggedFirstAttempt(String(first.headers['x-odis-delivery-id']));
    expect(Date.parse(logged.next_attempt_at)).toBeGreaterThanOrEqual(Date.parse(retryAfter));
  }, 60_000);

  it('a wait longer than the longest tier (6 s > 4 s) is still honoured: parked again, not attempted early', async () => {
    const { first, second } = await deliver(`call_ra_long_${tag}`, () => ({ status: 429, headers: { 'retry-after': '6' } }));
    expect(second.receivedAt - first.receivedAt).toBeGreaterThanOrEqual(6000);
    expect(second.receivedAt - first.receivedAt).toBeLessThan(10_000);
    // Parking is not an attempt: the receiver saw exactly two requests.
    await new Promise((r) => setTimeout(r, 500));
    expect(receiver.requests.filter((r) => callIdOf(r) === `call_ra_long_${tag}`)).toHaveLength(2);
  }, 60_000);
});

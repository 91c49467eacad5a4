/**
 * `rate_limit_per_second` (issue 12 item 4, decision 0013) on the real stack with two dispatcher
 * replicas in the same consumer groups: a webhook limited to 20/s receives 200 events produced at
 * once. The receiver never sees more than 20 (+1 of slack) requests in any 1-s window, gets all 200
 * events, each as attempt 1 (waiting is not an attempt), and an unlimited webhook of the same
 * account gets them at full speed. The backlog beyond the webhook's waiting room is parked on the
 * retry path (a retry-scheduler runs, schedule `0,1m,5m` so a park fits a tier) and comes back.
 *
 * Then a backlog far over the partition's window: 600 events to a webhook limited to 2/s, and to a
 * webhook on the same `webhooks.deliveries` partition that is also handed off (limited to 1000/s):
 * the fast one gets its 600 within seconds, the slow one never more than 2 (+1) in any second.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import type { INestApplication } from '@nestjs/common';
import { startTestReceiver, type TestReceiver } from '@odis/receiver-kit';
import { startDispatcher } from '../../apps/dispatcher/src/dispatcher.app.js';
import { loadDispatcherConfig } from '../../apps/dispatcher/src/config/dispatcher.config.js';
import { createAccount, startSubscriptionApi } from '../api/subscription-api.harness.js';
import { appEnv, baseUrl, ensurePlatformTopics, getJson, suffix, TestKafka, waitReady, waitRouted } from '../dispatch/support.js';
import { waitFor } from '../support/infra.js';
import { startRetryScheduler } from '../../apps/retry-scheduler/src/retry-scheduler.app.js';
import { RetrySchedulerService } from '../../apps/retry-scheduler/src/retry-scheduler.service.js';
import { DispatchConsumersService } from '../../apps/dispatcher/src/consumers/dispatch-consumers.service.js';
import { loadRetrySchedulerConfig } from '../../apps/retry-scheduler/src/config/retry-scheduler.config.js';
import { RETRY_TIER_ATTEMPTS, retryTierTopic, TOPICS } from '@odis/contracts';
import { connection, seedGroupAtEnd, withAdmin } from '../retry/retry-test-kit.js';
import { keyOnPartition, partitionOf } from '../../bench/isolation-scenario.js';

const EVENTS = 200;
const RATE = 20;
/** Long tiers, so a parked delivery's wait fits one (the appEnv default `0,1s,1s` would cap parks at 1 s). */
const SCHEDULE = '0,1m,5m';

/** The most requests in any 1-s window of `arrivals` (sorted epoch ms). */
function busiestSecond(arrivals: number[]): number {
  let busiest = 0;
  for (let i = 0, j = 0; i < arrivals.length; i++) {
    while (j < arrivals.length && arrivals[j]! - arrivals[i]! < 1000) j++;
    busiest = Math.max(busiest, j - i);
  }
  return busiest;
}

describe('rate_limit_per_second (real stack, two dispatcher replicas)', () => {
  const tag = suffix();
  const kafka = new TestKafka();
  let api: INestApplication;
  const dispatchers: INestApplication[] = [];
  let scheduler: INestApplication;
  let limited: TestReceiver;
  let free: TestReceiver;
  let auth: Record<string, string>;
  let accountId: string;
  const webhookIds: string[] = [];

  beforeAll(async () => {
    const env = appEnv(tag, { WEBHOOK_RETRY_SCHEDULE: SCHEDULE });
    await ensurePlatformTopics();
    api = await startSubscriptionApi({ WITH_ATTEMPT_CONSUMER: 'true' });
    dispatchers.push(await startDispatcher(loadDispatcherConfig(env)), await startDispatcher(loadDispatcherConfig(env)));
    const schedulerGroup = `it-rl-scheduler-${tag}`;
    await seedGroupAtEnd(connection(), schedulerGroup, RETRY_TIER_ATTEMPTS.map((a) => retryTierTopic(a)));
    scheduler = await startRetryScheduler(loadRetrySchedulerConfig({ ...env, RETRY_SCHEDULER_GROUP: schedulerGroup }));
    await Promise.all([...dispatchers, scheduler].map((d) => waitReady(baseUrl(d))));
    // A steady state before any event: both replicas own a share of each of their groups' partitions, the scheduler its tiers.
    const owned = (runner: { assignedPartitions(): string[] }) => runner.assignedPartitions();
    await waitFor(
      () => {
        const shares = dispatchers.map((d) => d.get(DispatchConsumersService)).flatMap((s) => [owned(s.deliveries), owned(s.fanOut)]);
        return shares.every((p) => p.length > 0) && owned(scheduler.get(RetrySchedulerService).runner).length > 0;
      },
      { timeoutMs: 60_000, intervalMs: 200, message: 'both dispatchers and the scheduler own partitions' },
    );
    const account = await createAccount(`Rate limit ${tag}`);
    accountId = account.accountId;
    auth = { Authorization: `Bearer ${account.apiKey}`, 'Content-Type': 'application/json' };
    limited = await startTestReceiver({ respond: () => ({ status: 200 }) });
    free = await startTestReceiver({ respond: () => ({ status: 200 }) });
  }, 120_000);

  afterAll(async () => {
    for (const id of webhookIds) await request(api.getHttpServer()).delete(`/v1/webhooks/${id}`).set(auth);
    if (webhookIds.length) await new Promise((r) => setTimeout(r, 500)); // the outbox relay publishes the tombstones
    await Promise.allSettled([limited?.close(), free?.close()]);
    await Promise.allSettled([api?.close(), scheduler?.close(), ...dispatchers.map((d) => d.close())]);
    await kafka.close();
  }, 60_000);

  it(`${EVENTS} events to a webhook limited to ${RATE}/s: at most ${RATE}+1 in any second, none lost, none retried`, async () => {
    const server = api.getHttpServer();
    const created = await request(server).post('/v1/webhooks').set(auth).send({ url: `${limited.url}/hook`, events: ['call.started'], rate_limit_per_second: RATE });
    expect(created.status).toBe(201);
    expect(created.body.rate_limit_per_second).toBe(RATE);
    webhookIds.push(created.body.id);
    const control = await request(server).post('/v1/webhooks').set(auth).send({ url: `${free.url}/hook`, events: ['call.started'] });
    webhookIds.push(control.body.id);
    for (const d of dispatchers) for (const id of webhookIds) await waitRouted(baseUrl(d), id, { version: 1 });

    const eventIds = await Promise.all(Array.from({ length: EVENTS }, () => kafka.produceSample(accountId)));
    const mine = new Set(eventIds);
    const seen = (r: TestReceiver) => new Set(r.requests.map((q) => String(q.headers['x-odis-event-id'])).filter((id) => mine.has(id)));
    await waitFor(() => seen(free).size === EVENTS, { timeoutMs: 30_000, intervalMs: 100, message: 'the unlimited webhook got every event' });
    await waitFor(() => seen(limited).size === EVENTS, { timeoutMs: 40_000, intervalMs: 200, message: 'the limited webhook got every event' });

    const arrivals = limited.requests.filter((q) => mine.has(String(q.headers['x-odis-event-id']))).map((q) => q.receivedAt).sort((a, b) => a - b);
    const busiest = busiestSecond(arrivals);
    expect(busiest).toBeLessThanOrEqual(RATE + 1);
    expect(busiest).toBeGreaterThanOrEqual(RATE - 2); // it does run at the rate, not far below it
    expect(arrivals[arrivals.length - 1] - arrivals[0]).toBeGreaterThanOrEqual(((EVENTS - RATE - 1) / RATE) * 1000);
    // Waiting is not an attempt: every event arrived once, as attempt 1.
    const limitedAttempts = limited.requests.filter((q) => mine.has(String(q.headers['x-odis-event-id'])));
    const perDelivery = new Map<string, number>();
    for (const q of limitedAttempts) perDelivery.set(String(q.headers['x-odis-delivery-id']), (perDelivery.get(String(q.headers['x-odis-delivery-id'])) ?? 0) + 1);
    expect([...perDelivery].filter(([, n]) => n > 1)).toEqual([]); // no delivery sent twice (e.g. a parked one released twice)
    expect(limitedAttempts).toHaveLength(EVENTS);
    expect(new Set(limitedAttempts.map((q) => q.headers['x-odis-attempt']))).toEqual(new Set(['1']));
    // The backlog beyond the waiting room (16 at 20/s) was parked and came back: none lost, none doubled.
    expect(await parkedForRate()).toBeGreaterThan(0);
  }, 120_000);

  /** Deliveries parked for rate by both dispatchers so far (`/stats`). */
  async function parkedForRate(): Promise<number> {
    let sum = 0;
    for (const d of dispatchers) sum += ((await getJson(`${baseUrl(d)}/stats`)) as { deliveries: { parkedRateLimited: number } }).deliveries.parkedRateLimited;
    return sum;
  }

  it('600 events to a webhook limited to 2/s do not delay a webhook on the same partition: it gets its 600 within seconds', async () => {
    const server = api.getHttpServer();
    const account = await createAccount(`Rate backlog ${tag}`);
    const auth2 = { Authorization: `Bearer ${account.apiKey}`, 'Content-Type': 'application/json' };
    const slow = await startTestReceiver({ respond: () => ({ status: 200 }) });
    const fast = await startTestReceiver({ respond: () => ({ status: 200 }) });
    try {
      const created = await request(server).post('/v1/webhooks').set(auth2).send({ url: `${slow.url}/hook`, events: ['call.started'], rate_limit_per_second: 2 });
      expect(created.status).toBe(201);
      const slowId: string = created.body.id;
      // The other webhook's id is chosen to share the slow one's partition of webhooks.deliveries.
      const partitions = await withAdmin(connection(), async (admin) => (await admin.fetchTopicMetadata({ topics: [TOPICS.deliveries] })).topics[0]!.partitions.length);
      const fastId = keyOnPartition(`wh_rl_fast_${tag}_`, partitionOf(slowId, partitions), partitions);
      const snapshot = await kafka.publishSubscription({ id: fastId, accountId: account.accountId, url: `${fast.url}/hook`, events: ['call.started'], secret: `secret-${fastId}` });
      // Also handed off (limited, at 1000/s), so its deliveries go through the same partition's window.
      await kafka.producer.sendOne(TOPICS.subscriptions, { key: fastId, value: JSON.stringify({ ...snapshot, version: 2, rate_limit_per_second: 1000 }) });
      for (const d of dispatchers) {
        await waitRouted(baseUrl(d), slowId, { version: 1 });
        await waitRouted(baseUrl(d), fastId, { version: 2 });
      }
      const parkedBefore = await parkedForRate();

      const started = Date.now();
      const eventIds = await Promise.all(Array.from({ length: 600 }, () => kafka.produceSample(account.accountId)));
      const mine = new Set(eventIds);
      const seen = (r: TestReceiver) => r.requests.filter((q) => mine.has(String(q.headers['x-odis-event-id'])));
      await waitFor(() => new Set(seen(fast).map((q) => q.headers['x-odis-event-id'])).size === 600, { timeoutMs: 20_000, intervalMs: 100, message: 'the fast webhook got its 600 events' });
      const fastDone = Math.max(...seen(fast).map((q) => q.receivedAt)) - started;
      // Without parking, the slow webhook's 600 jobs fill the partition's window (256) and the fast
      // one's deliveries queue behind them at 2 per second (minutes).
      expect(fastDone).toBeLessThan(10_000);
      expect(seen(fast)).toHaveLength(600);

      // Watch the slow one a while longer: never more than 2 (+1) in a second, no event twice, each as attempt 1.
      await new Promise((r) => setTimeout(r, 8_000));
      const slowSeen = seen(slow);
      const arrivals = slowSeen.map((q) => q.receivedAt).sort((a, b) => a - b);
      expect(busiestSecond(arrivals)).toBeLessThanOrEqual(3);
      expect(new Set(slowSeen.map((q) => q.headers['x-odis-event-id'])).size).toBe(slowSeen.length);
      expect(new Set(slowSeen.map((q) => q.headers['x-odis-attempt']))).toEqual(new Set(['1']));
      // It does run at its rate meanwhile (about 2 per second since the first arrival).
      const elapsedS = (Date.now() - arrivals[0]!) / 1000;
      expect(slowSeen.length).toBeGreaterThanOrEqual(Math.floor(elapsedS * 2 * 0.7));
      expect(await parkedForRate()).toBeGreaterThan(parkedBefore + 500);
      await request(server).delete(`/v1/webhooks/${slowId}`).set(auth2);
      await kafka.deleteSubscription(fastId);
    } finally {
      await Promise.allSettled([slow.close(), fast.close()]);
    }
  }, 120_000);
});

/**
 * `rate_limit_per_second` (issue 12 item 4, decision 0013) on the real stack with two dispatcher
 * replicas in the same consumer groups: a webhook limited to 20/s receives 200 events produced at
 * once. The receiver never sees more than 20 (+1 of slack) requests in any 1-s window, gets all 200
 * events, each as attempt 1 (waiting is not an attempt), and an unlimited webhook of the same
 * account gets them at full speed.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import type { INestApplication } from '@nestjs/common';
import { startTestReceiver, type TestReceiver } from '@odis/receiver-kit';
import { startDispatcher } from '../../apps/dispatcher/src/dispatcher.app.js';
import { loadDispatcherConfig } from '../../apps/dispatcher/src/config/dispatcher.config.js';
import { createAccount } from '../api/subscription-api.harness.js';
import { appEnv, baseUrl, suffix, TestKafka, waitReady, waitRouted } from '../dispatch/support.js';
import { startApiAndDispatcher } from './real-stack.js';
import { waitFor } from '../support/infra.js';

const EVENTS = 200;
const RATE = 20;

describe('rate_limit_per_second (real stack, two dispatcher replicas)', () => {
  const tag = suffix();
  const kafka = new TestKafka();
  let api: INestApplication;
  const dispatchers: INestApplication[] = [];
  let limited: TestReceiver;
  let free: TestReceiver;
  let auth: Record<string, string>;
  let accountId: string;
  const webhookIds: string[] = [];

  beforeAll(async () => {
    const stack = await startApiAndDispatcher(tag);
    api = stack.api;
    dispatchers.push(stack.dispatcher, await startDispatcher(loadDispatcherConfig(appEnv(tag))));
    await Promise.all(dispatchers.map((d) => waitReady(baseUrl(d))));
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
    await Promise.allSettled([api?.close(), ...dispatchers.map((d) => d.close())]);
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
    let busiest = 0;
    for (let i = 0; i < arrivals.length; i++) {
      let j = i;
      while (j < arrivals.length && arrivals[j] - arrivals[i] < 1000) j++;
      busiest = Math.max(busiest, j - i);
    }
    expect(busiest).toBeLessThanOrEqual(RATE + 1);
    expect(busiest).toBeGreaterThanOrEqual(RATE - 2); // it does run at the rate, not far below it
    expect(arrivals[arrivals.length - 1] - arrivals[0]).toBeGreaterThanOrEqual(((EVENTS - RATE - 1) / RATE) * 1000);
    // Waiting is not an attempt: every event arrived once, as attempt 1.
    const limitedAttempts = limited.requests.filter((q) => mine.has(String(q.headers['x-odis-event-id'])));
    expect(limitedAttempts).toHaveLength(EVENTS);
    expect(new Set(limitedAttempts.map((q) => q.headers['x-odis-attempt']))).toEqual(new Set(['1']));
  }, 120_000);
});

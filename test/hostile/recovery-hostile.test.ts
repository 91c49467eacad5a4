/**
 * A recovery (decision 0011) while Kafka, then Postgres, stops answering for a moment: the server is
 * frozen (SIGSTOP, as a hung or blackholed server looks to its clients) for 8 s while the runner is
 * producing the replayed jobs (Kafka) and recording their delivery ids and renewing its lease
 * (Postgres), and the dispatcher delivering them. Once it answers again the recovery must finish
 * `done` with every event of the window delivered (none lost), each under one delivery id of its own
 * (no new ids), and no request received twice.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import type { INestApplication } from '@nestjs/common';
import { EVENT_TOPICS, newId } from '@odis/contracts';
import type { OutboundMessage } from '@odis/messaging';
import { startTestReceiver, type TestReceiver } from '@odis/receiver-kit';
import { createAccount } from '../api/subscription-api.harness.js';
import { sampleEventMessage, suffix, TestKafka, waitRouted } from '../dispatch/support.js';
import { startApiAndDispatcher } from '../e2e/real-stack.js';
import { waitFor } from '../support/infra.js';
import { pausePostgres, withKafkaPaused } from '../support/process-pause.js';

const EVENTS = 1_500;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const webhooks: { id: string; auth: Record<string, string> }[] = [];

describe('recovery while Kafka is frozen for a moment', () => {
  const tag = suffix();
  const kafka = new TestKafka();
  let api: INestApplication;
  let dispatcher: INestApplication;
  let dispatcherUrl: string;
  let receiver: TestReceiver;

  beforeAll(async () => {
    // 300 jobs/s: the 1,500 jobs take ~5 s to produce, so the freeze lands in the middle of the run.
    ({ api, dispatcher, dispatcherUrl } = await startApiAndDispatcher(tag, { WITH_ATTEMPT_CONSUMER: 'true', RECOVERY_JOBS_PER_SECOND: '300' }));
    receiver = await startTestReceiver({ respond: () => ({ status: 204 }) });
  }, 120_000);

  afterAll(async () => {
    // Later test files' dispatchers read the whole changelog: leave no live webhook behind (its
    // deliveries would fail on the closed receiver, exhaust and email another test's SMTP).
    for (const { id, auth } of webhooks) await request(api.getHttpServer()).delete(`/v1/webhooks/${id}`).set(auth);
    await receiver?.close();
    await Promise.allSettled([api?.close(), dispatcher?.close()]);
    await kafka.close();
  }, 60_000);

  it.each([
    ['Kafka', () => withKafkaPaused(() => sleep(8_000))],
    ['Postgres', () => pausePostgres(8_000)],
  ] as const)('delivers every event of the window once %s answers again, each once, under the same delivery ids', async (name, freeze) => {
    const server = api.getHttpServer();
    const account = await createAccount(`Recovery hostile ${name} ${tag}`);
    const auth = { Authorization: `Bearer ${account.apiKey}`, 'Content-Type': 'application/json' };
    const since = new Date(Date.now() - 1_000).toISOString();
    const ids = Array.from({ length: EVENTS }, () => newId('evt'));
    const messages = ids.map((eventId) => sampleEventMessage(account.accountId, 'call.started', eventId));
    for (let i = 0; i < messages.length; i += 500) await kafka.producer.send(EVENT_TOPICS['call.started'], messages.slice(i, i + 500));
    // The webhook exists only now: nothing delivered these events live.
    const path = `/hook/${name}`;
    const mine = () => receiver.requests.filter((r) => r.path === path);
    const created = await request(server).post('/v1/webhooks').set(auth).send({ url: `${receiver.url}${path}`, events: ['call.started'] });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    webhooks.push({ id, auth });
    await waitRouted(dispatcherUrl, id);

    const run = await request(server).post(`/v1/webhooks/${id}/recover`).set(auth).send({ since });
    expect(run.status).toBe(202);
    expect(run.body.events).toBe(EVENTS);
    await waitFor(() => mine().length >= 200, { timeoutMs: 30_000, intervalMs: 20, message: 'the first recovered deliveries' });
    const beforeFreeze = mine().length;
    await freeze();
    expect(beforeFreeze).toBeLessThan(EVENTS); // the freeze came while the recovery was under way

    const done = await waitFor(
      async () => {
        const view = await request(server).get(`/v1/webhooks/${id}/recoveries/${run.body.id}`).set(auth);
        return view.body.status === 'done' ? view.body : null;
      },
      { timeoutMs: 120_000, intervalMs: 500, message: 'recovery done after the freeze' },
    );
    expect(done).toMatchObject({ events: EVENTS, delivered: EVENTS, failed: 0 });
    await sleep(1_000);
    const received = mine();
    const eventIds = new Set(received.map((r) => String(r.headers['x-odis-event-id'])));
    const deliveryIds = new Set(received.map((r) => String(r.headers['x-odis-delivery-id'])));
    expect([...eventIds].sort()).toEqual([...ids].sort()); // none lost, nothing else
    expect(deliveryIds.size).toBe(EVENTS); // one delivery id per event: a replay never mints new ones
    expect({ requests: received.length, duplicates: received.length - deliveryIds.size }).toEqual({ requests: EVENTS, duplicates: 0 });
  }, 240_000);
});

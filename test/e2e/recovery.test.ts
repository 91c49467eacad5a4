/**
 * Recovery from the event log (issue 11 item 2, decision 0011), on the real Postgres + Kafka:
 * subscription-api (with its recovery runner and delivery-log consumer) and the dispatcher in-process,
 * a real HTTP receiver. Events of several types for two accounts are on the per-type topics before the
 * webhook exists (so nothing delivered them live); a dry run counts exactly the account's events of
 * the webhook's types in [since, until); the recovery then delivers each of them once, with the
 * original event id and a new delivery id, and its progress ends `done`.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import type { INestApplication } from '@nestjs/common';
import { type EventType } from '@odis/contracts';
import { startTestReceiver, type TestReceiver } from '@odis/receiver-kit';
import { createAccount, withDataSource } from '../api/subscription-api.harness.js';
import { suffix, TestKafka, waitRouted } from '../dispatch/support.js';
import { startApiAndDispatcher } from './real-stack.js';
import { waitFor } from '../support/infra.js';

const DAY_MS = 86_400_000;

describe('POST /v1/webhooks/{id}/recover (real stack)', () => {
  const tag = suffix();
  const kafka = new TestKafka();
  let api: INestApplication;
  let dispatcher: INestApplication;
  let dispatcherUrl: string;
  let receiver: TestReceiver;
  let a: { accountId: string; auth: Record<string, string> };
  let b: { accountId: string; auth: Record<string, string> };

  beforeAll(async () => {
    ({ api, dispatcher, dispatcherUrl } = await startApiAndDispatcher(tag));
    for (const name of ['A', 'B']) {
      const account = await createAccount(`Recovery ${name} ${tag}`);
      const entry = { accountId: account.accountId, auth: { Authorization: `Bearer ${account.apiKey}`, 'Content-Type': 'application/json' } };
      if (name === 'A') a = entry;
      else b = entry;
    }
    receiver = await startTestReceiver({ respond: () => ({ status: 204 }) });
  }, 120_000);

  afterAll(async () => {
    await receiver?.close();
    await Promise.allSettled([api?.close(), dispatcher?.close()]);
    await kafka.close();
  }, 60_000);

  const produce = (accountId: string, type: EventType): Promise<string> => kafka.produceSample(accountId, type);

  async function createWebhook(auth: Record<string, string>, events: EventType[]): Promise<string> {
    const res = await request(api.getHttpServer()).post('/v1/webhooks').set(auth).send({ url: `${receiver.url}/hook`, events });
    expect(res.status).toBe(201);
    return res.body.id as string;
  }

  it("counts exactly the account's events of the webhook's types in [since, until), then delivers each once with its original event id", async () => {
    const server = api.getHttpServer();
    // Before `since`: not recovered.
    const tooEarly = await produce(a.accountId, 'call.started');
    await new Promise((r) => setTimeout(r, 1_500));
    const since = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 50));
    const wanted: string[] = [];
    for (const type of ['call.started', 'call.ended', 'call.started', 'appointment.created', 'call.ended', 'call.started'] as EventType[]) {
      const id = await produce(a.accountId, type);
      if (type !== 'appointment.created') wanted.push(id);
      await produce(b.accountId, type); // the other account's events: never counted, never delivered
    }
    await new Promise((r) => setTimeout(r, 50));
    const until = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 1_100));
    const after = await produce(a.accountId, 'call.ended'); // after `until`: not recovered

    const id = await createWebhook(a.auth, ['call.started', 'call.ended']);
    await waitRouted(dispatcherUrl, id);

    const dry = await request(server).post(`/v1/webhooks/${id}/recover`).set(a.auth).send({ since, until, dry_run: true });
    expect(dry.status).toBe(202);
    expect(dry.body).toEqual({ object: 'recovery', id: expect.stringMatching(/^rec_/), status: 'dry_run', events: wanted.length });
    const dryView = await request(server).get(`/v1/webhooks/${id}/recoveries/${dry.body.id}`).set(a.auth);
    expect(dryView.status).toBe(200);
    expect(dryView.body).toMatchObject({ status: 'dry_run', events: wanted.length, delivered: 0, failed: 0 });
    await new Promise((r) => setTimeout(r, 500));
    expect(receiver.requests).toHaveLength(0); // a dry run delivers nothing

    const run = await request(server).post(`/v1/webhooks/${id}/recover`).set(a.auth).send({ since, until });
    expect(run.status).toBe(202);
    expect(run.body).toEqual({ object: 'recovery', id: expect.stringMatching(/^rec_/), status: 'queued', events: wanted.length });

    const done = await waitFor(
      async () => {
        const view = await request(server).get(`/v1/webhooks/${id}/recoveries/${run.body.id}`).set(a.auth);
        return view.body.status === 'done' ? view.body : null;
      },
      { timeoutMs: 45_000, intervalMs: 200, message: 'recovery done' },
    );
    expect(done).toMatchObject({ object: 'recovery', id: run.body.id, webhook_id: id, events: wanted.length, delivered: wanted.length, failed: 0 });
    await new Promise((r) => setTimeout(r, 500));
    const eventIds = receiver.requests.map((r) => String(r.headers['x-odis-event-id']));
    expect([...eventIds].sort()).toEqual([...wanted].sort()); // each once, nothing else (no tooEarly, no after, no B)
    expect(eventIds).not.toContain(tooEarly);
    expect(eventIds).not.toContain(after);
    const deliveryIds = new Set(receiver.requests.map((r) => String(r.headers['x-odis-delivery-id'])));
    expect(deliveryIds.size).toBe(wanted.length);
    for (const r of receiver.requests) {
      expect(r.headers['x-odis-attempt']).toBe('1');
      expect(JSON.parse(r.body.toString('utf8'))).toHaveProperty('event');
    }

    // A runner that takes the recovery over (its lease expired, as after a crash) re-reads the window
    // and re-produces, under the same delivery ids, only what the delivery log has no attempt of:
    // here every delivery was attempted, so nothing is sent again. With one delivery's attempts gone
    // from the log (as if its job never reached the dispatcher), exactly that one is sent again.
    const [lost] = [...deliveryIds];
    await withDataSource(async (ds) => {
      await ds.query('DELETE FROM delivery_attempts WHERE delivery_id = $1', [lost]);
      await ds.query(`UPDATE recoveries SET status = 'running', lease_owner = 'dead-runner', lease_until = now() - interval '1 second' WHERE id = $1`, [run.body.id]);
    });
    await waitFor(() => receiver.requests.length > wanted.length, { timeoutMs: 30_000, intervalMs: 100, message: 'take-over re-delivery' });
    await new Promise((r) => setTimeout(r, 1_000));
    const replayed = receiver.requests.slice(wanted.length);
    expect(replayed.map((r) => String(r.headers['x-odis-delivery-id']))).toEqual([lost]);
    const again = await waitFor(
      async () => {
        const view = await request(server).get(`/v1/webhooks/${id}/recoveries/${run.body.id}`).set(a.auth);
        return view.body.status === 'done' ? view.body : null;
      },
      { timeoutMs: 20_000, intervalMs: 200, message: 'recovery done again' },
    );
    expect(again).toMatchObject({ events: wanted.length, delivered: wanted.length, failed: 0 });
  }, 90_000);

  it('refuses a since beyond retention (400 naming the limit), a disabled webhook (409), bad bodies (400), unknown ids (404)', async () => {
    const server = api.getHttpServer();
    const id = await createWebhook(a.auth, ['call.started']);
    const old = await request(server).post(`/v1/webhooks/${id}/recover`).set(a.auth).send({ since: new Date(Date.now() - 31 * DAY_MS).toISOString() });
    expect(old.status).toBe(400);
    expect(old.body.error.field).toBe('since');
    expect(old.body.error.message).toContain('30 days');
    for (const body of [{}, { since: 'yesterday' }, { since: new Date().toISOString(), extra: 1 }, { since: new Date(Date.now() - 1000).toISOString(), dry_run: 'yes' }]) {
      expect((await request(server).post(`/v1/webhooks/${id}/recover`).set(a.auth).send(body)).status).toBe(400);
    }
    // Another account's webhook, an unknown webhook, an unknown recovery: 404.
    const since = new Date(Date.now() - 60_000).toISOString();
    expect((await request(server).post(`/v1/webhooks/${id}/recover`).set(b.auth).send({ since, dry_run: true })).status).toBe(404);
    expect((await request(server).post(`/v1/webhooks/wh_unknown123/recover`).set(a.auth).send({ since })).status).toBe(404);
    expect((await request(server).get(`/v1/webhooks/${id}/recoveries/rec_unknown123`).set(a.auth)).status).toBe(404);
    const dry = await request(server).post(`/v1/webhooks/${id}/recover`).set(a.auth).send({ since, dry_run: true });
    expect(dry.status).toBe(202);
    expect((await request(server).get(`/v1/webhooks/${id}/recoveries/${dry.body.id}`).set(b.auth)).status).toBe(404);

    const doc = await request(server).get('/docs/openapi.json');
    expect(doc.body.paths['/v1/webhooks/{id}/recover'].post.requestBody).toBeDefined();
    expect(doc.body.paths['/v1/webhooks/{id}/recoveries/{rec_id}'].get).toBeDefined();

    await request(server).patch(`/v1/webhooks/${id}`).set(a.auth).send({ status: 'disabled' }).expect(200);
    const refused = await request(server).post(`/v1/webhooks/${id}/recover`).set(a.auth).send({ since });
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toMatch(/re-enable/);
  }, 60_000);
});

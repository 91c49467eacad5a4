/**
 * Test events (POST /v1/webhooks/{id}/test) on the real Postgres + Kafka: subscription-api (with its
 * delivery-log consumer) and the dispatcher in-process, a real HTTP receiver. The API answers with
 * the attempt's outcome once the dispatcher has made it and the delivery log holds it; the receiver
 * verifies the signature with the webhook's secret; a failing test is neither retried nor counted
 * towards disabling; the OpenAPI document lists the route.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import crypto from 'crypto';
import request from 'supertest';
import type { INestApplication } from '@nestjs/common';
import { SEED_EXAMPLES, serializeWebhookPayload, standardWebhookSecret, TOPICS } from '@odis/contracts';
import { startTestReceiver, verifyStandardWebhook, type TestReceiver } from '@odis/receiver-kit';
import { createAccount } from '../api/subscription-api.harness.js';
import { suffix, TestKafka, waitRouted } from '../dispatch/support.js';
import { startApiAndDispatcher } from './real-stack.js';

/** The verification function of the public Webhooks page, verbatim. */
function verifyWebhook(payload: string, signature: string, secret: string): boolean {
  const expected = crypto.createHmac('sha256', secret).update(payload).digest('hex');
  return `sha256=${expected}` === signature;
}

const SECRET = `test-event-secret-${suffix()}`;

describe('POST /v1/webhooks/{id}/test (real stack)', () => {
  const tag = suffix();
  const kafka = new TestKafka();
  let api: INestApplication;
  let dispatcher: INestApplication;
  let dispatcherUrl: string;
  let receiver: TestReceiver;
  let auth: Record<string, string>;
  let otherAuth: Record<string, string>;
  const webhookIds: string[] = [];

  beforeAll(async () => {
    ({ api, dispatcher, dispatcherUrl } = await startApiAndDispatcher(tag));
    const account = await createAccount(`TestEvent ${tag}`);
    auth = { Authorization: `Bearer ${account.apiKey}`, 'Content-Type': 'application/json' };
    otherAuth = { Authorization: `Bearer ${(await createAccount(`TestEventOther ${tag}`)).apiKey}`, 'Content-Type': 'application/json' };
    // 200 on /ok when the seed's function verifies the signature with the webhook's secret (else 401); 500 on /fail.
    receiver = await startTestReceiver({
      respond: (req) => {
        if (req.path === '/fail') return { status: 500, body: 'receiver broke' };
        const ok = verifyWebhook(req.body.toString('utf8'), String(req.headers['x-odis-signature']), SECRET);
        return ok ? { status: 200, body: 'verified' } : { status: 401, body: 'bad signature' };
      },
    });
  }, 120_000);

  afterAll(async () => {
    // Later files' dispatchers read the whole changelog: leave no live webhook behind.
    for (const id of webhookIds) await request(api.getHttpServer()).delete(`/v1/webhooks/${id}`).set(auth);
    await receiver?.close();
    await Promise.allSettled([api?.close(), dispatcher?.close()]);
    await kafka.close();
  }, 60_000);

  async function createWebhook(path: string, events: string[] = ['call.started']): Promise<string> {
    const res = await request(api.getHttpServer()).post('/v1/webhooks').set(auth).send({ url: `${receiver.url}${path}`, events, secret: SECRET });
    expect(res.status).toBe(201);
    webhookIds.push(res.body.id);
    await waitRouted(dispatcherUrl, res.body.id, { version: 1 });
    return res.body.id as string;
  }

  it('a 200 receiver: succeeded, status 200, the seed sample signed with the webhook secret, in the delivery log', async () => {
    const id = await createWebhook('/ok', ['call.started']);
    const server = api.getHttpServer();
    // A type the webhook is not subscribed to is sent too.
    const res = await request(server).post(`/v1/webhooks/${id}/test`).set(auth).send({ event: 'appointment.created' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ succeeded: true, status_code: 200, response_excerpt: 'verified', error: null });
    expect(typeof res.body.duration_ms).toBe('number');
    expect(res.body.event_id).toMatch(/^evt_test_/);
    const got = receiver.requests.filter((r) => r.headers['x-odis-delivery-id'] === res.body.delivery_id);
    expect(got).toHaveLength(1);
    const body = got[0].body.toString('utf8');
    expect(body).toBe(serializeWebhookPayload(SEED_EXAMPLES['appointment.created']));
    expect(verifyWebhook(body, String(got[0].headers['x-odis-signature']), SECRET)).toBe(true);
    expect(verifyStandardWebhook(got[0].body, got[0].headers, standardWebhookSecret(SECRET), { nowSeconds: Math.floor(Date.now() / 1000) })).toBe(true);
    expect(got[0].headers).toMatchObject({ 'x-odis-event': 'appointment.created', 'x-odis-event-id': res.body.event_id });

    // No body: call.started. The delivery log has both tests.
    const dflt = await request(server).post(`/v1/webhooks/${id}/test`).set({ Authorization: auth.Authorization });
    expect(dflt.status).toBe(200);
    expect(dflt.body).toMatchObject({ succeeded: true, status_code: 200 });
    expect(receiver.requests.find((r) => r.headers['x-odis-delivery-id'] === dflt.body.delivery_id)?.headers['x-odis-event']).toBe('call.started');
    const log = await request(server).get(`/v1/webhooks/${id}/deliveries/${res.body.delivery_id}`).set(auth);
    expect(log.status).toBe(200);
    expect(JSON.stringify(log.body)).toContain(res.body.event_id);
  }, 60_000);

  it('a 500 receiver: succeeded false with 500; one attempt, no retry, the webhook stays active', async () => {
    const id = await createWebhook('/fail');
    const server = api.getHttpServer();
    const exhausted = await kafka.tap(TOPICS.exhausted, (m) => m.key?.toString() === id);
    const results = [];
    // More failed tests than the retry schedule has attempts: none of them counts towards disabling.
    for (let i = 0; i < 4; i++) {
      const res = await request(server).post(`/v1/webhooks/${id}/test`).set(auth).send({ event: 'call.ended' });
      expect(res.status).toBe(200);
      results.push(res.body);
    }
    for (const r of results) expect(r).toMatchObject({ succeeded: false, status_code: 500, response_excerpt: 'receiver broke' });
    // The test schedule retries after 1 s: wait past it; each test delivery stays at one request.
    await new Promise((r) => setTimeout(r, 3000));
    for (const r of results) expect(receiver.requests.filter((q) => q.headers['x-odis-delivery-id'] === r.delivery_id)).toHaveLength(1);
    const get = await request(server).get(`/v1/webhooks/${id}`).set(auth);
    expect(get.body.status).toBe('active');
    expect(exhausted.records).toHaveLength(0); // nothing for the notifier to disable it with
  }, 60_000);

  it('a disabled webhook can be tested; bad event 400 naming `event`; another account 404', async () => {
    const id = await createWebhook('/ok');
    const server = api.getHttpServer();
    await request(server).patch(`/v1/webhooks/${id}`).set(auth).send({ status: 'disabled' }).expect(200);
    await waitRouted(dispatcherUrl, id, { version: 2, status: 'disabled' });
    const res = await request(server).post(`/v1/webhooks/${id}/test`).set(auth).send({ event: 'call.started' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ succeeded: true, status_code: 200 });
    const bad = await request(server).post(`/v1/webhooks/${id}/test`).set(auth).send({ event: 'call.exploded' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('event');
    expect((await request(server).post(`/v1/webhooks/${id}/test`).set(otherAuth).send({})).status).toBe(404);
  }, 60_000);

  it('the OpenAPI document lists the route', async () => {
    const doc = await request(api.getHttpServer()).get('/docs/openapi.json');
    expect(doc.body.paths['/v1/webhooks/{id}/test']?.post).toBeDefined();
    expect(JSON.stringify(doc.body.paths['/v1/webhooks/{id}/test'].post.requestBody)).toContain('appointment.created');
  });
});

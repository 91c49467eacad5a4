/**
 * A webhook's own request headers (issue 12 item 5, decision 0013) on the real stack: the API
 * (with its attempt-log consumer) stores them (Postgres, event-sourced, outbox → changelog), the
 * dispatcher gets them with the route and sends them on every attempt; the delivery log's
 * `request_headers` shows them; a PATCH replaces the whole set.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import type { INestApplication } from '@nestjs/common';
import { startTestReceiver, type ReceivedRequest, type TestReceiver } from '@odis/receiver-kit';
import { createAccount } from '../api/subscription-api.harness.js';
import { baseUrl, suffix, TestKafka, waitRouted } from '../dispatch/support.js';
import { startApiAndDispatcher } from './real-stack.js';
import { waitFor } from '../support/infra.js';

describe('custom webhook headers (real stack)', () => {
  const tag = suffix();
  const kafka = new TestKafka();
  let api: INestApplication;
  let dispatcher: INestApplication;
  let receiver: TestReceiver;
  let auth: Record<string, string>;
  let accountId: string;
  let webhookId: string;

  beforeAll(async () => {
    ({ api, dispatcher } = await startApiAndDispatcher(tag));
    const account = await createAccount(`Headers ${tag}`);
    accountId = account.accountId;
    auth = { Authorization: `Bearer ${account.apiKey}`, 'Content-Type': 'application/json' };
    receiver = await startTestReceiver({ respond: () => ({ status: 200 }) });
  }, 120_000);

  afterAll(async () => {
    if (webhookId) {
      await request(api.getHttpServer()).delete(`/v1/webhooks/${webhookId}`).set(auth);
      await new Promise((r) => setTimeout(r, 500)); // the outbox relay publishes the tombstone
    }
    await receiver?.close();
    await Promise.allSettled([api?.close(), dispatcher?.close()]);
    await kafka.close();
  }, 60_000);

  async function deliverOne(): Promise<ReceivedRequest> {
    const eventId = await kafka.produceSample(accountId);
    await waitFor(() => receiver.requests.some((r) => r.headers['x-odis-event-id'] === eventId), { timeoutMs: 20_000, intervalMs: 50, message: `delivery of ${eventId}` });
    return receiver.requests.find((r) => r.headers['x-odis-event-id'] === eventId)!;
  }

  it('stored, returned, sent on every attempt, shown in the delivery log, replaced by PATCH', async () => {
    const server = api.getHttpServer();
    const headers = { Authorization: 'Bearer receiver-token-1', 'X-Clinic-Id': 'happy-paws' };
    const created = await request(server).post('/v1/webhooks').set(auth).send({ url: `${receiver.url}/hook`, events: ['call.started'], headers });
    expect(created.status).toBe(201);
    expect(created.body.headers).toEqual(headers);
    webhookId = created.body.id;
    expect((await request(server).get(`/v1/webhooks/${webhookId}`).set(auth)).body.headers).toEqual(headers);
    await waitRouted(baseUrl(dispatcher), webhookId, { version: 1 });

    const first = await deliverOne();
    expect(first.headers['authorization']).toBe('Bearer receiver-token-1');
    expect(first.headers['x-clinic-id']).toBe('happy-paws');
    expect(first.headers['x-odis-signature']).toMatch(/^sha256=/);
    const deliveryId = String(first.headers['x-odis-delivery-id']);
    let logged: Record<string, string> = {};
    await waitFor(
      async () => {
        const res = await request(server).get(`/v1/webhooks/${webhookId}/deliveries/${deliveryId}`).set(auth);
        logged = res.body.attempts?.[0]?.request_headers ?? {};
        return res.status === 200 && Object.keys(logged).length > 0;
      },
      { timeoutMs: 20_000, intervalMs: 100, message: `delivery ${deliveryId} logged` },
    );
    expect(logged).toMatchObject(headers);

    // PATCH replaces the whole set: the old header is gone, the new one sent.
    const patched = await request(server).patch(`/v1/webhooks/${webhookId}`).set(auth).send({ headers: { 'X-Other': 'two' } });
    expect(patched.status).toBe(200);
    expect(patched.body.headers).toEqual({ 'X-Other': 'two' });
    await waitRouted(baseUrl(dispatcher), webhookId, { version: 2 });
    const second = await deliverOne();
    expect(second.headers['x-other']).toBe('two');
    expect(second.headers['authorization']).toBeUndefined();
    expect(second.headers['x-clinic-id']).toBeUndefined();

    // A reserved name is a 400 naming it; nothing changes.
    const refused = await request(server).patch(`/v1/webhooks/${webhookId}`).set(auth).send({ headers: { 'x-odis-signature': 'sha256=forged' } });
    expect(refused.status).toBe(400);
    expect(refused.body.error.field).toBe('headers.x-odis-signature');
    expect((await request(server).get(`/v1/webhooks/${webhookId}`).set(auth)).body).toMatchObject({ version: 2, headers: { 'X-Other': 'two' } });
  }, 90_000);
});

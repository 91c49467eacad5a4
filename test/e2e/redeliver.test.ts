/**
 * The delivery log shows the request, and one delivery can be sent again (issue 11 items 3 and 5),
 * on the real Postgres + Kafka: subscription-api (with its attempt-log consumer) and the dispatcher
 * in-process, a real HTTP receiver. A delivery reaches the receiver; its detail shows the headers it
 * was sent with and the exact body; a redelivery brings the receiver identical body bytes with the
 * same X-ODIS-Event-Id and a new X-ODIS-Delivery-Id, and the log shows it as one manual attempt.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import type { INestApplication } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { newId } from '@odis/contracts';
import { startTestReceiver, type ReceivedRequest, type TestReceiver } from '@odis/receiver-kit';
import { createAccount } from '../api/subscription-api.harness.js';
import { baseUrl, suffix, TestKafka, waitRouted } from '../dispatch/support.js';
import { startApiAndDispatcher } from './real-stack.js';
import { waitFor } from '../support/infra.js';

const SECRET = `redeliver-secret-${suffix()}`;

describe('delivery request log and POST /v1/webhooks/{id}/deliveries/{delivery_id}/redeliver (real stack)', () => {
  const tag = suffix();
  const kafka = new TestKafka();
  let api: INestApplication;
  let dispatcher: INestApplication;
  let receiver: TestReceiver;
  let auth: Record<string, string>;
  let otherAuth: Record<string, string>;
  let accountId: string;
  let webhookId: string;

  beforeAll(async () => {
    ({ api, dispatcher } = await startApiAndDispatcher(tag));
    const account = await createAccount(`Redeliver ${tag}`);
    accountId = account.accountId;
    auth = { Authorization: `Bearer ${account.apiKey}`, 'Content-Type': 'application/json' };
    otherAuth = { Authorization: `Bearer ${(await createAccount(`Other ${tag}`)).apiKey}` };
    receiver = await startTestReceiver({ respond: () => ({ status: 200, body: 'thanks' }) });
    const res = await request(api.getHttpServer()).post('/v1/webhooks').set(auth).send({ url: `${receiver.url}/hook`, events: ['call.started'], secret: SECRET });
    expect(res.status).toBe(201);
    webhookId = res.body.id;
    await waitRouted(baseUrl(dispatcher), webhookId, { version: 1 });
  }, 120_000);

  afterAll(async () => {
    if (webhookId) await request(api.getHttpServer()).delete(`/v1/webhooks/${webhookId}`).set(auth);
    await receiver?.close();
    await Promise.allSettled([api?.close(), dispatcher?.close()]);
    await kafka.close();
  }, 60_000);

  const received = (header: string, value: string): ReceivedRequest[] => receiver.requests.filter((r) => r.headers[header] === value);

  /** The delivery's detail once the log has it with the given status. */
  async function detailOnce(deliveryId: string, status: string): Promise<Record<string, unknown> & { attempts: Record<string, unknown>[] }> {
    let body: Record<string, unknown> & { attempts: Record<string, unknown>[] } = { attempts: [] };
    await waitFor(
      async () => {
        const res = await request(api.getHttpServer()).get(`/v1/webhooks/${webhookId}/deliveries/${deliveryId}`).set(auth);
        body = res.body;
        return res.status === 200 && body.status === status;
      },
      { timeoutMs: 20_000, intervalMs: 100, message: `delivery ${deliveryId} logged as ${status}` },
    );
    return body;
  }

  it('logs the headers sent and the exact body; a redelivery sends identical bytes with the same event id and a new delivery id, as one manual attempt', async () => {
    const server = api.getHttpServer();
    const eventId = await kafka.produceSample(accountId);
    await waitFor(() => received('x-odis-event-id', eventId).length > 0, { timeoutMs: 20_000, intervalMs: 50, message: `delivery of ${eventId}` });
    const [original] = received('x-odis-event-id', eventId);
    const originalId = String(original.headers['x-odis-delivery-id']);

    // The detail shows what was sent: every header the receiver got from us, the body byte for byte.
    const detail = await detailOnce(originalId, 'succeeded');
    expect(detail.body).toBe(original.body.toString('utf8'));
    expect(detail.attempts).toHaveLength(1);
    const sentHeaders = detail.attempts[0].request_headers as Record<string, string>;
    for (const name of ['Content-Type', 'User-Agent', 'X-ODIS-Signature', 'X-ODIS-Event', 'X-ODIS-Event-Id', 'X-ODIS-Delivery-Id', 'X-ODIS-Attempt', 'webhook-id', 'webhook-timestamp', 'webhook-signature']) {
      expect(sentHeaders[name]).toBe(original.headers[name.toLowerCase()]);
    }
    expect(detail.attempts[0]).toMatchObject({ status_code: 200, response_excerpt: 'thanks', manual: false, outcome: 'succeeded' });
    expect(JSON.stringify(detail)).not.toContain(SECRET);

    // Redeliver: 202 with a new delivery id, then the receiver gets the same bytes and event id.
    const redelivered = await request(server).post(`/v1/webhooks/${webhookId}/deliveries/${originalId}/redeliver`).set(auth);
    expect(redelivered.status).toBe(202);
    expect(redelivered.body).toMatchObject({ object: 'delivery', status: 'queued', event_id: eventId, webhook_id: webhookId, manual: true, redelivery_of: originalId });
    const newId_ = redelivered.body.id as string;
    expect(newId_).toMatch(/^dlv_/);
    expect(newId_).not.toBe(originalId);
    await waitFor(() => received('x-odis-delivery-id', newId_).length > 0, { timeoutMs: 20_000, intervalMs: 50, message: `redelivery ${newId_}` });
    const again = received('x-odis-delivery-id', newId_);
    expect(again).toHaveLength(1);
    expect(again[0].body.equals(original.body)).toBe(true);
    expect(again[0].headers['x-odis-event-id']).toBe(eventId);
    expect(again[0].headers['x-odis-attempt']).toBe('1');

    // The log: the new delivery has one manual attempt; the event's list shows both deliveries.
    const redeliveryDetail = await detailOnce(newId_, 'succeeded');
    expect(redeliveryDetail.body).toBe(original.body.toString('utf8'));
    expect(redeliveryDetail.attempts).toHaveLength(1);
    expect(redeliveryDetail.attempts[0]).toMatchObject({ manual: true, attempt: 1, event_id: eventId, status_code: 200 });
    expect((redeliveryDetail.attempts[0].request_headers as Record<string, string>)['X-ODIS-Delivery-Id']).toBe(newId_);
    const list = await request(server).get(`/v1/webhooks/${webhookId}/deliveries`).query({ event_id: eventId }).set(auth);
    expect(list.status).toBe(200);
    expect(list.body.data.map((a: { delivery_id: string; manual: boolean }) => [a.delivery_id, a.manual])).toEqual([
      [newId_, true],
      [originalId, false],
    ]);
  }, 90_000);

  it('refuses: an unknown delivery or another account → 404; a delivery logged without its body → 409; a disabled webhook → 409', async () => {
    const server = api.getHttpServer();
    expect((await request(server).post(`/v1/webhooks/${webhookId}/deliveries/dlv_unknown0000/redeliver`).set(auth)).status).toBe(404);
    const someDelivery = String(receiver.requests[0].headers['x-odis-delivery-id']);
    expect((await request(server).post(`/v1/webhooks/${webhookId}/deliveries/${someDelivery}/redeliver`).set(otherAuth)).status).toBe(404);

    // A delivery logged before bodies were kept: an attempt row without a delivery_bodies row.
    const oldDelivery = newId('dlv');
    await api.get(DataSource).query(
      `INSERT INTO delivery_attempts (attempt_id, delivery_id, event_id, event_type, account_id, subscription_id, url, attempt, outcome, duration_ms, attempted_at)
       VALUES ($1, $2, $3, 'call.started', $4, $5, $6, 1, 'succeeded', 5, now())`,
      [newId('att'), oldDelivery, newId('evt'), accountId, webhookId, `${receiver.url}/hook`],
    );
    const old = await request(server).post(`/v1/webhooks/${webhookId}/deliveries/${oldDelivery}/redeliver`).set(auth);
    expect(old.status).toBe(409);
    expect(old.body.error.code).toBe('body_not_stored');
    const oldDetail = await request(server).get(`/v1/webhooks/${webhookId}/deliveries/${oldDelivery}`).set(auth);
    expect(oldDetail.body).toMatchObject({ body: null, attempts: [{ request_headers: null, manual: false }] });

    await request(server).patch(`/v1/webhooks/${webhookId}`).set(auth).send({ status: 'disabled' }).expect(200);
    const disabled = await request(server).post(`/v1/webhooks/${webhookId}/deliveries/${someDelivery}/redeliver`).set(auth);
    expect(disabled.status).toBe(409);
    expect(disabled.body.error.code).toBe('webhook_disabled');
  }, 60_000);
});

import { describe, expect, it } from '@jest/globals';
import { attemptRecord, AttemptRecordCodec, SEED_EXAMPLES, serializeWebhookPayload } from '@odis/contracts';
import { deliveryJobFixture as job } from '@odis/testing';
import { buildAttemptRecord, buildSkippedRecord } from './attempt-records.js';
import { DeliveryAttempter } from './delivery-attempter.js';
import type { HttpOutcome, WebhookHttpClient } from './webhook-http-client.js';

class FakeClient implements WebhookHttpClient {
  sent: Record<string, string> | null = null;
  async post(_url: string, _body: string, headers: Record<string, string>): Promise<HttpOutcome> {
    this.sent = headers;
    return { kind: 'response', statusCode: 502, body: Buffer.from('bad gateway'), truncated: false, durationMs: 3 };
  }
  close() {}
}

const body = serializeWebhookPayload(SEED_EXAMPLES['call.started']);
const now = Date.parse('2024-01-15T10:30:05.678Z');

describe('attempt records carry the request', () => {
  it('records the headers the attempter sent (the same object, no copy) and the exact body', async () => {
    const client = new FakeClient();
    const attempter = new DeliveryAttempter(client, undefined, () => now);
    const delivery = job({ body, delivery_id: 'dlv_r', event_id: 'evt_r' });
    const result = await attempter.attempt(delivery, { url: 'https://r.example.com/h', secret: 'top-secret-value' });
    const record = buildAttemptRecord(delivery, 'https://r.example.com/h', result, result.attemptedAtMs, null);
    expect(record.request_headers).toBe(client.sent);
    expect(record.request_headers).toMatchObject({ 'X-ODIS-Event-Id': 'evt_r', 'X-ODIS-Delivery-Id': 'dlv_r', 'Content-Type': 'application/json' });
    expect(JSON.stringify(record)).not.toContain('top-secret-value');
    expect(record.body).toBe(body);
    const decoded = AttemptRecordCodec.decode(AttemptRecordCodec.encode(record).value);
    expect(decoded.ok && decoded.value.body).toBe(body);
    expect(decoded.ok && decoded.value.request_headers).toEqual(client.sent);
  });

  it('a skip carries the body (so it can be redelivered later) but no headers: nothing was sent', () => {
    const record = buildSkippedRecord(job({ body }), 'webhook is disabled', now);
    expect(record.body).toBe(body);
    expect(record).not.toHaveProperty('request_headers');
  });

  it('a record written before the request was recorded still decodes', () => {
    const old = buildSkippedRecord(job({ body }), 'webhook is disabled', now);
    delete old.body;
    const decoded = attemptRecord.safeParse(JSON.parse(JSON.stringify(old)));
    expect(decoded.success).toBe(true);
    expect(decoded.data?.body).toBeUndefined();
    expect(decoded.data?.request_headers).toBeUndefined();
  });
});

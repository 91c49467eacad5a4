import { describe, expect, it } from '@jest/globals';
import { createHmac } from 'node:crypto';
import { SEED_EXAMPLES, serializeWebhookPayload, standardWebhookSecret } from '@odis/contracts';
import { verifyOdisSignature, verifyStandardWebhook } from '@odis/receiver-kit';
import { deliveryJobFixture as job } from '@odis/testing';
import { DeliveryAttempter, USER_AGENT } from './delivery-attempter.js';
import type { HttpOutcome, WebhookHttpClient } from './webhook-http-client.js';

class FakeClient implements WebhookHttpClient {
  calls: Array<{ url: string; body: string; headers: Record<string, string> }> = [];
  constructor(private readonly reply: HttpOutcome) {}
  async post(url: string, body: string, headers: Record<string, string>) {
    this.calls.push({ url, body, headers });
    return this.reply;
  }
  close() {}
}

const now = Date.parse('2024-01-15T10:30:05.678Z');
const body = serializeWebhookPayload(SEED_EXAMPLES['call.started']);

describe('DeliveryAttempter', () => {
  it('POSTs the exact body with every header, both signatures verifiable', async () => {
    const client = new FakeClient({ kind: 'response', statusCode: 200, body: Buffer.from('ok'), truncated: false, durationMs: 4 });
    const attempter = new DeliveryAttempter(client, undefined, () => now);
    const result = await attempter.attempt(job({ body, attempt: 3, delivery_id: 'dlv_x', event_id: 'evt_y' }), { url: 'https://r.example.com/h', secret: 's3cret' });
    expect(result).toMatchObject({ outcome: 'succeeded', statusCode: 200, attemptedAtMs: now });
    const [call] = client.calls;
    expect(call.url).toBe('https://r.example.com/h');
    expect(call.body).toBe(body);
    expect(call.headers).toEqual({
      'Content-Type': 'application/json',
      'User-Agent': USER_AGENT,
      'X-ODIS-Signature': `sha256=${createHmac('sha256', 's3cret').update(body).digest('hex')}`,
      'X-ODIS-Event': 'call.started',
      'X-ODIS-Event-Id': 'evt_y',
      'X-ODIS-Delivery-Id': 'dlv_x',
      'X-ODIS-Attempt': '3',
      'webhook-id': 'dlv_x',
      'webhook-timestamp': String(Math.floor(now / 1000)),
      'webhook-signature': expect.stringMatching(/^v1,[A-Za-z0-9+/]+=*$/),
    });
    expect(USER_AGENT).toBe('ODIS-Webhooks/1.0');
    expect(verifyOdisSignature(body, call.headers['X-ODIS-Signature'], 's3cret')).toBe(true);
    expect(verifyStandardWebhook(body, call.headers, standardWebhookSecret('s3cret'), { nowSeconds: Math.floor(now / 1000) })).toBe(true);
  });

  it('returns a failure for a transport error without throwing', async () => {
    const client = new FakeClient({ kind: 'error', error: Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }), durationMs: 1 });
    const result = await new DeliveryAttempter(client).attempt(job(), { url: 'https://r.example.com/', secret: 's' });
    expect(result).toMatchObject({ outcome: 'failed', errorClass: 'connection_refused', statusCode: null });
  });
});

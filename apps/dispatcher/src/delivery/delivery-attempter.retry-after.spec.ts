import { describe, expect, it } from '@jest/globals';
import { deliveryJobFixture as job } from '@odis/testing';
import { DeliveryAttempter } from './delivery-attempter.js';
import type { HttpOutcome, WebhookHttpClient } from './webhook-http-client.js';

const now = Date.parse('2024-01-15T10:30:00.000Z');

function attempterAnswering(reply: HttpOutcome): DeliveryAttempter {
  const client: WebhookHttpClient = { post: async () => reply, close: () => undefined };
  return new DeliveryAttempter(client, undefined, () => now);
}
const response = (statusCode: number, retryAfter?: string): HttpOutcome => ({ kind: 'response', statusCode, body: null, truncated: false, durationMs: 3, ...(retryAfter ? { retryAfter } : {}) });
const target = { url: 'https://r.example.com/h', secret: 's' };

describe('DeliveryAttempter and Retry-After (decision 0013)', () => {
  it('carries the wait a 429 or 503 asks for, in seconds or as an HTTP-date', async () => {
    expect((await attempterAnswering(response(429, '3')).attempt(job(), target)).retryAfterMs).toBe(3000);
    expect((await attempterAnswering(response(503, 'Mon, 15 Jan 2024 10:30:04 GMT')).attempt(job(), target)).retryAfterMs).toBe(4000);
    expect((await attempterAnswering(response(429, '86400')).attempt(job(), target)).retryAfterMs).toBe(7_200_000);
  });

  it('ignores Retry-After on other statuses, garbage values and transport errors', async () => {
    expect((await attempterAnswering(response(500, '3')).attempt(job(), target)).retryAfterMs).toBeUndefined();
    expect((await attempterAnswering(response(429, 'later')).attempt(job(), target)).retryAfterMs).toBeUndefined();
    expect((await attempterAnswering(response(429)).attempt(job(), target)).retryAfterMs).toBeUndefined();
    expect((await attempterAnswering({ kind: 'error', error: new Error('x'), durationMs: 1 }).attempt(job(), target)).retryAfterMs).toBeUndefined();
  });
});

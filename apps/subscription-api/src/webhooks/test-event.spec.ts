import { describe, expect, it } from '@jest/globals';
import { deliveryJob, EVENT_TYPES, SEED_EXAMPLES, serializeWebhookPayload, webhookPayloadSchema } from '@odis/contracts';
import { buildTestDelivery, presentTestResult, testEventBody, waitFor } from './test-event.js';

const webhook = { id: 'wh_1', accountId: 'acct_1', url: 'https://hooks.example.com/h', secretEncrypted: 'enc:v1:abc' };
const NOW = Date.parse('2026-02-03T04:05:06.789Z');

describe('buildTestDelivery', () => {
  it.each(EVENT_TYPES)('%s: the seed sample, serialised as the fan-out does, in a valid manual test job', (type) => {
    const job = buildTestDelivery(webhook, type, NOW, { eventId: 'evt_test_1', deliveryId: 'dlv_1' });
    expect(deliveryJob.parse(job)).toEqual(job);
    expect(job.body).toBe(JSON.stringify({ event: type, timestamp: SEED_EXAMPLES[type].timestamp, data: SEED_EXAMPLES[type].data }, null, 2));
    expect(job.body).toBe(serializeWebhookPayload(SEED_EXAMPLES[type]));
    expect(webhookPayloadSchema(type).safeParse(JSON.parse(job.body)).success).toBe(true);
    expect(job).toMatchObject({
      event_type: type,
      event_id: 'evt_test_1',
      delivery_id: 'dlv_1',
      account_id: 'acct_1',
      subscription_id: 'wh_1',
      url: webhook.url,
      secret_encrypted: webhook.secretEncrypted,
      attempt: 1,
      due_at: NOW,
      created_at: '2026-02-03T04:05:06.789Z',
      manual: true,
      test: true,
      previous_attempts: [],
    });
  });

  it('fresh ids each time: evt_test_… and dlv_…', () => {
    const a = buildTestDelivery(webhook, 'call.started', NOW);
    const b = buildTestDelivery(webhook, 'call.started', NOW);
    expect(a.event_id).toMatch(/^evt_test_[0-9a-z]{26}$/);
    expect(a.delivery_id).toMatch(/^dlv_[0-9a-z]{26}$/);
    expect(b.event_id).not.toBe(a.event_id);
    expect(b.delivery_id).not.toBe(a.delivery_id);
  });
});

describe('testEventBody', () => {
  it('defaults to call.started, accepts every type, refuses others naming `event`', () => {
    expect(testEventBody.parse({})).toEqual({ event: 'call.started' });
    for (const type of EVENT_TYPES) expect(testEventBody.parse({ event: type })).toEqual({ event: type });
    const bad = testEventBody.safeParse({ event: 'call.unknown' });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0].path).toEqual(['event']);
    expect(testEventBody.safeParse({ event: 'call.started', extra: 1 }).success).toBe(false);
  });
});

/** A clock that only moves when the waiter sleeps. */
function fakeClock() {
  let t = 0;
  const sleeps: number[] = [];
  return { now: () => t, sleep: async (ms: number) => void (sleeps.push(ms), (t += ms)), sleeps };
}

describe('waitFor', () => {
  it('returns the result as soon as a look finds it', async () => {
    const clock = fakeClock();
    let looks = 0;
    const found = await waitFor(async () => (++looks === 3 ? 'row' : undefined), { timeoutMs: 1000, intervalMs: 100, ...clock });
    expect(found).toBe('row');
    expect(looks).toBe(3);
    expect(clock.sleeps).toEqual([100, 100]);
  });

  it('gives up after the timeout, with a last look at the deadline (the last pause shortened)', async () => {
    const clock = fakeClock();
    const lookedAt: number[] = [];
    const found = await waitFor(async () => void lookedAt.push(clock.now()), { timeoutMs: 250, intervalMs: 100, ...clock });
    expect(found).toBeUndefined();
    expect(lookedAt).toEqual([0, 100, 200, 250]);
  });

  it('a result landing during the last pause is found at the deadline', async () => {
    const clock = fakeClock();
    const found = await waitFor(async () => (clock.now() >= 250 ? 'late' : undefined), { timeoutMs: 250, intervalMs: 100, ...clock });
    expect(found).toBe('late');
  });

  it('a failing look propagates', async () => {
    await expect(waitFor(async () => Promise.reject(new Error('db away')), { timeoutMs: 100, intervalMs: 10, ...fakeClock() })).rejects.toThrow('db away');
  });
});

describe('presentTestResult', () => {
  const row = { deliveryId: 'dlv_1', eventId: 'evt_test_1', durationMs: 12.6, errorClass: null, errorMessage: null };
  it('success: the four fields, duration rounded, no error', () => {
    expect(presentTestResult({ ...row, outcome: 'succeeded', statusCode: 200, responseExcerpt: 'ok' })).toEqual({
      object: 'webhook_test',
      succeeded: true,
      status_code: 200,
      duration_ms: 13,
      response_excerpt: 'ok',
      outcome: 'succeeded',
      error: null,
      delivery_id: 'dlv_1',
      event_id: 'evt_test_1',
    });
  });
  it('failure without a response: status null and why', () => {
    expect(presentTestResult({ ...row, outcome: 'failed', statusCode: null, responseExcerpt: null, errorClass: 'connection_refused', errorMessage: 'ECONNREFUSED' })).toMatchObject({
      succeeded: false,
      status_code: null,
      error: { class: 'connection_refused', message: 'ECONNREFUSED' },
    });
  });
});

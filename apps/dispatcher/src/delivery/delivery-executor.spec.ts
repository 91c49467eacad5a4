import { describe, expect, it } from '@jest/globals';
import { RetrySchedule } from '@odis/config';
import { attemptRecord, deliveryJob, exhaustedDelivery, type AttemptRecord, type DeliveryJob } from '@odis/contracts';
import type { OutboundMessage } from '@odis/messaging';
import { RoutingTable } from '../routing/routing-table.js';
import { deliveryJobFixture as job } from '@odis/testing';
import { route } from '../testing/fixtures.js';
import { DeliveryAttempter } from './delivery-attempter.js';
import { DeliveryExecutor } from './delivery-executor.js';
import { EndpointConcurrencyLimiter } from './endpoint-concurrency-limiter.js';
import { AttemptFollowUp } from './attempt-follow-up.js';
import type { HttpOutcome, WebhookHttpClient } from './webhook-http-client.js';

const NOW = Date.parse('2024-01-15T10:31:00Z');

class ScriptedClient implements WebhookHttpClient {
  calls: Array<{ url: string; headers: Record<string, string> }> = [];
  constructor(private readonly reply: (url: string) => HttpOutcome | Promise<HttpOutcome>) {}
  async post(url: string, _body: string, headers: Record<string, string>) {
    this.calls.push({ url, headers });
    return this.reply(url);
  }
  close() {}
}

function setup(reply: (url: string) => HttpOutcome | Promise<HttpOutcome> = () => ({ kind: 'response', statusCode: 200, body: Buffer.from('ok'), truncated: false, durationMs: 2 })) {
  const sent: Array<{ topic: string; messages: OutboundMessage[] }> = [];
  const sink = { send: async (topic: string, messages: OutboundMessage[]) => void sent.push({ topic, messages }) };
  const table = new RoutingTable();
  const client = new ScriptedClient(reply);
  const limiter = new EndpointConcurrencyLimiter(2);
  const executor = new DeliveryExecutor({
    attempter: new DeliveryAttempter(client, undefined, () => NOW),
    limiter,
    followUp: new AttemptFollowUp(RetrySchedule.parse('0,1s,2s')),
    sink,
    table,
    decrypt: (sealed, context) => `plain(${sealed},${context})`,
    now: () => NOW,
  });
  const values = (topic: string) => sent.filter((s) => s.topic === topic).flatMap((s) => s.messages.map((m) => JSON.parse(String(m.value))));
  return { executor, table, client, limiter, sent, values };
}

describe('DeliveryExecutor', () => {
  it('success: one attempt record keyed by subscription, nothing else', async () => {
    const { executor, table, client, values, sent, limiter } = setup();
    table.upsert(route({ id: 'wh_1', secret: 'current-secret', url: 'https://now.example.com/h' }));
    await executor.runQueued(job());
    expect(client.calls[0].url).toBe('https://now.example.com/h');
    const [record] = values('webhooks.attempts') as AttemptRecord[];
    expect(attemptRecord.parse(record)).toMatchObject({ outcome: 'succeeded', status_code: 200, attempt: 1, delivery_id: 'dlv_1', next_attempt_at: null, url: 'https://now.example.com/h', response_excerpt: 'ok' });
    expect(sent.map((s) => s.topic)).toEqual(['webhooks.attempts']);
    expect(sent[0].messages[0].key).toBe('wh_1');
    expect(limiter.stats()).toEqual({ endpoints: 0, active: 0, queued: 0 });
    expect(executor.counters).toMatchObject({ attempts: 1, succeeded: 1, failed: 0 });
  });

  it('failure before the last attempt: attempt record with next_attempt_at, job to the next tier', async () => {
    const { executor, table, values } = setup(() => ({ kind: 'response', statusCode: 503, body: Buffer.from('busy'), truncated: false, durationMs: 2 }));
    table.upsert(route({ id: 'wh_1' }));
    await executor.runQueued(job());
    const [record] = values('webhooks.attempts') as AttemptRecord[];
    expect(record).toMatchObject({ outcome: 'failed', error_class: 'http_status', status_code: 503, next_attempt_at: NOW + 1000 });
    const [retry] = values('webhooks.retry.2') as DeliveryJob[];
    expect(deliveryJob.parse(retry)).toMatchObject({ attempt: 2, due_at: NOW + 1000, delivery_id: 'dlv_1' });
    expect(retry.previous_attempts).toHaveLength(1);
  });

  it('failure of the last attempt: exhausted', async () => {
    const { executor, table, values } = setup(() => ({ kind: 'error', error: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }), durationMs: 1 }));
    table.upsert(route({ id: 'wh_1' }));
    await executor.runQueued(job({ attempt: 3 }));
    expect(values('webhooks.attempts')[0]).toMatchObject({ outcome: 'failed', error_class: 'connection_refused', next_attempt_at: null, attempt: 3 });
    expect(exhaustedDelivery.parse(values('webhooks.exhausted')[0]).attempts).toHaveLength(1);
    expect(executor.counters.exhausted).toBe(1);
  });

  it('skips (records, does not send) when the webhook is disabled, deleted, unsubscribed or long gone', async () => {
    const { executor, table, client, values } = setup();
    table.upsert(route({ id: 'wh_dis', active: false }));
    table.upsert(route({ id: 'wh_unsub', events: ['call.ended'] }));
    table.upsert(route({ id: 'wh_del' }));
    table.remove('wh_del');
    await executor.runQueued(job({ subscription_id: 'wh_dis' }));
    await executor.runQueued(job({ subscription_id: 'wh_unsub' }));
    await executor.runQueued(job({ subscription_id: 'wh_del' }));
    await executor.runQueued(job({ subscription_id: 'wh_gone', created_at: '2024-01-15T10:00:00.000Z' }));
    expect(client.calls).toHaveLength(0);
    const records = values('webhooks.attempts') as AttemptRecord[];
    expect(records.map((r) => [r.subscription_id, r.outcome, r.error_message])).toEqual([
      ['wh_dis', 'skipped', 'webhook is disabled'],
      ['wh_unsub', 'skipped', 'webhook is no longer subscribed to call.started'],
      ['wh_del', 'skipped', 'webhook was deleted'],
      ['wh_gone', 'skipped', 'webhook no longer exists'],
    ]);
    for (const r of records) expect(attemptRecord.safeParse(r).success).toBe(true);
    expect(executor.counters.skipped).toBe(4);
  });

  it('a test event (test + manual) is sent to a disabled or unsubscribed webhook, still skipped for a deleted one, and never retried', async () => {
    const { executor, table, client, values, sent } = setup(() => ({ kind: 'response', statusCode: 500, body: Buffer.from('no'), truncated: false, durationMs: 2 }));
    table.upsert(route({ id: 'wh_dis', active: false, url: 'https://dis.example.com/h' }));
    table.upsert(route({ id: 'wh_unsub', events: ['call.ended'], url: 'https://unsub.example.com/h' }));
    table.upsert(route({ id: 'wh_del' }));
    table.remove('wh_del');
    for (const id of ['wh_dis', 'wh_unsub', 'wh_del']) await executor.runQueued(job({ subscription_id: id, test: true, manual: true }));
    expect(client.calls.map((c) => c.url)).toEqual(['https://dis.example.com/h', 'https://unsub.example.com/h']);
    const records = values('webhooks.attempts') as AttemptRecord[];
    expect(records.map((r) => [r.subscription_id, r.outcome, r.status_code, r.next_attempt_at, r.manual])).toEqual([
      ['wh_dis', 'failed', 500, null, true],
      ['wh_unsub', 'failed', 500, null, true],
      ['wh_del', 'skipped', null, null, true],
    ]);
    expect(sent.every((s) => s.topic === 'webhooks.attempts')).toBe(true);
  });

  it('a recent job for a subscription not applied yet is sent with the data it carries', async () => {
    const { executor, client, values } = setup();
    await executor.runQueued(job({ subscription_id: 'wh_new', url: 'https://fresh.example.com/h', secret_encrypted: 'enc:v1:s', created_at: '2024-01-15T10:30:30.000Z' }));
    expect(client.calls[0].url).toBe('https://fresh.example.com/h');
    expect(values('webhooks.attempts')[0]).toMatchObject({ outcome: 'succeeded' });
  });

  it('queued jobs of one endpoint wait for its slots; the slot is released after the HTTP part', async () => {
    let open: Array<() => void> = [];
    const { executor, table, limiter } = setup(
      () => new Promise<HttpOutcome>((resolve) => open.push(() => resolve({ kind: 'response', statusCode: 200, body: null, truncated: false, durationMs: 1 }))),
    );
    table.upsert(route({ id: 'wh_1' }));
    const runs = [1, 2, 3].map((i) => executor.runQueued(job({ delivery_id: `dlv_${i}` })));
    await new Promise((r) => setImmediate(r));
    expect(limiter.inFlight('https://hooks.example.com')).toBe(2);
    expect(limiter.queued('https://hooks.example.com')).toBe(1);
    for (let i = 0; i < 3; i++) {
      const release = open;
      open = [];
      release.forEach((f) => f());
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(runs);
    expect(limiter.stats()).toEqual({ endpoints: 0, active: 0, queued: 0 });
  });
});

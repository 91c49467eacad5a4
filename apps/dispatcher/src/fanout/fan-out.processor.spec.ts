import { describe, expect, it } from '@jest/globals';
import { RetrySchedule } from '@odis/config';
import { deliveryIdFor, deliveryJob, type DeliveryJob } from '@odis/contracts';
import type { InboundMessage, OutboundMessage } from '@odis/messaging';
import { DeliveryAttempter } from '../delivery/delivery-attempter.js';
import { DeliveryExecutor } from '../delivery/delivery-executor.js';
import { EndpointConcurrencyLimiter } from '../delivery/endpoint-concurrency-limiter.js';
import { AttemptFollowUp } from '../delivery/attempt-follow-up.js';
import type { HttpOutcome, WebhookHttpClient } from '../delivery/webhook-http-client.js';
import { RoutingTable } from '../routing/routing-table.js';
import { route, validatedEvent } from '../testing/fixtures.js';
import { FanOutPlanner } from './fan-out-planner.js';
import { FanOutProcessor } from './fan-out.processor.js';

const ok: HttpOutcome = { kind: 'response', statusCode: 200, body: null, truncated: false, durationMs: 1 };

function setup(perEndpoint = 2, handoffAfterMs = 0) {
  const posted: string[] = [];
  const hanging: Array<() => void> = [];
  const client: WebhookHttpClient = {
    post: (url) => {
      posted.push(url);
      if (url.includes('hanging')) return new Promise((resolve) => hanging.push(() => resolve(ok)));
      return Promise.resolve(ok);
    },
    close: () => undefined,
  };
  const sent: Array<{ topic: string; messages: OutboundMessage[] }> = [];
  const send = async (topic: string, messages: OutboundMessage[]) => void sent.push({ topic, messages });
  const table = new RoutingTable();
  const limiter = new EndpointConcurrencyLimiter(perEndpoint);
  const executor = new DeliveryExecutor({
    attempter: new DeliveryAttempter(client),
    limiter,
    followUp: new AttemptFollowUp(RetrySchedule.default()),
    sink: { send },
    table,
    decrypt: () => 'x',
  });
  const processor = new FanOutProcessor({ table, planner: new FanOutPlanner(), executor, limiter, sendDurably: send, handoffAfterMs });
  return { processor, table, posted, hanging, sent, limiter };
}

const message = (value: unknown, offset = '0'): InboundMessage => ({
  topic: 'events.call.started',
  partition: 0,
  offset,
  key: Buffer.from('acct_1'),
  value: Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
  headers: {},
  timestamp: 0,
});

describe('FanOutProcessor', () => {
  it('attempts each matching subscription inline and records the outcomes', async () => {
    const { processor, table, posted, sent } = setup();
    table.upsert(route({ id: 'wh_a', url: 'https://a.example.com/h' }));
    table.upsert(route({ id: 'wh_b', url: 'https://b.example.com/h' }));
    table.upsert(route({ id: 'wh_other', accountId: 'acct_2', url: 'https://c.example.com/h' }));
    expect(await processor.process(message(validatedEvent('call.started', { event_id: 'evt_9' })))).toEqual({ kind: 'done' });
    expect(posted.sort()).toEqual(['https://a.example.com/h', 'https://b.example.com/h']);
    const records = sent.filter((s) => s.topic === 'webhooks.attempts').flatMap((s) => s.messages.map((m) => JSON.parse(String(m.value))));
    expect(records.map((r) => r.delivery_id).sort()).toEqual([deliveryIdFor('evt_9', 'wh_a'), deliveryIdFor('evt_9', 'wh_b')].sort());
    expect(processor.counters).toMatchObject({ events: 1, deliveries: 2, inline: 2, handedOff: 0 });
  });

  it('hands every delivery of a rate-limited webhook to webhooks.deliveries, where its one partition owner paces it', async () => {
    const { processor, table, posted, sent } = setup();
    table.upsert(route({ id: 'wh_paced', url: 'https://paced.example.com/h', rateLimitPerSecond: 20 }));
    table.upsert(route({ id: 'wh_free', url: 'https://free.example.com/h' }));
    expect(await processor.process(message(validatedEvent('call.started', { event_id: 'evt_r' })))).toEqual({ kind: 'done' });
    expect(posted).toEqual(['https://free.example.com/h']);
    const handedOff = sent.filter((s) => s.topic === 'webhooks.deliveries').flatMap((s) => s.messages);
    expect(handedOff.map((m) => m.key)).toEqual(['wh_paced']);
    expect(processor.counters).toMatchObject({ inline: 1, handedOff: 1 });
  });

  it('hands deliveries of a saturated endpoint off to webhooks.deliveries instead of waiting for it', async () => {
    const { processor, table, hanging, sent, posted } = setup(1);
    table.upsert(route({ id: 'wh_hang', url: 'https://hanging.example.com/h' }));
    table.upsert(route({ id: 'wh_ok', url: 'https://ok.example.com/h' }));
    const first = processor.process(message(validatedEvent('call.started', { event_id: 'evt_1' }), '0'));
    await new Promise((r) => setImmediate(r)); // evt_1's healthy delivery finishes; its hanging one does not
    // The hanging endpoint's only slot is taken by evt_1; evt_2 and evt_3 finish without it.
    expect(await processor.process(message(validatedEvent('call.started', { event_id: 'evt_2' }), '1'))).toEqual({ kind: 'done' });
    expect(await processor.process(message(validatedEvent('call.started', { event_id: 'evt_3' }), '2'))).toEqual({ kind: 'done' });
    const handedOff = sent.filter((s) => s.topic === 'webhooks.deliveries').flatMap((s) => s.messages);
    expect(handedOff.map((m) => m.key)).toEqual(['wh_hang', 'wh_hang']);
    const jobs = handedOff.map((m) => deliveryJob.parse(JSON.parse(String(m.value))) as DeliveryJob);
    expect(jobs.map((j) => j.delivery_id)).toEqual([deliveryIdFor('evt_2', 'wh_hang'), deliveryIdFor('evt_3', 'wh_hang')]);
    expect(posted.filter((u) => u.includes('ok.example.com'))).toHaveLength(3);
    expect(processor.counters).toMatchObject({ inline: 4, waited: 0, handedOff: 2 });
    hanging.forEach((f) => f());
    expect(await first).toEqual({ kind: 'done' });
  });

  it('waits for a busy endpoint whose slots turn over instead of handing off', async () => {
    const { processor, table, hanging, sent, posted } = setup(1, 5_000);
    table.upsert(route({ id: 'wh_busy', url: 'https://hanging.example.com/h' }));
    const first = processor.process(message(validatedEvent('call.started', { event_id: 'evt_1' }), '0'));
    const second = processor.process(message(validatedEvent('call.started', { event_id: 'evt_2' }), '1'));
    await new Promise((r) => setImmediate(r));
    expect(posted).toHaveLength(1);
    hanging.shift()!(); // the first request answers: its slot goes to evt_2
    await first;
    await new Promise((r) => setImmediate(r));
    expect(posted).toHaveLength(2);
    hanging.shift()!();
    expect(await second).toEqual({ kind: 'done' });
    expect(sent.filter((s) => s.topic === 'webhooks.deliveries')).toEqual([]);
    expect(processor.counters).toMatchObject({ inline: 2, waited: 1, handedOff: 0 });
  });

  it('is done at once for an event nobody subscribed to, and dead-letters an undecodable one', async () => {
    const { processor, sent } = setup();
    expect(await processor.process(message(validatedEvent()))).toEqual({ kind: 'done' });
    expect(processor.counters.eventsWithoutSubscribers).toBe(1);
    expect(sent).toEqual([]);
    const dead = await processor.process(message('{"v":1}'));
    expect(dead.kind).toBe('dead-letter');
    expect((await processor.process(message('nope'))).kind).toBe('dead-letter');
  });
});

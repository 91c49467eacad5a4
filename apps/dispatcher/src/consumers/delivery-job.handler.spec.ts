import { describe, expect, it } from '@jest/globals';
import { RetrySchedule } from '@odis/config';
import { DeliveryJobCodec, KAFKA_HEADERS, type DeliveryJob } from '@odis/contracts';
import type { InboundMessage, OutboundMessage } from '@odis/messaging';
import { deliveryJobFixture } from '@odis/testing';
import { AttemptFollowUp } from '../delivery/attempt-follow-up.js';
import type { DeliveryExecutor } from '../delivery/delivery-executor.js';
import { WebhookRateLimiter } from '../delivery/webhook-rate-limiter.js';
import { DeliveryJobHandler } from './delivery-job.handler.js';

const now = Date.parse('2024-01-15T10:30:00Z');
const message = (job: DeliveryJob): InboundMessage => ({ topic: 'webhooks.deliveries', partition: 0, offset: '1', key: null, value: Buffer.from(JSON.stringify(job)), headers: {}, timestamp: now });

function setup() {
  const attempted: DeliveryJob[] = [];
  const sent: Array<{ topic: string; messages: OutboundMessage[] }> = [];
  const executor = { runQueued: async (job: DeliveryJob) => void attempted.push(job) } as unknown as DeliveryExecutor;
  const handler = new DeliveryJobHandler(executor, {
    followUp: new AttemptFollowUp(RetrySchedule.parse('0,1s,2s,3s,4s')),
    sink: { send: async (topic, messages) => void sent.push({ topic, messages }) },
    now: () => now,
  });
  return { handler, attempted, sent };
}

describe('DeliveryJobHandler and Retry-After jobs back early (decision 0013)', () => {
  it('parks a Retry-After job whose wait is not over in the tier that can hold the rest, without attempting it', async () => {
    const { handler, attempted, sent } = setup();
    const job = deliveryJobFixture({ attempt: 2, due_at: now + 30_000, retry_after_ms: 60_000 });
    expect(await handler.handle(message(job))).toEqual({ kind: 'done' });
    expect(attempted).toHaveLength(0);
    expect(sent.map((s) => s.topic)).toEqual(['webhooks.retry.5']);
    expect(DeliveryJobCodec.decode(sent[0]!.messages[0]!.value as string)).toEqual({ ok: true, value: job });
  });

  it('attempts a due Retry-After job and any ordinary job', async () => {
    const { handler, attempted, sent } = setup();
    await handler.handle(message(deliveryJobFixture({ attempt: 2, due_at: now + 500, retry_after_ms: 3000 })));
    await handler.handle(message(deliveryJobFixture({ attempt: 1, due_at: now + 30_000 })));
    expect(attempted).toHaveLength(2);
    expect(sent).toHaveLength(0);
  });
});

describe('DeliveryJobHandler and rate-limited webhooks (decision 0013)', () => {
  it('waits for the webhook slot before the attempt; others go at once', async () => {
    const order: string[] = [];
    const executor = { runQueued: async (job: DeliveryJob) => void order.push(`attempt ${job.subscription_id}`) } as unknown as DeliveryExecutor;
    const limiter = { take: async (id: string, rate: number) => void order.push(`wait ${id} ${rate}/s`) } as never;
    const table = { get: (id: string) => (id === 'wh_limited' ? ({ rateLimitPerSecond: 20 } as never) : undefined) };
    const handler = new DeliveryJobHandler(executor, undefined, { limiter, table });
    await handler.handle(message(deliveryJobFixture({ subscription_id: 'wh_limited' })));
    await handler.handle(message(deliveryJobFixture({ subscription_id: 'wh_free' })));
    expect(order).toEqual(['wait wh_limited 20/s', 'attempt wh_limited', 'attempt wh_free']);
  });
});

describe('DeliveryJobHandler parks a rate-limited backlog beyond the waiting room (decision 0013)', () => {
  function rateSetup(route: { rateLimitPerSecond: number; active: boolean; orderByCall?: boolean }) {
    let clock = now;
    const attempted: string[] = [];
    const parked: Array<{ job: DeliveryJob; untilMs: number }> = [];
    const executor = { runQueued: async (job: DeliveryJob) => void attempted.push(job.delivery_id) } as unknown as DeliveryExecutor;
    // Sleeps never end: whoever waits for a slot keeps waiting (holds a place of the window).
    const limiter = new WebhookRateLimiter({ now: () => clock, sleep: () => new Promise<void>(() => undefined) });
    const table = { get: (id: string) => (id === 'wh_limited' ? (route as never) : undefined) };
    const park = async (job: DeliveryJob, untilMs: number) => void parked.push({ job, untilMs });
    const pacing = { limiter, table, park, maxParkMs: 3_600_000 };
    const handler = new DeliveryJobHandler(executor, undefined, pacing);
    return { handler, pacing, attempted, parked, limiter, advance: (ms: number) => (clock += ms) };
  }
  const settle = () => new Promise((r) => setImmediate(r));

  it('with 8 deliveries waiting for their slot, the next ones are parked until about their slots, unchanged and not attempted', async () => {
    const { handler, attempted, parked, limiter } = rateSetup({ rateLimitPerSecond: 2, active: true });
    const jobs = Array.from({ length: 20 }, (_, i) => deliveryJobFixture({ subscription_id: 'wh_limited', delivery_id: `dlv_${i}`, attempt: i % 2 ? 3 : 1 }));
    const done: string[] = [];
    for (const job of jobs) void handler.handle(message(job)).then(() => done.push(job.delivery_id));
    await settle();
    // The room is 8 (the slots of the next second, at least 8): the first started at once, 7 wait.
    expect(attempted).toEqual(['dlv_0']);
    expect(limiter.waitingFor('wh_limited')).toBe(7);
    expect(parked.map((p) => p.job.delivery_id)).toEqual(jobs.slice(8).map((j) => j.delivery_id));
    // Parked deliveries are done for the consumer (they leave the window); the waiting ones are not.
    expect(done.sort()).toEqual(['dlv_0', ...jobs.slice(8).map((j) => j.delivery_id)].sort());
    // The same job (attempt number and history kept); due one slot (500 ms) apart, 1 s before its slot.
    for (const [i, p] of parked.entries()) {
      expect(p.job).toEqual(jobs[8 + i]);
      expect(p.untilMs).toBe(now + (8 + i) * 500 - 1000);
    }
  });

  it('a delivery back from a rate park is let in; ordered, disabled and unlimited ones are never parked for rate', async () => {
    const { handler, attempted, parked } = rateSetup({ rateLimitPerSecond: 1, active: true });
    for (let i = 0; i < 9; i++) void handler.handle(message(deliveryJobFixture({ subscription_id: 'wh_limited', delivery_id: `dlv_${i}` })));
    await settle();
    expect(parked).toHaveLength(1);
    const back = { ...message(deliveryJobFixture({ subscription_id: 'wh_limited', delivery_id: 'dlv_back' })), headers: { [KAFKA_HEADERS.parked]: 'rate_limited' } };
    void handler.handle(back);
    void handler.handle(message(deliveryJobFixture({ subscription_id: 'wh_free', delivery_id: 'dlv_free' })));
    await settle();
    expect(parked).toHaveLength(1);
    expect(attempted).toEqual(['dlv_0', 'dlv_free']);

    // An ordered webhook's deliveries (with order_key) go through their call's lane, where the head waits for the slot.
    const ordered = rateSetup({ rateLimitPerSecond: 1, active: true, orderByCall: true });
    const lanes = { admit: async () => ({ kind: 'go', token: 1 }), finish: async () => undefined, abandon: () => undefined } as never;
    const orderedHandler = new DeliveryJobHandler({ runQueued: async () => ({ kind: 'done' }) } as never, undefined, ordered.pacing, lanes);
    for (let i = 0; i < 12; i++) void orderedHandler.handle(message(deliveryJobFixture({ subscription_id: 'wh_limited', delivery_id: `dlv_${i}`, order_key: `call_${i}` })));
    await settle();
    expect(ordered.parked).toHaveLength(0);
    expect(ordered.limiter.waitingFor('wh_limited')).toBe(11);

    const disabled = rateSetup({ rateLimitPerSecond: 1, active: false });
    for (let i = 0; i < 12; i++) void disabled.handler.handle(message(deliveryJobFixture({ subscription_id: 'wh_limited', delivery_id: `dlv_${i}` })));
    await settle();
    expect(disabled.parked).toHaveLength(0);
  });
});

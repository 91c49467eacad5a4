import { describe, expect, it } from '@jest/globals';
import { RetrySchedule } from '@odis/config';
import { DeliveryJobCodec, type DeliveryJob } from '@odis/contracts';
import type { InboundMessage, OutboundMessage } from '@odis/messaging';
import { deliveryJobFixture } from '@odis/testing';
import { AttemptFollowUp } from '../delivery/attempt-follow-up.js';
import type { DeliveryExecutor } from '../delivery/delivery-executor.js';
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

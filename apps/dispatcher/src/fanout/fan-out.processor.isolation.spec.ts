import { describe, expect, it } from '@jest/globals';
import { RetrySchedule } from '@odis/config';
import { KAFKA_HEADERS, type DeliveryJob } from '@odis/contracts';
import type { InboundMessage, OutboundMessage } from '@odis/messaging';
import { AttemptFollowUp } from '../delivery/attempt-follow-up.js';
import { DeliveryAttempter } from '../delivery/delivery-attempter.js';
import { DeliveryExecutor } from '../delivery/delivery-executor.js';
import { DeliveryParker } from '../delivery/delivery-parker.js';
import { EndpointCircuitBreaker } from '../delivery/endpoint-circuit-breaker.js';
import { EndpointConcurrencyLimiter } from '../delivery/endpoint-concurrency-limiter.js';
import type { WebhookHttpClient } from '../delivery/webhook-http-client.js';
import { RoutingTable } from '../routing/routing-table.js';
import { route, validatedEvent } from '../testing/fixtures.js';
import { FanOutPlanner } from './fan-out-planner.js';
import { FanOutProcessor } from './fan-out.processor.js';

const message = (value: unknown): InboundMessage => ({
  topic: 'events.call.started',
  partition: 0,
  offset: '0',
  key: Buffer.from('acct_1'),
  value: Buffer.from(JSON.stringify(value)),
  headers: {},
  timestamp: 0,
});

describe('FanOutProcessor with an open breaker (decision 0014)', () => {
  it('parks the first attempt of an endpoint whose breaker is open (no request, no hand-off); other endpoints go inline', async () => {
    const now = Date.parse('2024-01-15T10:31:00Z');
    const posted: string[] = [];
    const client: WebhookHttpClient = {
      post: async (url) => {
        posted.push(url);
        return { kind: 'response', statusCode: 200, body: null, truncated: false, durationMs: 1 };
      },
      close: () => undefined,
    };
    const sent: Array<{ topic: string; messages: OutboundMessage[] }> = [];
    const send = async (topic: string, messages: OutboundMessage[]) => void sent.push({ topic, messages });
    const schedule = RetrySchedule.default();
    const breaker = new EndpointCircuitBreaker({ failureThreshold: 1, openMs: 30_000, maxOpenMs: 300_000, probeLeaseMs: 11_000, now: () => now });
    breaker.record('https://dead.example.com', 'timeout');
    const table = new RoutingTable();
    const limiter = new EndpointConcurrencyLimiter(2);
    const executor = new DeliveryExecutor({
      attempter: new DeliveryAttempter(client),
      limiter,
      followUp: new AttemptFollowUp(schedule),
      sink: { send },
      table,
      decrypt: () => 'x',
      now: () => now,
      breaker,
      parker: new DeliveryParker(schedule, () => now),
    });
    const processor = new FanOutProcessor({ table, planner: new FanOutPlanner(), executor, limiter, sendDurably: send, now: () => now });
    table.upsert(route({ id: 'wh_dead', url: 'https://dead.example.com/h' }));
    table.upsert(route({ id: 'wh_fine', url: 'https://fine.example.com/h' }));

    expect(await processor.process(message(validatedEvent('call.started', { event_id: 'evt_1' })))).toEqual({ kind: 'done' });
    expect(posted).toEqual(['https://fine.example.com/h']);
    expect(sent.map((s) => s.topic).sort()).toEqual(['webhooks.attempts', 'webhooks.retry.2']);
    const parked = sent.find((s) => s.topic === 'webhooks.retry.2')!.messages[0]!;
    expect(JSON.parse(String(parked.value)) as DeliveryJob).toMatchObject({ subscription_id: 'wh_dead', attempt: 1, due_at: now + 30_000 });
    expect(parked.headers?.[KAFKA_HEADERS.parked]).toBe('circuit_open');
    expect(processor.counters).toMatchObject({ deliveries: 2, inline: 1, handedOff: 0, parked: 1 });
    expect(limiter.stats()).toEqual({ endpoints: 0, active: 0, queued: 0 });
  });
});

import { describe, expect, it } from '@jest/globals';
import { RetrySchedule } from '@odis/config';
import { KAFKA_HEADERS, type AttemptRecord, type DeliveryJob } from '@odis/contracts';
import type { OutboundMessage } from '@odis/messaging';
import { deliveryJobFixture as job } from '@odis/testing';
import { RoutingTable } from '../routing/routing-table.js';
import { route } from '../testing/fixtures.js';
import { AttemptFollowUp } from './attempt-follow-up.js';
import { DeliveryAttempter } from './delivery-attempter.js';
import { DeliveryExecutor } from './delivery-executor.js';
import { DeliveryParker } from './delivery-parker.js';
import { EndpointCircuitBreaker } from './endpoint-circuit-breaker.js';
import { EndpointConcurrencyLimiter } from './endpoint-concurrency-limiter.js';
import type { HttpOutcome, WebhookHttpClient } from './webhook-http-client.js';

const ENDPOINT = 'https://hooks.example.com';
const TIMEOUT: HttpOutcome = { kind: 'error', error: Object.assign(new Error('Timeout awaiting request'), { code: 'ETIMEDOUT', name: 'TimeoutError' }), durationMs: 1000 };

function setup(reply: () => HttpOutcome | Promise<HttpOutcome>) {
  let now = Date.parse('2024-01-15T10:31:00Z');
  const clock = () => now;
  const schedule = RetrySchedule.parse('0,1s,2s,3s,4s');
  const sent: Array<{ topic: string; message: OutboundMessage }> = [];
  const calls: string[] = [];
  const client: WebhookHttpClient = {
    post: async (_url, _body, headers) => {
      calls.push(`${headers['X-ODIS-Delivery-Id']}#${headers['X-ODIS-Attempt']}`);
      return reply();
    },
    close: () => undefined,
  };
  const breaker = new EndpointCircuitBreaker({ failureThreshold: 2, openMs: 1_500, maxOpenMs: 4_000, probeLeaseMs: 2_000, now: clock });
  const limiter = new EndpointConcurrencyLimiter(2, clock);
  const table = new RoutingTable();
  table.upsert(route({ id: 'wh_1' }));
  const executor = new DeliveryExecutor({
    attempter: new DeliveryAttempter(client, undefined, clock),
    limiter,
    followUp: new AttemptFollowUp(schedule),
    sink: { send: async (topic, messages) => void messages.forEach((message) => sent.push({ topic, message })) },
    table,
    decrypt: () => 'secret',
    now: clock,
    breaker,
    parker: new DeliveryParker(schedule, clock),
    stallAfterMs: 1_000,
  });
  const on = (topic: string) => sent.filter((s) => s.topic === topic);
  return { executor, breaker, limiter, calls, on, sent, advance: (ms: number) => (now += ms), now: clock };
}

describe('DeliveryExecutor with endpoint isolation (decision 0014)', () => {
  it('an open breaker parks first attempts on the retry path: same job and attempt, nothing recorded, nothing sent', async () => {
    const { executor, breaker, calls, on, now } = setup(() => TIMEOUT);
    await executor.runQueued(job({ delivery_id: 'dlv_a' }));
    await executor.runQueued(job({ delivery_id: 'dlv_b' }));
    expect(breaker.state(ENDPOINT)).toBe('open');
    expect(on('webhooks.attempts')).toHaveLength(2);

    await executor.runQueued(job({ delivery_id: 'dlv_c' }));
    expect(calls).toEqual(['dlv_a#1', 'dlv_b#1']); // dlv_c was not attempted
    expect(on('webhooks.attempts')).toHaveLength(2); // and not recorded as an attempt
    // 1.5 s open → the tier whose delay is the smallest ≥ 1.5 s: webhooks.retry.3 (2 s), due at the opening's end.
    const [parked] = on('webhooks.retry.3');
    const parkedJob = JSON.parse(String(parked!.message.value)) as DeliveryJob;
    expect(parkedJob).toMatchObject({ delivery_id: 'dlv_c', attempt: 1, due_at: now() + 1_500, previous_attempts: [] });
    expect(parked!.message.headers?.[KAFKA_HEADERS.parked]).toBe('circuit_open');
    expect(parked!.message.key).toBe('wh_1');
    expect(executor.counters).toMatchObject({ attempts: 2, parked: 1, parkedCircuitOpen: 1, parkedStalled: 0 });
  });

  it('while open, a retry is attempted on its schedule and its failure goes to the next tier as usual', async () => {
    const { executor, calls, on, now } = setup(() => TIMEOUT);
    await executor.runQueued(job({ delivery_id: 'dlv_a' }));
    await executor.runQueued(job({ delivery_id: 'dlv_b' }));
    await executor.runQueued(job({ delivery_id: 'dlv_a', attempt: 2, due_at: now() }));
    expect(calls).toEqual(['dlv_a#1', 'dlv_b#1', 'dlv_a#2']);
    const retry = on('webhooks.retry.3').map((s) => JSON.parse(String(s.message.value)) as DeliveryJob);
    expect(retry).toHaveLength(1);
    expect(retry[0]).toMatchObject({ delivery_id: 'dlv_a', attempt: 3, due_at: now() + 2_000 });
    expect(on('webhooks.retry.3')[0]!.message.headers?.[KAFKA_HEADERS.parked]).toBeUndefined();
  });

  it('half-open: one probe; its HTTP answer closes the breaker and the next first attempts go again', async () => {
    let answer: HttpOutcome = TIMEOUT;
    const { executor, breaker, calls, on, advance } = setup(() => answer);
    await executor.runQueued(job({ delivery_id: 'dlv_a' }));
    await executor.runQueued(job({ delivery_id: 'dlv_b' }));
    advance(1_500);
    answer = { kind: 'response', statusCode: 200, body: null, truncated: false, durationMs: 3 };
    await executor.runQueued(job({ delivery_id: 'dlv_c' }));
    expect(breaker.state(ENDPOINT)).toBe('closed');
    await executor.runQueued(job({ delivery_id: 'dlv_d' }));
    expect(calls).toEqual(['dlv_a#1', 'dlv_b#1', 'dlv_c#1', 'dlv_d#1']);
    expect((on('webhooks.attempts').map((s) => JSON.parse(String(s.message.value))) as AttemptRecord[]).map((r) => r.outcome)).toEqual(['failed', 'failed', 'succeeded', 'succeeded']);
  });

  it('a stalled endpoint holds at most its limit of waiters: further queued jobs are parked, not held in the window', async () => {
    const pending: Array<(o: HttpOutcome) => void> = [];
    const { executor, limiter, on, advance } = setup(() => new Promise<HttpOutcome>((resolve) => pending.push(resolve)));
    const running = [1, 2, 3, 4].map((i) => executor.runQueued(job({ delivery_id: `dlv_${i}` })));
    await new Promise((r) => setImmediate(r));
    expect(limiter.inFlight(ENDPOINT)).toBe(2);
    expect(limiter.queued(ENDPOINT)).toBe(2);
    // Not stalled yet (a busy endpoint): the next one waits too.
    const fifth = executor.runQueued(job({ delivery_id: 'dlv_5' }));
    await new Promise((r) => setImmediate(r));
    expect(limiter.queued(ENDPOINT)).toBe(3);
    advance(1_000); // no slot freed for 1 s: stalled
    await executor.runQueued(job({ delivery_id: 'dlv_6', attempt: 2 }));
    expect(on('webhooks.retry.3').map((s) => JSON.parse(String(s.message.value)).delivery_id)).toEqual(['dlv_6']); // parked for DISPATCH_BREAKER_OPEN_MS (1.5 s)
    expect(executor.counters.parkedStalled).toBe(1);
    for (let i = 0; i < 5; i++) {
      pending.splice(0).forEach((resolve) => resolve({ kind: 'response', statusCode: 200, body: null, truncated: false, durationMs: 1 }));
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all([...running, fifth]);
  });

  it('manual attempts (redelivery, test event) are never parked', async () => {
    const { executor, calls } = setup(() => TIMEOUT);
    await executor.runQueued(job({ delivery_id: 'dlv_a' }));
    await executor.runQueued(job({ delivery_id: 'dlv_b' }));
    await executor.runQueued(job({ delivery_id: 'dlv_m', manual: true }));
    expect(calls).toEqual(['dlv_a#1', 'dlv_b#1', 'dlv_m#1']);
  });
});

describe('DeliveryParker', () => {
  const schedule = RetrySchedule.parse('0,1m,5m,30m,2h');
  const now = 1_000_000;
  const parker = new DeliveryParker(schedule, () => now);

  it.each([
    [30_000, 'webhooks.retry.2', 30_000],
    [60_000, 'webhooks.retry.2', 60_000],
    [61_000, 'webhooks.retry.3', 61_000],
    [-5, 'webhooks.retry.2', 0],
    [10 * 3_600_000, 'webhooks.retry.5', 2 * 3_600_000], // cut to the last tier's delay
  ])('a wait of %d ms goes to %s, due after %d ms', (wait, topic, due) => {
    const planned = parker.plan(job({ attempt: 3 }), now + wait, 'endpoint_stalled');
    expect(planned.topic).toBe(topic);
    expect(planned.dueAt).toBe(now + due);
    expect(JSON.parse(String(planned.message.value))).toMatchObject({ attempt: 3, due_at: now + due });
    expect(planned.message.headers?.[KAFKA_HEADERS.parked]).toBe('endpoint_stalled');
  });

  it('cannot park with a single-attempt schedule', () => {
    expect(new DeliveryParker(RetrySchedule.parse('0')).canPark).toBe(false);
  });
});

import { describe, expect, it, beforeEach } from '@jest/globals';
import { RetrySchedule } from '@odis/config';
import type { DeliveryJob } from '@odis/contracts';
import type { InboundMessage } from '@odis/messaging';
import { deliveryJobFixture } from '@odis/testing';
import { RetryHandler, type DeliveryPublisher } from './retry.handler.js';
import { PermanentFailureError } from '@odis/platform';

const MINUTE = 60_000;
const failedAt = Date.parse('2024-01-15T10:30:00Z');

function job(attempt: number, dueAt: number): DeliveryJob {
  return deliveryJobFixture({ attempt, due_at: dueAt, url: 'https://clinic.example.com/hook', secret_encrypted: 'v1.x', created_at: '2024-01-15T10:29:59.000Z' });
}

function record(topic: string, value: unknown, timestamp = failedAt + 5): InboundMessage {
  return {
    topic,
    partition: 2,
    offset: '17',
    key: Buffer.from('wh_1'),
    value: value === null ? null : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
    headers: { 'x-trace': 'abc' },
    timestamp,
  };
}

class FakePublisher implements DeliveryPublisher {
  published: Array<{ job: DeliveryJob; raw: Buffer; headers: Record<string, string> }> = [];
  failures = 0;
  async publish(job: DeliveryJob, raw: Buffer, headers: Record<string, string>): Promise<void> {
    if (this.failures > 0) {
      this.failures--;
      throw new Error('KafkaJSNumberOfRetriesExceeded');
    }
    this.published.push({ job, raw, headers });
  }
}

describe('RetryHandler with the default schedule', () => {
  const schedule = RetrySchedule.parse(undefined);
  let now = failedAt;
  let publisher: FakePublisher;
  let handler: RetryHandler;

  beforeEach(() => {
    now = failedAt + 10;
    publisher = new FakePublisher();
    handler = new RetryHandler(schedule, publisher, { clock: () => now });
  });

  it.each([
    [2, 1 * MINUTE],
    [3, 5 * MINUTE],
    [4, 30 * MINUTE],
    [5, 120 * MINUTE],
  ])('holds a job of tier %i until %i ms after the failure (read from the deferral, no waiting)', async (attempt, delay) => {
    const dueAt = schedule.dueAt(attempt, failedAt);
    const outcome = await handler.handle(record(`webhooks.retry.${attempt}`, job(attempt, dueAt)));
    expect(outcome).toEqual({ kind: 'defer', untilMs: failedAt + delay });
    expect(publisher.published).toHaveLength(0);
  });

  it('republishes a due job unchanged (same bytes, headers) and only then reports done', async () => {
    const j = job(3, schedule.dueAt(3, failedAt));
    const m = record('webhooks.retry.3', j);
    now = j.due_at;
    await expect(handler.handle(m)).resolves.toEqual({ kind: 'done' });
    expect(publisher.published).toHaveLength(1);
    expect(publisher.published[0]!.raw.equals(m.value!)).toBe(true);
    expect(publisher.published[0]!.job).toEqual(j);
    expect(publisher.published[0]!.headers).toEqual({ 'x-trace': 'abc' });
  });

  it('keeps the head when publishing fails (Kafka away: retry, the runner backs off), never dead-letters it', async () => {
    const j = job(2, failedAt);
    publisher.failures = 3;
    const m = record('webhooks.retry.2', j);
    const waiting = { kind: 'retry', dependency: 'kafka', reason: expect.stringContaining('republish of dlv_1 failed') };
    expect(await handler.handle(m)).toEqual(waiting);
    expect(await handler.handle(m)).toEqual(waiting);
    expect(await handler.handle(m)).toEqual(waiting);
    expect(await handler.handle(m)).toEqual({ kind: 'done' });
    expect(publisher.published).toHaveLength(1);
  });

  it('dead-letters a due job Kafka can never take (too large), with the reason', async () => {
    const failing: DeliveryPublisher = {
      publish: async () => {
        throw new PermanentFailureError('too large');
      },
    };
    const outcome = await new RetryHandler(RetrySchedule.parse(undefined), failing, { clock: () => now }).handle(record('webhooks.retry.2', job(2, failedAt)));
    expect(outcome).toEqual({ kind: 'dead-letter', reason: 'republish of dlv_1 failed: too large' });
  });

  it('caps a due time beyond its tier so one bad head cannot hold the partition', async () => {
    const m = record('webhooks.retry.2', job(2, failedAt + 365 * 24 * 60 * MINUTE), failedAt);
    expect(await handler.handle(m)).toEqual({ kind: 'defer', untilMs: failedAt + MINUTE });
    now = failedAt + MINUTE;
    expect(await handler.handle(m)).toEqual({ kind: 'done' });
  });

  it.each([
    ['not JSON', 'nope'],
    ['empty value', null],
    ['missing fields', { v: 1, delivery_id: 'dlv_1' }],
  ])('dead-letters an undecodable record (%s)', async (_name, value) => {
    const outcome = await handler.handle(record('webhooks.retry.2', value));
    expect(outcome.kind).toBe('dead-letter');
    expect((outcome as { reason: string }).reason).toMatch(/^undecodable delivery job: /);
  });

  it('dead-letters a record from a topic that is not a tier', async () => {
    expect((await handler.handle(record('webhooks.retry.9', job(9, 0)))).kind).toBe('dead-letter');
  });
});

describe('RetryHandler and parked deliveries (decision 0014)', () => {
  it('releases a parked job of another attempt number unchanged, headers included, and warns only about unmarked ones', async () => {
    const schedule = RetrySchedule.parse(undefined);
    const warnings: string[] = [];
    const logger = { log: () => undefined, error: () => undefined, warn: (m: unknown) => void warnings.push(String(m)) };
    const publisher = new FakePublisher();
    const handler = new RetryHandler(schedule, publisher, { clock: () => failedAt + 30_000, logger });
    const parked = { ...record('webhooks.retry.2', job(1, failedAt + 30_000)), headers: { 'odis-parked': 'circuit_open' } };
    expect(await handler.handle(parked)).toEqual({ kind: 'done' });
    expect(publisher.published[0]).toMatchObject({ job: { attempt: 1, due_at: failedAt + 30_000 }, headers: { 'odis-parked': 'circuit_open' } });
    expect(warnings).toEqual([]);
    await handler.handle(record('webhooks.retry.2', job(1, failedAt + 30_000)));
    expect(warnings).toEqual([expect.stringContaining('attempt 1 found in the tier of attempt 2')]);
  });
});

describe('RetryHandler: records in flight together stay behind a head that is not due', () => {
  it('a due parked record behind one not due is held with it (not released now and again on resume), then released once', async () => {
    const schedule = RetrySchedule.parse(undefined);
    let now = failedAt + 1_000;
    const publisher = new FakePublisher();
    const handler = new RetryHandler(schedule, publisher, { clock: () => now });
    const at = (offset: string, dueAt: number, partition = 2) => ({ ...record('webhooks.retry.2', job(1, dueAt)), offset, partition, headers: { 'odis-parked': 'rate_limited' } });
    // Offset 17 is due in 8 s, offset 18 (parked later with a shorter wait) is due now, 19 too; handed in together.
    const first = await Promise.all([handler.handle(at('17', now + 8_000)), handler.handle(at('18', now)), handler.handle(at('19', now))]);
    expect(first).toEqual([{ kind: 'defer', untilMs: now + 8_000 }, { kind: 'defer', untilMs: now + 8_000 }, { kind: 'defer', untilMs: now + 8_000 }]);
    // Another partition is not held by it.
    expect(await handler.handle(at('40', now, 3))).toEqual({ kind: 'done' });
    expect(publisher.published).toHaveLength(1);
    // The partition resumes at the head once it is due: each record is released once.
    now += 8_000;
    const second = await Promise.all([handler.handle(at('17', failedAt + 9_000)), handler.handle(at('18', failedAt + 1_000)), handler.handle(at('19', failedAt + 1_000))]);
    expect(second).toEqual([{ kind: 'done' }, { kind: 'done' }, { kind: 'done' }]);
    expect(publisher.published).toHaveLength(4);
  });
});

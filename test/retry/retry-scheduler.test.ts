/**
 * The retry-scheduler on the real broker with WEBHOOK_RETRY_SCHEDULE=0,1s,2s,3s,4s: a delivery parked
 * in a tier is held until its due time and then republished to webhooks.deliveries, unchanged,
 * within 500 ms; a partition's later heads follow in order; a poison record does not block its
 * partition; two instances in one group share the tiers and fire nothing twice.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import type { Producer } from 'kafkajs';
import { retryTierTopic, TOPICS, type DeliveryJob } from '@odis/contracts';
import type { KafkaConnection } from '@odis/messaging';
import { waitFor } from '../support/infra.js';
import { startRetryScheduler } from '../../apps/retry-scheduler/src/retry-scheduler.app.js';
import { loadRetrySchedulerConfig } from '../../apps/retry-scheduler/src/config/retry-scheduler.config.js';
import { RetrySchedulerService } from '../../apps/retry-scheduler/src/retry-scheduler.service.js';
import { RetrySchedule } from '@odis/config';
import { brokers, collectTopic, connection, ensurePlatformTopics, makeJob, rawProducer, seedGroupAtEnd, unique, type Arrival } from './retry-test-kit.js';

const SCHEDULE = '0,1s,2s,3s,4s';
const schedule = RetrySchedule.parse(SCHEDULE);
const TOLERANCE_MS = 500;

let conn: KafkaConnection;
let producer: Producer;
let collector: { arrivals: Arrival[]; stop: () => Promise<void> };
const apps: INestApplication[] = [];
const listeners = new Set<(a: Arrival) => void>();

async function startScheduler(groupId: string): Promise<INestApplication> {
  const app = await startRetryScheduler(
    loadRetrySchedulerConfig({
      KAFKA_BROKERS: brokers().join(','),
      WEBHOOK_RETRY_SCHEDULE: SCHEDULE,
      RETRY_SCHEDULER_GROUP: groupId,
      KAFKA_SESSION_TIMEOUT_MS: '6000',
      PORT: '0',
      LOG_LEVEL: 'error',
    }),
  );
  apps.push(app);
  return app;
}

async function park(job: DeliveryJob, value?: string): Promise<void> {
  await producer.send({ topic: retryTierTopic(job.attempt), acks: -1, messages: [{ key: job.subscription_id, value: value ?? JSON.stringify(job) }] });
}

function arrivalsOf(deliveryId: string): Arrival[] {
  return collector.arrivals.filter((a) => a.job.delivery_id === deliveryId);
}

beforeAll(async () => {
  conn = connection();
  await ensurePlatformTopics(conn);
  producer = await rawProducer(conn);
  collector = await collectTopic(conn, TOPICS.deliveries, (a) => listeners.forEach((l) => l(a)));
}, 90_000);

afterAll(async () => {
  for (const app of apps.splice(0)) await app.close();
  await collector?.stop();
  await producer?.disconnect();
}, 60_000);

describe('retry-scheduler (one instance)', () => {
  let groupId: string;

  afterAll(async () => {
    for (const app of apps.splice(0)) await app.close(); // another group must not fire the next tests' jobs
  }, 60_000);

  beforeAll(async () => {
    groupId = unique('it-retry-scheduler');
    await seedGroupAtEnd(conn, groupId, schedule.topics);
    const app = await startScheduler(groupId);
    const service = app.get(RetrySchedulerService);
    await waitFor(() => service.runner.assignedPartitions().length > 0, { timeoutMs: 30_000, message: 'scheduler owns its tier partitions' });
  }, 60_000);

  it('walks 12 deliveries through tiers 2..5: each held until due, fired within 500 ms, gaps of 1, 2, 3, 4 s', async () => {
    const chains = Array.from({ length: 12 }, () => makeJob({ attempt: 2, due_at: 0 }));
    const ids = new Set(chains.map((c) => c.delivery_id));
    const due = new Map<string, number>(); // `${id}:${attempt}` → due_at
    const hops: Promise<void>[] = [];
    // Act as the dispatcher: when attempt n arrives (and "fails"), park attempt n+1 for its tier delay.
    listeners.add((a) => {
      if (!ids.has(a.job.delivery_id) || a.job.attempt >= 5) return;
      const next: DeliveryJob = { ...a.job, attempt: a.job.attempt + 1, due_at: schedule.dueAt(a.job.attempt + 1, a.at) };
      due.set(`${next.delivery_id}:${next.attempt}`, next.due_at);
      hops.push(park(next));
    });
    const start = Date.now();
    for (const c of chains) {
      c.due_at = schedule.dueAt(2, start);
      due.set(`${c.delivery_id}:2`, c.due_at);
    }
    await Promise.all(chains.map((c) => park(c)));

    await waitFor(() => chains.every((c) => arrivalsOf(c.delivery_id).length === 4), { timeoutMs: 30_000, intervalMs: 200, message: 'every chain reached attempt 5' });
    await Promise.all(hops);

    for (const c of chains) {
      const got = arrivalsOf(c.delivery_id);
      expect(got.map((a) => a.job.attempt)).toEqual([2, 3, 4, 5]);
      for (const a of got) {
        const dueAt = due.get(`${c.delivery_id}:${a.job.attempt}`)!;
        expect(a.job.due_at).toBe(dueAt); // republished unchanged
        expect(a.at).toBeGreaterThanOrEqual(dueAt); // never early
        expect(a.at - dueAt).toBeLessThanOrEqual(TOLERANCE_MS);
      }
      const gaps = got.slice(1).map((a, i) => a.at - got[i]!.at);
      [2000, 3000, 4000].forEach((expected, i) => expect(Math.abs(gaps[i]! - expected)).toBeLessThanOrEqual(TOLERANCE_MS));
      expect(Math.abs(got[0]!.at - start - 1000)).toBeLessThanOrEqual(TOLERANCE_MS);
    }
  }, 60_000);

  it('republishes the record byte for byte, keyed by the subscription id, headers kept', async () => {
    const job = makeJob({ attempt: 3, due_at: Date.now() + 1500 });
    const raw = JSON.stringify(job, null, 1); // unusual spacing: must survive as is
    await producer.send({ topic: retryTierTopic(3), acks: -1, messages: [{ key: job.subscription_id, value: raw, headers: { 'x-test': 'kept' } }] });
    const [a] = await waitFor(() => (arrivalsOf(job.delivery_id).length ? arrivalsOf(job.delivery_id) : null), { timeoutMs: 15_000 });
    expect(a!.message.value!.toString('utf8')).toBe(raw);
    expect(a!.message.key!.toString('utf8')).toBe(job.subscription_id);
    expect(a!.message.headers['x-test']).toBe('kept');
    expect(a!.at).toBeGreaterThanOrEqual(job.due_at);
  }, 30_000);

  it('fires the heads of one partition in due order, each on time (head-of-line)', async () => {
    const key = `wh_${unique('hol')}`;
    const t0 = Date.now();
    const jobs = [600, 1200, 1800, 2400, 3000].map((d) => makeJob({ attempt: 5, due_at: t0 + d, subscription_id: key }));
    for (const j of jobs) await park(j); // same key → same partition, in this order
    await waitFor(() => jobs.every((j) => arrivalsOf(j.delivery_id).length === 1), { timeoutMs: 20_000, message: 'all five fired' });
    const order = collector.arrivals.filter((a) => a.job.subscription_id === key).map((a) => a.job.delivery_id);
    expect(order).toEqual(jobs.map((j) => j.delivery_id));
    for (const j of jobs) {
      const a = arrivalsOf(j.delivery_id)[0]!;
      expect(a.at).toBeGreaterThanOrEqual(j.due_at);
      expect(a.at - j.due_at).toBeLessThanOrEqual(TOLERANCE_MS);
    }
  }, 30_000);

  it('parked records due before one written ahead of them are held behind it and fired once each (decision 0014)', async () => {
    const key = `wh_${unique('parked')}`;
    const t0 = Date.now();
    // One partition of the 4 s tier: a park due in 2.5 s, then four parked later with shorter waits (due now).
    const head = makeJob({ attempt: 1, due_at: t0 + 2_500, subscription_id: key });
    const behind = Array.from({ length: 4 }, () => makeJob({ attempt: 1, due_at: t0, subscription_id: key }));
    const headers = { 'odis-parked': 'rate_limited' };
    await producer.send({ topic: retryTierTopic(5), acks: -1, messages: [head, ...behind].map((j) => ({ key, value: JSON.stringify(j), headers })) });
    await waitFor(() => [head, ...behind].every((j) => arrivalsOf(j.delivery_id).length >= 1), { timeoutMs: 15_000, message: 'all 5 fired' });
    await new Promise((r) => setTimeout(r, 1_500)); // room for a (wrong) second firing to show up
    expect([head, ...behind].map((j) => arrivalsOf(j.delivery_id).length)).toEqual([1, 1, 1, 1, 1]);
    for (const j of behind) expect(arrivalsOf(j.delivery_id)[0]!.at).toBeGreaterThanOrEqual(head.due_at);
  }, 30_000);

  it('dead-letters a poison record and keeps its partition flowing', async () => {
    const key = `wh_${unique('poison')}`;
    await producer.send({ topic: retryTierTopic(2), acks: -1, messages: [{ key, value: '{"not":"a job"' }] });
    const job = makeJob({ attempt: 2, due_at: Date.now() + 800, subscription_id: key });
    await park(job);
    const [a] = await waitFor(() => (arrivalsOf(job.delivery_id).length ? arrivalsOf(job.delivery_id) : null), { timeoutMs: 15_000 });
    expect(a!.at - job.due_at).toBeLessThanOrEqual(TOLERANCE_MS);
  }, 30_000);
});

describe('retry-scheduler (two instances, one group)', () => {
  it('share the tier partitions and fire every parked delivery exactly once', async () => {
    const groupId = unique('it-retry-scheduler-pair');
    await seedGroupAtEnd(conn, groupId, schedule.topics);
    const [a, b] = [await startScheduler(groupId), await startScheduler(groupId)];
    const ra = a.get(RetrySchedulerService).runner;
    const rb = b.get(RetrySchedulerService).runner;
    const total = await waitFor(
      async () => {
        const na = ra.assignedPartitions().length;
        const nb = rb.assignedPartitions().length;
        return na > 0 && nb > 0 && new Set([...ra.assignedPartitions(), ...rb.assignedPartitions()]).size === na + nb ? na + nb : 0;
      },
      { timeoutMs: 60_000, intervalMs: 200, message: 'both instances own partitions' },
    );
    expect(total).toBeGreaterThanOrEqual(schedule.topics.length);

    const t0 = Date.now();
    const jobs = Array.from({ length: 40 }, (_, i) => {
      const attempt = 2 + (i % 4);
      // A tier never holds a job longer than its delay (1-4 s here): due times within that.
      return makeJob({ attempt, due_at: t0 + 300 + (i % 4) * 200 + (attempt - 2) * 700 });
    });
    await Promise.all(jobs.map((j) => park(j)));
    await waitFor(() => jobs.every((j) => arrivalsOf(j.delivery_id).length >= 1), { timeoutMs: 30_000, message: 'all 40 fired' });
    await new Promise((r) => setTimeout(r, 1500)); // room for a (wrong) second firing to show up
    for (const j of jobs) {
      const got = arrivalsOf(j.delivery_id);
      expect(got).toHaveLength(1);
      expect(got[0]!.at).toBeGreaterThanOrEqual(j.due_at);
      expect(got[0]!.at - j.due_at).toBeLessThanOrEqual(TOLERANCE_MS);
    }
  }, 90_000);
});

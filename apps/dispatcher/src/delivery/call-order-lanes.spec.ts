import { describe, expect, it } from '@jest/globals';
import { firstAttemptJob, type DeliveryJob } from '@odis/contracts';
import { CallOrderLanes, compareIngestOrder } from './call-order-lanes.js';

const T0 = Date.parse('2026-12-01T10:00:00.000Z');

function job(id: string, call: string, atMs: number, seq = 0, sub = 'wh_1'): DeliveryJob {
  return firstAttemptJob(
    {
      delivery_id: id,
      event_id: `evt_${id}`,
      event_type: 'call.started',
      account_id: 'acct_1',
      subscription_id: sub,
      url: 'https://example.com/hook',
      secret_encrypted: 'x',
      body: '{}',
      event_received_at: new Date(atMs).toISOString(),
      order_key: call,
      ingest_seq: seq,
    },
    atMs,
  );
}

function queued(lanes: CallOrderLanes, j: DeliveryJob, now: number): number {
  const a = lanes.arrive(j, now);
  if (a.kind !== 'queued') throw new Error(`expected queued, got ${JSON.stringify(a)}`);
  return a.token;
}

const ids = (start: { job: DeliveryJob }[]) => start.map((s) => s.job.delivery_id);

describe('CallOrderLanes', () => {
  it('orders by ingest time, then ingest sequence', () => {
    expect(compareIngestOrder(job('a', 'c', T0, 5), job('b', 'c', T0 + 1, 0))).toBeLessThan(0);
    expect(compareIngestOrder(job('a', 'c', T0, 5), job('b', 'c', T0, 2))).toBeGreaterThan(0);
  });

  it('waits the settle time, then starts the earliest-ingested delivery even when it arrived last', () => {
    const lanes = new CallOrderLanes(100);
    queued(lanes, job('ended', 'call_1', T0 + 2), T0 + 10);
    queued(lanes, job('appt', 'call_1', T0 + 1), T0 + 11);
    queued(lanes, job('started', 'call_1', T0), T0 + 12);
    expect(lanes.next(T0 + 50)).toEqual({ start: [], wakeAt: T0 + 110 });
    expect(ids(lanes.next(T0 + 110).start)).toEqual(['started']);
    // one at a time
    expect(ids(lanes.next(T0 + 120).start)).toEqual([]);
  });

  it('runs a call one delivery at a time in order; other calls and webhooks go in parallel', () => {
    const lanes = new CallOrderLanes(0);
    const a1 = job('a1', 'call_a', T0);
    const a2 = job('a2', 'call_a', T0 + 1);
    const b1 = job('b1', 'call_b', T0);
    const w1 = job('w1', 'call_a', T0, 0, 'wh_2');
    const tA1 = queued(lanes, a1, T0);
    queued(lanes, a2, T0);
    queued(lanes, b1, T0);
    queued(lanes, w1, T0);
    expect(ids(lanes.next(T0).start).sort()).toEqual(['a1', 'b1', 'w1']);
    expect(lanes.finish(tA1, a1, { kind: 'done' })).toEqual({ park: null, released: null });
    expect(ids(lanes.next(T0).start)).toEqual(['a2']);
  });

  it('a head waiting on the retry path holds back only its call: later deliveries park behind it, on its topic and due time', () => {
    const lanes = new CallOrderLanes(0);
    const started = job('started', 'call_7', T0);
    const appt = job('appt', 'call_7', T0 + 1);
    const other = job('other', 'call_8', T0 + 1);
    const tStarted = queued(lanes, started, T0);
    queued(lanes, appt, T0);
    const tOther = queued(lanes, other, T0);
    expect(ids(lanes.next(T0).start).sort()).toEqual(['other', 'started']);
    const fin = lanes.finish(tStarted, started, { kind: 'waiting', topic: 'webhooks.retry.2', dueAt: T0 + 1000 });
    expect(fin.park?.topic).toBe('webhooks.retry.2');
    expect(fin.park?.dueAt).toBe(T0 + 1000);
    expect(fin.park?.entries.map((e) => e.job.delivery_id)).toEqual(['appt']);
    // A later event of the held call arriving now is parked too; another call is not.
    expect(lanes.arrive(job('ended', 'call_7', T0 + 2), T0 + 5)).toEqual({ kind: 'park', topic: 'webhooks.retry.2', dueAt: T0 + 1000, behind: 'started' });
    lanes.finish(tOther, other, { kind: 'done' });
    const tNext = queued(lanes, job('other2', 'call_8', T0 + 3), T0 + 6);
    expect(lanes.next(T0 + 6).start.map((s) => s.token)).toEqual([tNext]);
    expect(lanes.counters()).toMatchObject({ held: 1, parkedBehind: 2 });
  });

  it('the head coming back lifts the hold and goes first; its success lets the parked ones go in ingest order', () => {
    const lanes = new CallOrderLanes(100);
    const started = job('started', 'call_7', T0);
    const t1 = queued(lanes, started, T0);
    lanes.next(T0 + 100);
    lanes.finish(t1, started, { kind: 'waiting', topic: 'webhooks.retry.2', dueAt: T0 + 1000 });
    // Back from the tier: no settle wait for the head.
    const retry = { ...started, attempt: 2 };
    const t2 = queued(lanes, retry, T0 + 1000);
    expect(ids(lanes.next(T0 + 1000).start)).toEqual(['started']);
    // The parked ones come back behind it (same tier partition) and wait for it.
    queued(lanes, job('ended', 'call_7', T0 + 2), T0 + 1001);
    queued(lanes, job('appt', 'call_7', T0 + 1), T0 + 1002);
    expect(ids(lanes.next(T0 + 1500).start)).toEqual([]);
    lanes.finish(t2, retry, { kind: 'done' });
    expect(ids(lanes.next(T0 + 1500).start)).toEqual(['appt']);
    expect(lanes.holdOf(started)).toBeNull();
  });

  it('a failing head that fails again parks what waited behind it behind its new retry', () => {
    const lanes = new CallOrderLanes(0);
    const started = job('started', 'call_7', T0);
    const t1 = queued(lanes, started, T0);
    lanes.next(T0);
    lanes.finish(t1, started, { kind: 'waiting', topic: 'webhooks.retry.2', dueAt: T0 + 1000 });
    const retry = { ...started, attempt: 2 };
    const t2 = queued(lanes, retry, T0 + 1000);
    lanes.next(T0 + 1000);
    queued(lanes, job('appt', 'call_7', T0 + 1), T0 + 1001);
    const fin = lanes.finish(t2, retry, { kind: 'waiting', topic: 'webhooks.retry.3', dueAt: T0 + 3000 });
    expect(fin.park).toMatchObject({ topic: 'webhooks.retry.3', dueAt: T0 + 3000 });
    expect(fin.park?.entries.map((e) => e.job.delivery_id)).toEqual(['appt']);
  });

  it('exhaustion releases the call and says so', () => {
    const lanes = new CallOrderLanes(0);
    const started = job('started', 'call_9', T0);
    const t1 = queued(lanes, started, T0);
    queued(lanes, job('appt', 'call_9', T0 + 1), T0);
    lanes.next(T0);
    const fin = lanes.finish(t1, started, { kind: 'exhausted' });
    expect(fin.park).toBeNull();
    expect(fin.released).toBe('released after exhaustion of started (call.started): later events of call call_9 go on for webhook wh_1');
    expect(ids(lanes.next(T0).start)).toEqual(['appt']);
    expect(lanes.counters().releasedAfterExhaustion).toBe(1);
  });

  it('an abandoned turn frees the lane, and idle lanes are forgotten', () => {
    const lanes = new CallOrderLanes(0);
    const a = job('a', 'call_1', T0);
    const ta = queued(lanes, a, T0);
    const tb = queued(lanes, job('b', 'call_1', T0 + 1), T0);
    lanes.next(T0);
    lanes.abandon(ta, a);
    const next = lanes.next(T0).start;
    expect(next.map((s) => s.token)).toEqual([tb]);
    lanes.finish(tb, next[0].job, { kind: 'done' });
    expect(lanes.counters().lanes).toBe(0);
  });
});

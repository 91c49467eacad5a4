import { describe, expect, it } from '@jest/globals';
import { RetrySchedule } from '@odis/config';
import { deliveryJob, exhaustedDelivery, type AttemptSummary } from '@odis/contracts';
import { deliveryJobFixture as job } from '@odis/testing';
import { AttemptFollowUp } from './attempt-follow-up.js';

const failedAt = Date.parse('2024-01-15T10:30:00Z');
const summary = (attempt: number, outcome: AttemptSummary['outcome'] = 'failed'): AttemptSummary => ({
  attempt,
  attempted_at: '2024-01-15T10:30:00.000Z',
  outcome,
  status_code: outcome === 'failed' ? 503 : 200,
  error_class: outcome === 'failed' ? 'http_status' : null,
  error_message: null,
  duration_ms: 10,
});

describe('AttemptFollowUp with the seed schedule (1 m, 5 m, 30 m, 2 h)', () => {
  const router = new AttemptFollowUp(RetrySchedule.default());

  it('nothing follows a success or a skip', () => {
    expect(router.decide(job(), summary(1, 'succeeded'), failedAt)).toEqual({ kind: 'none', reason: 'succeeded' });
    expect(router.decide(job(), summary(1, 'skipped'), failedAt)).toEqual({ kind: 'none', reason: 'skipped' });
  });

  it('failed attempt n < 5 → attempt n+1 on webhooks.retry.<n+1>, due per the table, history appended', () => {
    const delays = { 1: 60_000, 2: 300_000, 3: 1_800_000, 4: 7_200_000 } as Record<number, number>;
    let current = job({ event_received_at: '2024-01-15T10:29:59.990Z' });
    for (let n = 1; n <= 4; n++) {
      const d = router.decide(current, summary(n), failedAt);
      if (d.kind !== 'retry') throw new Error(`expected a retry after attempt ${n}`);
      expect(d.topic).toBe(`webhooks.retry.${n + 1}`);
      expect(d.dueAt).toBe(failedAt + delays[n]);
      expect(d.job.attempt).toBe(n + 1);
      expect(d.job.due_at).toBe(d.dueAt);
      expect(d.job.delivery_id).toBe('dlv_1');
      expect(d.job.previous_attempts.map((a) => a.attempt)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
      expect(deliveryJob.safeParse(d.job).success).toBe(true);
      current = d.job;
    }
    const last = router.decide(current, summary(5), failedAt);
    if (last.kind !== 'exhausted') throw new Error('expected exhaustion');
    expect(last.message.attempts.map((a) => a.attempt)).toEqual([1, 2, 3, 4, 5]);
    expect(last.message).toMatchObject({
      delivery_id: 'dlv_1',
      subscription_id: 'wh_1',
      exhausted_at: '2024-01-15T10:30:00.000Z',
      event_received_at: '2024-01-15T10:29:59.990Z', // through every retry, for the disable email's recover call
    });
    expect(exhaustedDelivery.safeParse(last.message).success).toBe(true);
  });

  it('a retry carries the current url and secret of the subscription', () => {
    const d = router.decide(job(), summary(1), failedAt, { url: 'https://moved.example.com/', secretEncrypted: 'enc:v1:new' });
    expect(d).toMatchObject({ kind: 'retry', job: { url: 'https://moved.example.com/', secret_encrypted: 'enc:v1:new' } });
  });

  it('a manual redelivery is one attempt: no retry, no exhaustion', () => {
    expect(router.decide(job({ manual: true, attempt: 5 }), summary(5), failedAt)).toEqual({ kind: 'none', reason: 'manual' });
  });

  it('an attempt beyond a shortened schedule is exhausted', () => {
    const short = new AttemptFollowUp(RetrySchedule.parse('0,1s'));
    expect(short.maxAttempts).toBe(2);
    expect(short.decide(job({ attempt: 4 }), summary(4), failedAt).kind).toBe('exhausted');
    expect(short.decide(job({ attempt: 1 }), summary(1), failedAt)).toMatchObject({ kind: 'retry', dueAt: failedAt + 1000, topic: 'webhooks.retry.2' });
  });
});

describe('AttemptFollowUp with Retry-After (decision 0013)', () => {
  const tests = new AttemptFollowUp(RetrySchedule.parse('0,1s,2s,3s,4s'));
  const seed = new AttemptFollowUp(RetrySchedule.default());
  const current = { url: 'https://clinic.example.com/hook', secretEncrypted: 'enc' };

  it('waits as long as the receiver asks when that is longer than the schedule, in a tier that can hold it', () => {
    const d = tests.decide(job(), summary(1), failedAt, current, 3000);
    expect(d).toMatchObject({ kind: 'retry', topic: 'webhooks.retry.4', dueAt: failedAt + 3000, job: { attempt: 2, due_at: failedAt + 3000, retry_after_ms: 3000 } });
    if (d.kind === 'retry') expect(deliveryJob.safeParse(d.job).success).toBe(true);
  });

  it('never earlier than the schedule: a shorter Retry-After changes nothing', () => {
    const d = seed.decide(job(), summary(1), failedAt, current, 3000);
    expect(d).toMatchObject({ kind: 'retry', topic: 'webhooks.retry.2', dueAt: failedAt + 60_000 });
    if (d.kind === 'retry') expect(d.job.retry_after_ms).toBeUndefined();
    expect(seed.decide(job(), summary(1), failedAt, current, null)).toMatchObject({ dueAt: failedAt + 60_000 });
  });

  it('the seed schedule holds a 10-minute wait in the 30-minute tier, a 2-hour one in the 2-hour tier', () => {
    expect(seed.decide(job(), summary(1), failedAt, current, 600_000)).toMatchObject({ topic: 'webhooks.retry.4', dueAt: failedAt + 600_000, job: { attempt: 2 } });
    expect(seed.decide(job(), summary(1), failedAt, current, 7_200_000)).toMatchObject({ topic: 'webhooks.retry.5', dueAt: failedAt + 7_200_000, job: { attempt: 2 } });
  });

  it('a later attempt without Retry-After drops the earlier request', () => {
    const first = tests.decide(job(), summary(1), failedAt, current, 3000);
    if (first.kind !== 'retry') throw new Error('expected a retry');
    const second = tests.decide(first.job, summary(2), failedAt + 3000, current, null);
    expect(second).toMatchObject({ kind: 'retry', topic: 'webhooks.retry.3', dueAt: failedAt + 5000 });
    if (second.kind === 'retry') expect(second.job.retry_after_ms).toBeUndefined();
  });

  it('the last attempt is exhausted whatever the receiver asks', () => {
    expect(tests.decide(job({ attempt: 5 }), summary(5), failedAt, current, 3000).kind).toBe('exhausted');
  });

  it('parks again a Retry-After job released before its due time, and only such a job', () => {
    const early = job({ attempt: 2, due_at: failedAt + 60_000, retry_after_ms: 60_000 });
    expect(tests.parkAgain(early, failedAt + 4000)).toEqual({ topic: 'webhooks.retry.5', job: early });
    expect(seed.parkAgain(early, failedAt + 4000)).toEqual({ topic: 'webhooks.retry.2', job: early });
    expect(tests.parkAgain(early, failedAt + 59_500)).toBeNull();
    expect(tests.parkAgain(job({ attempt: 2, due_at: failedAt + 60_000 }), failedAt)).toBeNull();
    expect(tests.parkAgain({ ...early, manual: true }, failedAt)).toBeNull();
  });
});

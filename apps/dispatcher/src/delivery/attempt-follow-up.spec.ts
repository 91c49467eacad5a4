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
    let current = job();
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
    expect(last.message).toMatchObject({ delivery_id: 'dlv_1', subscription_id: 'wh_1', exhausted_at: '2024-01-15T10:30:00.000Z' });
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

import { describe, expect, it } from '@jest/globals';
import { RETRY_TIER_ATTEMPTS } from '@odis/contracts';
import { parseDuration, RetrySchedule } from './retry-schedule.js';

const MINUTE = 60_000;
const failedAt = Date.parse('2024-01-15T10:30:00Z');

describe('RetrySchedule', () => {
  it("defaults to the seed's table: immediate, 1 m, 5 m, 30 m, 2 h", () => {
    const s = RetrySchedule.default();
    expect(s.maxAttempts).toBe(5);
    expect([1, 2, 3, 4, 5].map((a) => s.delayBefore(a))).toEqual([0, 60_000, 300_000, 1_800_000, 7_200_000]);
    expect(s.toString()).toBe('0,1m,5m,30m,2h');
  });

  it('computes when the next attempt is due, and null after the last', () => {
    const s = RetrySchedule.default();
    expect(s.nextDueAt(1, 1000)).toBe(61_000);
    expect(s.nextDueAt(4, 0)).toBe(7_200_000);
    expect(s.nextDueAt(5, 0)).toBeNull();
  });

  it('parses test schedules in seconds', () => {
    expect(RetrySchedule.parse('0,1s,2s,3s,4s').delaysMs).toEqual([0, 1000, 2000, 3000, 4000]);
    expect(RetrySchedule.parse('0, 250ms, 1.5s').delaysMs).toEqual([0, 250, 1500]);
  });

  it.each([['1m,5m', /start with 0/], ['0,5', /unit/], ['0,abc', /not a duration/], ['', /not a duration/]])(
    'rejects %j',
    (text, message) => expect(() => RetrySchedule.parse(text)).toThrow(message),
  );

  it('parses durations', () => {
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration('1d')).toBe(86_400_000);
    expect(parseDuration('0')).toBe(0);
  });
});

describe('RetrySchedule tiers with the default schedule (the public page)', () => {
  const schedule = RetrySchedule.parse(undefined);

  it('has one tier topic per retried attempt: webhooks.retry.2 … webhooks.retry.5', () => {
    expect(schedule.topics).toEqual(['webhooks.retry.2', 'webhooks.retry.3', 'webhooks.retry.4', 'webhooks.retry.5']);
    expect(schedule.tiers.map((t) => t.attempt)).toEqual([...RETRY_TIER_ATTEMPTS]);
  });

  it("computes due times 1 m, 5 m, 30 m and 2 h after the previous failure (the seed's table)", () => {
    const due = schedule.tiers.map((t) => new Date(schedule.dueAt(t.attempt, failedAt)).toISOString());
    expect(due).toEqual(['2024-01-15T10:31:00.000Z', '2024-01-15T10:35:00.000Z', '2024-01-15T11:00:00.000Z', '2024-01-15T12:30:00.000Z']);
    expect(schedule.tiers.map((t) => schedule.dueAt(t.attempt, failedAt) - failedAt)).toEqual([1 * MINUTE, 5 * MINUTE, 30 * MINUTE, 120 * MINUTE]);
  });

  it('a job failing at every attempt is due 1 m, 6 m, 36 m and 2 h 36 m after the first attempt', () => {
    let at = failedAt;
    const elapsed: number[] = [];
    for (const tier of schedule.tiers) {
      at = schedule.dueAt(tier.attempt, at); // each attempt fails at once in this walk
      elapsed.push((at - failedAt) / MINUTE);
    }
    expect(elapsed).toEqual([1, 6, 36, 156]);
  });

  it('maps topics back to tiers and rejects attempts without a tier', () => {
    expect(schedule.tierForTopic('webhooks.retry.4')).toEqual({ attempt: 4, topic: 'webhooks.retry.4', delayMs: 30 * MINUTE });
    expect(schedule.tierForTopic('webhooks.deliveries')).toBeUndefined();
    expect(() => schedule.dueAt(1, failedAt)).toThrow(RangeError);
    expect(() => schedule.dueAt(6, failedAt)).toThrow(RangeError);
  });
});

describe('RetrySchedule.afterAttempt: what happens after attempt n (seed schedule 0,1m,5m,30m,2h)', () => {
  const schedule = RetrySchedule.parse('0,1m,5m,30m,2h');

  it.each([
    [1, 'webhooks.retry.2', 2, 1 * MINUTE],
    [2, 'webhooks.retry.3', 3, 5 * MINUTE],
    [3, 'webhooks.retry.4', 4, 30 * MINUTE],
    [4, 'webhooks.retry.5', 5, 120 * MINUTE],
  ])('failed attempt %i → tier %s (attempt %i), due %i ms after the failure', (n, topic, attempt, delay) => {
    expect(schedule.afterAttempt(n, failedAt)).toEqual({ kind: 'retry', tier: { attempt, topic, delayMs: delay }, dueAt: failedAt + delay });
  });

  it('is exhausted after the last attempt (5), and beyond it', () => {
    expect(schedule.afterAttempt(5, failedAt)).toEqual({ kind: 'exhausted' });
    expect(schedule.afterAttempt(6, failedAt)).toEqual({ kind: 'exhausted' });
  });

  it('agrees with nextDueAt and dueAt', () => {
    for (let n = 1; n <= 4; n++) {
      const next = schedule.afterAttempt(n, failedAt);
      expect(next.kind === 'retry' && next.dueAt).toBe(schedule.nextDueAt(n, failedAt));
      expect(schedule.dueAt(n + 1, failedAt)).toBe(schedule.nextDueAt(n, failedAt));
    }
  });

  it('rejects attempts that are not attempts', () => {
    expect(() => schedule.afterAttempt(0, failedAt)).toThrow(RangeError);
  });

  it('a one-attempt schedule has no tiers and is exhausted at once', () => {
    const single = RetrySchedule.parse('0');
    expect(single.tiers).toEqual([]);
    expect(single.afterAttempt(1, failedAt)).toEqual({ kind: 'exhausted' });
  });
});

describe('RetrySchedule.holdingTierFor (Retry-After, decision 0013)', () => {
  it('picks the shortest tier at least as long as the wait, else the longest', () => {
    const s = RetrySchedule.parse('0,1s,2s,3s,4s');
    expect(s.holdingTierFor(0)?.topic).toBe('webhooks.retry.2');
    expect(s.holdingTierFor(1000)?.topic).toBe('webhooks.retry.2');
    expect(s.holdingTierFor(1001)?.topic).toBe('webhooks.retry.3');
    expect(s.holdingTierFor(3000)?.topic).toBe('webhooks.retry.4');
    expect(s.holdingTierFor(60_000)?.topic).toBe('webhooks.retry.5');
    const seed = RetrySchedule.default();
    expect(seed.holdingTierFor(10 * 60_000)?.delayMs).toBe(30 * 60_000);
    expect(seed.holdingTierFor(2 * 3_600_000)?.delayMs).toBe(2 * 3_600_000);
    expect(RetrySchedule.parse('0').holdingTierFor(1000)).toBeUndefined();
  });
});

import { describe, expect, it } from '@jest/globals';
import { RetrySchedule } from '@odis/config';
import { RETRY_TIER_ATTEMPTS } from '@odis/contracts';
import { RetryPlanner } from './retry-planner.js';

const MINUTE = 60_000;
const failedAt = Date.parse('2024-01-15T10:30:00Z');

describe('RetryPlanner with the default schedule (the public page)', () => {
  const planner = new RetryPlanner(RetrySchedule.parse(undefined));

  it('has one tier topic per retried attempt: webhooks.retry.2 … webhooks.retry.5', () => {
    expect(planner.topics).toEqual(['webhooks.retry.2', 'webhooks.retry.3', 'webhooks.retry.4', 'webhooks.retry.5']);
    expect(planner.tiers.map((t) => t.attempt)).toEqual([...RETRY_TIER_ATTEMPTS]);
  });

  it("computes due times 1 m, 5 m, 30 m and 2 h after the previous failure (the seed's table)", () => {
    const due = planner.tiers.map((t) => new Date(planner.dueAt(t.attempt, failedAt)).toISOString());
    expect(due).toEqual(['2024-01-15T10:31:00.000Z', '2024-01-15T10:35:00.000Z', '2024-01-15T11:00:00.000Z', '2024-01-15T12:30:00.000Z']);
    expect(planner.tiers.map((t) => planner.dueAt(t.attempt, failedAt) - failedAt)).toEqual([1 * MINUTE, 5 * MINUTE, 30 * MINUTE, 120 * MINUTE]);
  });

  it('a job failing at every attempt is due 1 m, 6 m, 36 m and 2 h 36 m after the first attempt', () => {
    let at = failedAt;
    const elapsed: number[] = [];
    for (const tier of planner.tiers) {
      at = planner.dueAt(tier.attempt, at); // each attempt fails at once in this walk
      elapsed.push((at - failedAt) / MINUTE);
    }
    expect(elapsed).toEqual([1, 6, 36, 156]);
  });

  it('maps topics back to tiers and rejects attempts without a tier', () => {
    expect(planner.tierForTopic('webhooks.retry.4')).toEqual({ attempt: 4, topic: 'webhooks.retry.4', delayMs: 30 * MINUTE });
    expect(planner.tierForTopic('webhooks.deliveries')).toBeUndefined();
    expect(() => planner.dueAt(1, failedAt)).toThrow(RangeError);
    expect(() => planner.dueAt(6, failedAt)).toThrow(RangeError);
  });
});

describe('RetryPlanner.releasePlan', () => {
  const planner = new RetryPlanner(RetrySchedule.parse('0,1s,2s,3s,4s'));
  const tier3 = planner.tierForAttempt(3)!;

  it('releases a job at its own due time', () => {
    expect(planner.releasePlan({ due_at: 12_000 }, tier3, 10_000)).toEqual({ releaseAtMs: 12_000, capped: false });
  });

  it('caps a due time beyond the record timestamp plus the tier delay, so one head cannot block a partition', () => {
    expect(planner.releasePlan({ due_at: 10_000 + 3_600_000 }, tier3, 10_000)).toEqual({ releaseAtMs: 12_000, capped: true });
  });

  it('does not cap records without a timestamp', () => {
    expect(planner.releasePlan({ due_at: 99_000 }, tier3, 0)).toEqual({ releaseAtMs: 99_000, capped: false });
  });

  it('follows a configured schedule', () => {
    expect(planner.tiers.map((t) => t.delayMs)).toEqual([1000, 2000, 3000, 4000]);
    expect(new RetryPlanner(RetrySchedule.parse('0,10s,20s')).topics).toEqual(['webhooks.retry.2', 'webhooks.retry.3']);
  });
});

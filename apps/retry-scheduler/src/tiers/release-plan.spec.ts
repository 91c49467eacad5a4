import { describe, expect, it } from '@jest/globals';
import { RetrySchedule } from '@odis/config';
import { releasePlan } from './release-plan.js';

describe('releasePlan', () => {
  const schedule = RetrySchedule.parse('0,1s,2s,3s,4s');
  const tier3 = schedule.tierForAttempt(3)!;

  it('releases a job at its own due time', () => {
    expect(releasePlan({ due_at: 12_000 }, tier3, 10_000)).toEqual({ releaseAtMs: 12_000, capped: false });
  });

  it('caps a due time beyond the record timestamp plus the tier delay, so one head cannot block a partition', () => {
    expect(releasePlan({ due_at: 10_000 + 3_600_000 }, tier3, 10_000)).toEqual({ releaseAtMs: 12_000, capped: true });
  });

  it('does not cap records without a timestamp', () => {
    expect(releasePlan({ due_at: 99_000 }, tier3, 0)).toEqual({ releaseAtMs: 99_000, capped: false });
  });

  it('follows a configured schedule', () => {
    expect(schedule.tiers.map((t) => t.delayMs)).toEqual([1000, 2000, 3000, 4000]);
    expect(RetrySchedule.parse('0,10s,20s').topics).toEqual(['webhooks.retry.2', 'webhooks.retry.3']);
  });
});

import { describe, expect, it } from '@jest/globals';
import { parseDuration, RetrySchedule } from './retry-schedule.js';

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

/**
 * The retry table of the public Webhooks page: attempt 1 immediate, 2 after 1 minute, 3 after
 * 5 minutes, 4 after 30 minutes, 5 after 2 hours; after the last failed attempt the webhook is
 * disabled. `WEBHOOK_RETRY_SCHEDULE` (e.g. `0,1s,2s,3s,4s` in tests) replaces it.
 */
export const DEFAULT_RETRY_SCHEDULE = '0,1m,5m,30m,2h';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDuration(text: string): number {
  const trimmed = text.trim();
  if (trimmed === '0') return 0;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(trimmed);
  if (!match) throw new Error(`"${text}" is not a duration: use a number with a unit (ms, s, m, h, d), e.g. 30s or 5m`);
  return Math.round(Number(match[1]) * UNIT_MS[match[2]]);
}

export class RetrySchedule {
  /** delays[i] = wait before attempt i+1, measured from the failure of attempt i (delays[0] = 0). */
  private constructor(readonly delaysMs: readonly number[]) {}

  static parse(text: string = DEFAULT_RETRY_SCHEDULE): RetrySchedule {
    const parts = text.split(',');
    if (parts.length < 1 || parts.length > 20) throw new Error('must list between 1 and 20 delays');
    const delays = parts.map(parseDuration);
    if (delays[0] !== 0) throw new Error('the first attempt is immediate: the schedule must start with 0');
    return new RetrySchedule(delays);
  }

  static default(): RetrySchedule {
    return RetrySchedule.parse(DEFAULT_RETRY_SCHEDULE);
  }

  /** Number of attempts before a delivery is exhausted (5 with the seed's table). */
  get maxAttempts(): number {
    return this.delaysMs.length;
  }

  /** Wait before `attempt` (1-based) after the previous one failed. */
  delayBefore(attempt: number): number {
    if (!Number.isInteger(attempt) || attempt < 1 || attempt > this.maxAttempts) {
      throw new RangeError(`attempt ${attempt} is outside 1..${this.maxAttempts}`);
    }
    return this.delaysMs[attempt - 1];
  }

  /** After attempt `failedAttempt` failed at `failedAtMs`: when the next is due, or null when exhausted. */
  nextDueAt(failedAttempt: number, failedAtMs: number): number | null {
    if (failedAttempt >= this.maxAttempts) return null;
    return failedAtMs + this.delayBefore(failedAttempt + 1);
  }

  toString(): string {
    return this.delaysMs.map((ms) => (ms === 0 ? '0' : formatDuration(ms))).join(',');
  }
}

export function formatDuration(ms: number): string {
  for (const [unit, size] of [['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

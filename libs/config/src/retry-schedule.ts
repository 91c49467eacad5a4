import { retryTierTopic, type RetryTierTopic } from '@odis/contracts';

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

/** One retry tier: the topic holding deliveries waiting for attempt `attempt`, and its one constant delay. */
export interface RetryTier {
  attempt: number;
  topic: RetryTierTopic;
  /** Wait between the failure of attempt `attempt - 1` and attempt `attempt`. */
  delayMs: number;
}

/** What happens after a failed attempt: the next one on its tier topic, due at `dueAt`, or none (exhausted). */
export type NextAttempt = { kind: 'retry'; tier: RetryTier; dueAt: number } | { kind: 'exhausted' };

/**
 * The one retry policy of the system ("what happens after attempt n"), used by the dispatcher (where a
 * failed attempt goes), the retry-scheduler (which tier a topic is, how long it holds a record) and
 * the benchmarks. Attempt 1 is on `webhooks.deliveries`; attempt n ≥ 2 waits on tier topic
 * `webhooks.retry.<n>` for `delayBefore(n)` after attempt n-1 failed; after attempt `maxAttempts`
 * the delivery is exhausted. Each tier topic has exactly one delay, so a partition's records are in
 * due-time order and only its head ever needs looking at.
 */
export class RetrySchedule {
  /** The retry tiers, attempt 2 … maxAttempts. */
  readonly tiers: readonly RetryTier[];
  private readonly byTopic: ReadonlyMap<string, RetryTier>;

  /** delays[i] = wait before attempt i+1, measured from the failure of attempt i (delays[0] = 0). */
  private constructor(readonly delaysMs: readonly number[]) {
    const tiers: RetryTier[] = [];
    for (let attempt = 2; attempt <= delaysMs.length; attempt++) {
      tiers.push(Object.freeze({ attempt, topic: retryTierTopic(attempt), delayMs: delaysMs[attempt - 1] }));
    }
    this.tiers = Object.freeze(tiers);
    this.byTopic = new Map(tiers.map((t) => [t.topic, t]));
  }

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

  /** After attempt `failedAttempt` failed at `failedAtMs`: the next attempt's tier and due time, or exhausted. */
  afterAttempt(failedAttempt: number, failedAtMs: number): NextAttempt {
    if (failedAttempt >= this.maxAttempts) return { kind: 'exhausted' };
    const tier = this.tierForAttempt(failedAttempt + 1);
    if (!tier) throw new RangeError(`attempt ${failedAttempt} is outside 1..${this.maxAttempts}`);
    return { kind: 'retry', tier, dueAt: failedAtMs + tier.delayMs };
  }

  /** After attempt `failedAttempt` failed at `failedAtMs`: when the next is due, or null when exhausted. */
  nextDueAt(failedAttempt: number, failedAtMs: number): number | null {
    const next = this.afterAttempt(failedAttempt, failedAtMs);
    return next.kind === 'retry' ? next.dueAt : null;
  }

  /** When attempt `attempt` (≥ 2) is due after the previous attempt failed at `failedAtMs`. */
  dueAt(attempt: number, failedAtMs: number): number {
    const tier = this.tierForAttempt(attempt);
    if (!tier) throw new RangeError(`no retry tier for attempt ${attempt} (schedule ${this.toString()})`);
    return failedAtMs + tier.delayMs;
  }

  /**
   * The tier that can hold a delivery for `waitMs` (decision 0013, `Retry-After`): the tier with the
   * shortest delay that is at least `waitMs`, so it releases the delivery at its due time, never
   * before (a record is released no later than its timestamp + its tier's delay); when no tier is
   * that long, the longest (the dispatcher parks the delivery again when it comes back early).
   */
  holdingTierFor(waitMs: number): RetryTier | undefined {
    let longest: RetryTier | undefined;
    let best: RetryTier | undefined;
    for (const tier of this.tiers) {
      if (!longest || tier.delayMs > longest.delayMs) longest = tier;
      if (tier.delayMs >= waitMs && (!best || tier.delayMs < best.delayMs)) best = tier;
    }
    return best ?? longest;
  }

  /** The tier topics (`webhooks.retry.2` … `webhooks.retry.<maxAttempts>`). */
  get topics(): RetryTierTopic[] {
    return this.tiers.map((t) => t.topic);
  }

  tierForTopic(topic: string): RetryTier | undefined {
    return this.byTopic.get(topic);
  }

  tierForAttempt(attempt: number): RetryTier | undefined {
    return this.tiers[attempt - 2];
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

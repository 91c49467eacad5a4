import { retryTierTopic, type DeliveryJob, type RetryTierTopic } from '@odis/contracts';
import type { RetrySchedule } from '@odis/config';

/** One retry tier: the topic holding deliveries waiting for attempt `attempt`, and its one constant delay. */
export interface RetryTier {
  attempt: number;
  topic: RetryTierTopic;
  /** Wait between the failure of attempt `attempt - 1` and attempt `attempt`. */
  delayMs: number;
}

/** When a delivery read from a tier topic is released to `webhooks.deliveries`. */
export interface ReleasePlan {
  releaseAtMs: number;
  /**
   * True when the job's own `due_at` lay further out than its tier allows (record timestamp + tier
   * delay) and was capped: a producer with a longer schedule than ours, or a corrupt due time. The
   * cap keeps one bad head from holding its whole partition back.
   */
  capped: boolean;
}

/**
 * The due-time arithmetic of the retry tiers, derived from the configured {@link RetrySchedule}
 * (the seed's `0,1m,5m,30m,2h` by default). Each tier topic has exactly one delay, so a partition's
 * records are in due-time order and only its head ever needs looking at.
 */
export class RetryPlanner {
  private readonly byTopic: ReadonlyMap<string, RetryTier>;
  readonly tiers: readonly RetryTier[];

  constructor(readonly schedule: RetrySchedule) {
    const tiers: RetryTier[] = [];
    for (let attempt = 2; attempt <= schedule.maxAttempts; attempt++) {
      tiers.push({ attempt, topic: retryTierTopic(attempt), delayMs: schedule.delayBefore(attempt) });
    }
    this.tiers = Object.freeze(tiers);
    this.byTopic = new Map(tiers.map((t) => [t.topic, t]));
  }

  /** The tier topics the scheduler consumes (`webhooks.retry.2` … `webhooks.retry.<maxAttempts>`). */
  get topics(): RetryTierTopic[] {
    return this.tiers.map((t) => t.topic);
  }

  tierForTopic(topic: string): RetryTier | undefined {
    return this.byTopic.get(topic);
  }

  tierForAttempt(attempt: number): RetryTier | undefined {
    return this.tiers.find((t) => t.attempt === attempt);
  }

  /** When attempt `attempt` (≥ 2) is due after the previous attempt failed at `failedAtMs`. */
  dueAt(attempt: number, failedAtMs: number): number {
    const tier = this.tierForAttempt(attempt);
    if (!tier) throw new RangeError(`no retry tier for attempt ${attempt} (schedule ${this.schedule.toString()})`);
    return failedAtMs + tier.delayMs;
  }

  /**
   * When a job read from `tier` is released: its `due_at`, but never later than the record's
   * timestamp plus the tier's delay (the record is produced right after the failure, so in normal
   * operation `due_at` is always within that bound). A record without timestamp is not capped.
   */
  releasePlan(job: Pick<DeliveryJob, 'due_at'>, tier: RetryTier, recordTimestampMs: number): ReleasePlan {
    if (!(recordTimestampMs > 0)) return { releaseAtMs: job.due_at, capped: false };
    const latest = recordTimestampMs + tier.delayMs;
    return job.due_at > latest ? { releaseAtMs: latest, capped: true } : { releaseAtMs: job.due_at, capped: false };
  }
}

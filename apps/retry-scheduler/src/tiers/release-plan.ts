import type { RetryTier } from '@odis/config';
import type { DeliveryJob } from '@odis/contracts';

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
 * When a job read from `tier` (of the one retry policy, {@link RetrySchedule}) is released: its
 * `due_at`, but never later than the record's timestamp plus the tier's delay (the record is produced
 * right after the failure, so in normal operation `due_at` is always within that bound). A record
 * without timestamp is not capped.
 */
export function releasePlan(job: Pick<DeliveryJob, 'due_at'>, tier: RetryTier, recordTimestampMs: number): ReleasePlan {
  if (!(recordTimestampMs > 0)) return { releaseAtMs: job.due_at, capped: false };
  const latest = recordTimestampMs + tier.delayMs;
  return job.due_at > latest ? { releaseAtMs: latest, capped: true } : { releaseAtMs: job.due_at, capped: false };
}

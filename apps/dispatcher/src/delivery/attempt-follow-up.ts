import type { RetrySchedule } from '@odis/config';
import type { AttemptSummary, DeliveryJob, ExhaustedDelivery, RetryTierTopic } from '@odis/contracts';

/** A Retry-After job back this close to its due time is attempted, not parked again. */
const PARK_TOLERANCE_MS = 1000;

export type FollowUp =
  | { kind: 'none'; reason: 'succeeded' | 'skipped' | 'manual' }
  | { kind: 'retry'; topic: RetryTierTopic; job: DeliveryJob; dueAt: number }
  | { kind: 'exhausted'; message: ExhaustedDelivery };

/**
 * The record that follows an attempt, built from the one retry policy ({@link RetrySchedule.afterAttempt}):
 * nothing once it succeeded (or was skipped); a failed attempt n < maxAttempts becomes the job of
 * attempt n+1 on its tier topic, due as the schedule says, with this attempt appended to
 * `previous_attempts`; a failed last attempt becomes an ExhaustedDelivery (the notifier then
 * disables the webhook). A manual redelivery is a single attempt: it is recorded but neither
 * retried nor counted towards disabling.
 */
export class AttemptFollowUp {
  constructor(private readonly schedule: RetrySchedule) {}

  get maxAttempts(): number {
    return this.schedule.maxAttempts;
  }

  decide(
    job: DeliveryJob,
    summary: AttemptSummary,
    failedAtMs: number,
    current: { url: string; secretEncrypted: string } = { url: job.url, secretEncrypted: job.secret_encrypted },
    /** The wait the receiver asked for (`Retry-After` on 429/503, already capped at 2 h), or null. */
    requestedDelayMs: number | null = null,
  ): FollowUp {
    if (summary.outcome === 'succeeded') return { kind: 'none', reason: 'succeeded' };
    if (summary.outcome === 'skipped') return { kind: 'none', reason: 'skipped' };
    if (job.manual) return { kind: 'none', reason: 'manual' };
    const attempts = [...(job.previous_attempts ?? []), summary];
    const next = this.schedule.afterAttempt(job.attempt, failedAtMs);
    if (next.kind === 'exhausted') {
      return {
        kind: 'exhausted',
        message: {
          v: 1,
          delivery_id: job.delivery_id,
          event_id: job.event_id,
          event_type: job.event_type,
          account_id: job.account_id,
          subscription_id: job.subscription_id,
          url: current.url,
          attempts,
          exhausted_at: new Date(failedAtMs).toISOString(),
          ...(job.event_received_at ? { event_received_at: job.event_received_at } : {}),
        },
      };
    }
    const retryJob: DeliveryJob = {
      ...job,
      url: current.url,
      secret_encrypted: current.secretEncrypted,
      attempt: next.tier.attempt,
      due_at: next.dueAt,
      previous_attempts: attempts,
    };
    delete retryJob.retry_after_ms;
    // Retry-After (decision 0013): no earlier than the receiver asks, never earlier than the schedule.
    // A longer wait than the attempt's tier holds goes to the tier that can hold it.
    const asked = requestedDelayMs === null ? null : failedAtMs + requestedDelayMs;
    if (asked !== null && asked > next.dueAt) {
      const holding = this.schedule.holdingTierFor(asked - failedAtMs) ?? next.tier;
      retryJob.due_at = asked;
      retryJob.retry_after_ms = requestedDelayMs!;
      return { kind: 'retry', topic: holding.topic, dueAt: asked, job: retryJob };
    }
    return { kind: 'retry', topic: next.tier.topic, dueAt: next.dueAt, job: retryJob };
  }

  /**
   * A job on `webhooks.deliveries` whose `Retry-After` wait is not over (its wait was longer than
   * the longest tier, which released it at the tier's bound): where to park it again, unattempted.
   * Null when it is due (1 s of tolerance for clock skew between replicas) or not a Retry-After job.
   */
  parkAgain(job: DeliveryJob, nowMs: number): { topic: RetryTierTopic; job: DeliveryJob } | null {
    if (job.retry_after_ms === undefined || job.manual || job.due_at <= nowMs + PARK_TOLERANCE_MS) return null;
    const holding = this.schedule.holdingTierFor(job.due_at - nowMs);
    return holding ? { topic: holding.topic, job } : null;
  }
}

import type { RetrySchedule } from '@odis/config';
import type { AttemptSummary, DeliveryJob, ExhaustedDelivery, RetryTierTopic } from '@odis/contracts';

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
        },
      };
    }
    return {
      kind: 'retry',
      topic: next.tier.topic,
      dueAt: next.dueAt,
      job: {
        ...job,
        url: current.url,
        secret_encrypted: current.secretEncrypted,
        attempt: next.tier.attempt,
        due_at: next.dueAt,
        previous_attempts: attempts,
      },
    };
  }
}

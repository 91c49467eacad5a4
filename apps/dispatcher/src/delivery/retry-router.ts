import type { RetrySchedule } from '@odis/config';
import { retryTierTopic, type AttemptSummary, type DeliveryJob, type ExhaustedDelivery, type RetryTierTopic } from '@odis/contracts';

export type RetryDecision =
  | { kind: 'none'; reason: 'succeeded' | 'skipped' | 'manual' }
  | { kind: 'retry'; topic: RetryTierTopic; job: DeliveryJob; dueAt: number }
  | { kind: 'exhausted'; message: ExhaustedDelivery };

/**
 * Where a delivery goes after an attempt: nowhere once it succeeded (or was skipped); a failed
 * attempt n < maxAttempts becomes attempt n+1 on tier topic `webhooks.retry.<n+1>`, due
 * `schedule.nextDueAt(n, failedAt)`, with this attempt appended to `previous_attempts`; a failed
 * last attempt becomes an ExhaustedDelivery (the notifier then disables the webhook). A manual
 * redelivery is a single attempt: it is recorded but neither retried nor counted towards disabling.
 */
export class RetryRouter {
  constructor(private readonly schedule: RetrySchedule) {}

  get maxAttempts(): number {
    return this.schedule.maxAttempts;
  }

  decide(
    job: DeliveryJob,
    summary: AttemptSummary,
    failedAtMs: number,
    current: { url: string; secretEncrypted: string } = { url: job.url, secretEncrypted: job.secret_encrypted },
  ): RetryDecision {
    if (summary.outcome === 'succeeded') return { kind: 'none', reason: 'succeeded' };
    if (summary.outcome === 'skipped') return { kind: 'none', reason: 'skipped' };
    if (job.manual) return { kind: 'none', reason: 'manual' };
    const attempts = [...(job.previous_attempts ?? []), summary];
    const dueAt = job.attempt < this.schedule.maxAttempts ? this.schedule.nextDueAt(job.attempt, failedAtMs) : null;
    if (dueAt === null) {
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
    const next = job.attempt + 1;
    return {
      kind: 'retry',
      topic: retryTierTopic(next),
      dueAt,
      job: {
        ...job,
        url: current.url,
        secret_encrypted: current.secretEncrypted,
        attempt: next,
        due_at: dueAt,
        previous_attempts: attempts,
      },
    };
  }
}

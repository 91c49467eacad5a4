import { stableId, type AttemptRecord, type AttemptSummary, type DeliveryJob } from '@odis/contracts';
import { currentTraceIds } from '@odis/platform';
import type { ClassifiedOutcome } from './attempt-outcome-classifier.js';

/** A classified attempt, or a skip (not sent). */
export type RecordedOutcome = Omit<ClassifiedOutcome, 'outcome'> & { outcome: AttemptRecord['outcome']; requestHeaders?: Record<string, string> };

/**
 * Attempt id: stable per (delivery, attempt number), so the same attempt repeated after a crash
 * yields the same id and the delivery log upserts instead of doubling. Manual redeliveries (which
 * reuse attempt numbers) are told apart by their creation time.
 */
export function attemptIdFor(job: Pick<DeliveryJob, 'delivery_id' | 'attempt' | 'manual' | 'created_at'>): string {
  return job.manual ? stableId('att', job.delivery_id, String(job.attempt), 'manual', job.created_at) : stableId('att', job.delivery_id, String(job.attempt));
}

export function summaryOf(job: Pick<DeliveryJob, 'attempt'>, result: RecordedOutcome, attemptedAtMs: number): AttemptSummary {
  return {
    attempt: job.attempt,
    attempted_at: new Date(attemptedAtMs).toISOString(),
    outcome: result.outcome,
    status_code: result.statusCode,
    error_class: result.errorClass,
    error_message: result.errorMessage,
    duration_ms: result.durationMs,
  };
}

export function buildAttemptRecord(
  job: DeliveryJob,
  url: string,
  result: RecordedOutcome,
  attemptedAtMs: number,
  nextAttemptAt: number | null,
): AttemptRecord {
  const record: AttemptRecord = {
    v: 1,
    attempt_id: attemptIdFor(job),
    delivery_id: job.delivery_id,
    event_id: job.event_id,
    event_type: job.event_type,
    account_id: job.account_id,
    subscription_id: job.subscription_id,
    url,
    attempt: job.attempt,
    outcome: result.outcome,
    status_code: result.statusCode,
    error_class: result.errorClass,
    error_message: result.errorMessage,
    duration_ms: result.durationMs,
    response_excerpt: result.responseExcerpt,
    attempted_at: new Date(attemptedAtMs).toISOString(),
    next_attempt_at: nextAttemptAt,
  };
  if (job.manual) record.manual = true;
  // The delivery log shows what was sent: the headers of this attempt (the object the attempter
  // built, not a copy) and the body, which the log stores once per delivery.
  if (result.requestHeaders) record.request_headers = result.requestHeaders;
  record.body = job.body;
  const traceId = currentTraceIds()?.traceId;
  if (traceId) record.trace_id = traceId;
  return record;
}

/** The record of a delivery that was not sent because its webhook is disabled, deleted or unsubscribed. */
export function buildSkippedRecord(job: DeliveryJob, reason: string, nowMs: number): AttemptRecord {
  return buildAttemptRecord(
    job,
    job.url,
    { outcome: 'skipped', statusCode: null, errorClass: null, errorMessage: reason, responseExcerpt: null, durationMs: 0 },
    nowMs,
    null,
  );
}

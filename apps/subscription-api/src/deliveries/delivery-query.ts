import { z } from 'zod';
import { EVENT_TYPES } from '@odis/contracts';
import type { DeliveryAttemptEntity } from '@odis/persistence';
import { ApiError } from '@odis/platform';

/**
 * The delivery log's query language, apart from HTTP: the filters of the list, the status of one
 * delivery, the window of the stats. Plain functions, tested beside this file.
 */

export const OUTCOMES = ['succeeded', 'failed', 'skipped'] as const;
export type Outcome = (typeof OUTCOMES)[number];

const isoTime = z.iso.datetime({ offset: true, message: 'must be an ISO-8601 timestamp, e.g. 2026-11-29T13:00:00Z' });

/** `GET /v1/webhooks/{id}/deliveries` query (unknown parameters are a 400 naming them). */
export const deliveriesQuery = z
  .strictObject({
    limit: z.coerce.number({ message: 'must be a number' }).int().min(1, 'must be at least 1').max(100, 'must be at most 100').default(20),
    /** The `next_cursor` of the previous page (or, as before, an ISO-8601 time: attempts strictly older). */
    before: z.string().max(300).optional(),
    outcome: z.enum(OUTCOMES, { message: 'must be succeeded, failed or skipped' }).optional(),
    event_type: z.enum(EVENT_TYPES, { message: `must be one of ${EVENT_TYPES.join(', ')}` }).optional(),
    event_id: z.string().min(1, 'must not be empty').max(200, 'must be at most 200 characters').optional(),
    /** Attempts at or after this time. */
    since: isoTime.optional(),
    /** Attempts strictly before this time. */
    until: isoTime.optional(),
  })
  .superRefine((q, ctx) => {
    if (q.since !== undefined && q.until !== undefined && Date.parse(q.since) >= Date.parse(q.until)) {
      ctx.addIssue({ code: 'custom', path: ['since'], message: 'must be before until' });
    }
  });
export type DeliveriesQuery = z.infer<typeof deliveriesQuery>;

/** One attempt as the API presents it (the list's items and the detail's `attempts`). */
export function presentAttempt(a: DeliveryAttemptEntity) {
  return {
    object: 'delivery_attempt' as const,
    id: a.attemptId,
    delivery_id: a.deliveryId,
    event_id: a.eventId,
    event_type: a.eventType,
    webhook_id: a.subscriptionId,
    url: a.url,
    attempt: a.attempt,
    outcome: a.outcome,
    status_code: a.statusCode,
    error_class: a.errorClass,
    error_message: a.errorMessage,
    duration_ms: Math.round(a.durationMs * 10) / 10,
    response_excerpt: a.responseExcerpt,
    attempted_at: a.attemptedAt.toISOString(),
    next_attempt_at: a.nextAttemptAt?.toISOString() ?? null,
    /** The headers sent (signatures included, never the secret); null on a skip or an attempt logged before they were kept. */
    request_headers: a.requestHeaders ?? null,
    manual: a.manual ?? false,
  };
}

export type DeliveryStatus = 'succeeded' | 'failed' | 'pending' | 'skipped';

/**
 * The status of one delivery from its attempts (oldest first; at least one), decided by the last:
 * succeeded → `succeeded`; skipped (the webhook was disabled or deleted when it was due) → `skipped`;
 * failed with a next attempt scheduled → `pending` (`next_attempt_at` says when); failed with none
 * → `failed` (retries exhausted or a failure that is not retried).
 */
export function deliveryStatus(attempts: readonly Pick<DeliveryAttemptEntity, 'outcome' | 'nextAttemptAt'>[]): {
  status: DeliveryStatus;
  nextAttemptAt: Date | null;
} {
  const last = attempts[attempts.length - 1];
  if (!last) throw new Error('a delivery has at least one attempt');
  if (last.outcome === 'succeeded') return { status: 'succeeded', nextAttemptAt: null };
  if (last.outcome === 'skipped') return { status: 'skipped', nextAttemptAt: null };
  if (last.nextAttemptAt) return { status: 'pending', nextAttemptAt: last.nextAttemptAt };
  return { status: 'failed', nextAttemptAt: null };
}

export const DEFAULT_STATS_WINDOW = '24h';
const MAX_WINDOW_HOURS = 7 * 24;

/** `1h`..`168h` or `1d`..`7d` → hours; anything else is a 400 naming `window`. */
export function parseWindow(value: unknown): { window: string; hours: number } {
  if (value === undefined) return { window: DEFAULT_STATS_WINDOW, hours: 24 };
  const match = typeof value === 'string' ? /^([1-9]\d{0,3})([hd])$/.exec(value) : null;
  const hours = match ? Number(match[1]) * (match[2] === 'd' ? 24 : 1) : 0;
  if (!match || hours < 1 || hours > MAX_WINDOW_HOURS) {
    throw ApiError.invalidField('window', 'must be a number of hours or days from 1h to 7d, e.g. 24h or 7d');
  }
  return { window: value as string, hours };
}

/** `GET /v1/webhooks/{id}/stats` query. */
export const statsQuery = z.strictObject({ window: z.string().max(20).optional() });

const HOUR_MS = 3_600_000;

/** The first hour of a window of `hours` hour buckets whose last bucket is the hour of `now` (UTC). */
export function windowStart(now: Date, hours: number): Date {
  return new Date(Math.floor(now.getTime() / HOUR_MS) * HOUR_MS - (hours - 1) * HOUR_MS);
}

export interface HourCounts {
  succeeded: number;
  failed: number;
  skipped: number;
}

/** Every hour of the window, oldest first, zeros where nothing was attempted; `counts[i]` is hour i from `start`. */
export function hourBuckets(start: Date, hours: number, counts: ReadonlyMap<number, HourCounts>) {
  const buckets = Array.from({ length: hours }, (_, i) => ({
    hour: new Date(start.getTime() + i * HOUR_MS).toISOString(),
    ...(counts.get(i) ?? { succeeded: 0, failed: 0, skipped: 0 }),
  }));
  const totals = buckets.reduce((t, b) => ({ succeeded: t.succeeded + b.succeeded, failed: t.failed + b.failed, skipped: t.skipped + b.skipped }), {
    succeeded: 0,
    failed: 0,
    skipped: 0,
  });
  return { buckets, totals };
}

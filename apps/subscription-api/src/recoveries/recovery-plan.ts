import { Partitioners } from 'kafkajs';
import { EVENT_TOPICS, firstAttemptJob, newId, stableId, ValidatedEventCodec, webhookBodyOf, type DeliveryJob, type EventType, type ValidatedEventMessage } from '@odis/contracts';
import { ApiError } from '@odis/platform';

const DAY_MS = 24 * 60 * 60 * 1000;

/** What a recovery replays: one account's events of some types, record time in [sinceMs, untilMs). */
export interface RecoveryScope {
  accountId: string;
  eventTypes: readonly EventType[];
  sinceMs: number;
  untilMs: number;
}

/** A new public recovery id, `rec_…`. */
export function newRecoveryId(): string {
  return newId('rec');
}

/**
 * Checks a requested window against the event log's retention and the clock: `since` must be within
 * the last `retentionDays` (else a 400 naming the limit), `until` (default now, capped at now) after `since`.
 */
export function recoveryWindow(input: { since: string; until?: string }, retentionDays: number, nowMs: number): { sinceMs: number; untilMs: number } {
  const sinceMs = Date.parse(input.since);
  const oldest = nowMs - retentionDays * DAY_MS;
  if (sinceMs < oldest) {
    throw ApiError.invalidField('since', `is beyond the event retention of ${retentionDays} days (EVENT_RETENTION_DAYS): the oldest recoverable time is ${new Date(oldest).toISOString()}`);
  }
  if (sinceMs >= nowMs) throw ApiError.invalidField('since', 'must be in the past');
  const untilMs = input.until === undefined ? nowMs : Math.min(Date.parse(input.until), nowMs);
  if (input.until !== undefined && Date.parse(input.until) <= sinceMs) throw ApiError.invalidField('until', 'must be after since');
  return { sinceMs, untilMs };
}

/** The per-type event topics a recovery of these types reads. */
export function topicsFor(eventTypes: readonly EventType[]): string[] {
  return [...new Set(eventTypes)].map((t) => EVENT_TOPICS[t]);
}

/**
 * The partition the producers put an account's events in: kafkajs' DefaultPartitioner (murmur2 of
 * the key, as MessageProducer configures it) over `partitionCount` partitions.
 */
export function partitionFor(accountId: string, partitionCount: number, topic = 'events'): number {
  const partitioner = Partitioners.DefaultPartitioner();
  const partitionMetadata = Array.from({ length: partitionCount }, (_, i) => ({ partitionId: i, partitionErrorCode: 0, leader: 0, replicas: [0], isr: [0] }));
  return partitioner({ topic, partitionMetadata, message: { key: accountId, value: null } });
}

/**
 * One record of the account's partition: the decoded event when it belongs to the recovery (key and
 * `account_id` both the account's, a wanted type, record time in the window), else null. Undecodable
 * records are skipped (event-ingest only writes valid ones).
 */
export function matchRecord(record: { key: Buffer | null; value: Buffer | null; timestamp: number }, scope: RecoveryScope): ValidatedEventMessage | null {
  if (record.timestamp < scope.sinceMs || record.timestamp >= scope.untilMs) return null;
  if (record.key === null || record.key.toString('utf8') !== scope.accountId) return null;
  const decoded = ValidatedEventCodec.decode(record.value);
  if (!decoded.ok) return null;
  const event = decoded.value;
  if (event.account_id !== scope.accountId || !scope.eventTypes.includes(event.event)) return null;
  return event;
}

/**
 * The delivery id of an event replayed by a recovery: new (not the original delivery's), and the same
 * on every run of the same recovery, so a runner restart re-produces the same ids.
 */
export function recoveryDeliveryId(eventId: string, subscriptionId: string, recoveryId: string): string {
  return stableId('dlv', eventId, subscriptionId, recoveryId);
}

/**
 * The delivery job of a replayed event: the body built exactly as fan-out builds it, the original
 * event id, attempt 1 (not manual, so retries follow the normal schedule).
 */
export function recoveryJob(
  event: ValidatedEventMessage,
  webhook: { id: string; url: string; secretEncrypted: string },
  recoveryId: string,
  nowMs: number,
): DeliveryJob {
  return firstAttemptJob(
    {
      delivery_id: recoveryDeliveryId(event.event_id, webhook.id, recoveryId),
      event_id: event.event_id,
      event_type: event.event,
      account_id: event.account_id,
      subscription_id: webhook.id,
      url: webhook.url,
      secret_encrypted: webhook.secretEncrypted,
      body: webhookBodyOf(event),
      event_received_at: event.received_at,
    },
    nowMs,
  );
}

/**
 * How long to wait before producing more so that `sent` jobs since `startedMs` stay within
 * `perSecond` (0 when behind schedule).
 */
export function paceDelay(sent: number, startedMs: number, nowMs: number, perSecond: number): number {
  return Math.max(0, Math.ceil(startedMs + (sent * 1000) / perSecond - nowMs));
}

/**
 * Jobs produced together: about a tenth of a second's worth at the configured rate (at most 200), so
 * the dispatcher gets a replay as a steady trickle (50 jobs every 100 ms at 500/s) rather than a
 * burst of a second's worth at once, which it would work through while live deliveries wait.
 */
export function chunkSize(perSecond: number): number {
  return Math.max(1, Math.min(200, Math.ceil(perSecond / 10)));
}

/**
 * Every Kafka topic of the platform, in one place. Names are the wire contract between the apps;
 * specs (partitions, retention, compaction) are declared once here and applied by `ensureTopics`.
 */
export const TOPICS = {
  /** Raw telephony/agent events, `{event, timestamp, account_id, data, id?}`, key: account id. */
  telephonyRaw: 'telephony.events.raw',
  /** Raw events that failed validation, original bytes plus the reason in headers. */
  telephonyDlq: 'telephony.events.dlq',
  /** Validated events, one topic per event type, key: account id. */
  callStarted: 'events.call.started',
  callEnded: 'events.call.ended',
  appointmentCreated: 'events.appointment.created',
  /** Compacted changelog of subscription snapshots, key: subscription id, tombstone after delete. */
  subscriptions: 'webhooks.subscriptions',
  /** Delivery jobs due now (attempt 1 from fan-out, later attempts from the retry scheduler). */
  deliveries: 'webhooks.deliveries',
  /**
   * Compacted: the holds of per-call ordering (decision 0017), key `<webhook id>/<call_id>`, written
   * to the partition number of the webhook's `webhooks.deliveries` partition; tombstone on release.
   */
  callHolds: 'webhooks.call-holds',
  /** The outcome of every attempt. */
  attempts: 'webhooks.attempts',
  /** Deliveries whose last attempt failed. */
  exhausted: 'webhooks.exhausted',
  /** Messages our own consumers could not process (poison messages), with the reason. */
  internalDlq: 'webhooks.dlq',
} as const;

export type TopicName = (typeof TOPICS)[keyof typeof TOPICS] | RetryTierTopic;

/** Retry tier topics: `webhooks.retry.2` … `webhooks.retry.5`, one per attempt number, one constant delay each. */
export type RetryTierTopic = `webhooks.retry.${number}`;
export const RETRY_TIER_ATTEMPTS = [2, 3, 4, 5] as const;
export function retryTierTopic(attempt: number): RetryTierTopic {
  if (!Number.isInteger(attempt) || attempt < 2) throw new RangeError(`no retry tier for attempt ${attempt}`);
  return `webhooks.retry.${attempt}`;
}

export const EVENT_TOPICS = {
  'call.started': TOPICS.callStarted,
  'call.ended': TOPICS.callEnded,
  'appointment.created': TOPICS.appointmentCreated,
} as const;

export interface TopicSpec {
  name: string;
  partitions: number;
  /** Kafka topic configs (cleanup.policy, retention.ms, …). */
  config: Record<string, string>;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const retention = (ms: number) => ({ 'retention.ms': String(ms) });

/** How long the per-type event topics keep events by default (`EVENT_RETENTION_DAYS`): what a recovery can replay. */
export const DEFAULT_EVENT_RETENTION_DAYS = 30;

export interface TopicSpecOptions {
  /** Retention of the per-type event topics (`events.*`), days. Default {@link DEFAULT_EVENT_RETENTION_DAYS}. */
  eventRetentionDays?: number;
}

/**
 * Declarations of every topic. The per-type event topics are the event log that recoveries replay
 * from, so they keep events for `eventRetentionDays`. Retention of the retry tiers comfortably
 * exceeds the longest delay (2 h) so a scheduler that is down for days still finds its parked deliveries.
 */
export function topicSpecs(partitions = 6, options: TopicSpecOptions = {}): TopicSpec[] {
  const p = Number.isInteger(partitions) && partitions > 0 ? partitions : 6;
  const days = options.eventRetentionDays ?? DEFAULT_EVENT_RETENTION_DAYS;
  const eventRetention = retention((Number.isFinite(days) && days > 0 ? days : DEFAULT_EVENT_RETENTION_DAYS) * DAY_MS);
  return [
    { name: TOPICS.telephonyRaw, partitions: p, config: retention(7 * DAY_MS) },
    { name: TOPICS.telephonyDlq, partitions: 1, config: retention(30 * DAY_MS) },
    { name: TOPICS.callStarted, partitions: p, config: eventRetention },
    { name: TOPICS.callEnded, partitions: p, config: eventRetention },
    { name: TOPICS.appointmentCreated, partitions: p, config: eventRetention },
    {
      name: TOPICS.subscriptions,
      partitions: p,
      config: { 'cleanup.policy': 'compact', 'min.compaction.lag.ms': '0', 'delete.retention.ms': String(DAY_MS) },
    },
    { name: TOPICS.deliveries, partitions: p, config: retention(7 * DAY_MS) },
    {
      // Same partition count as webhooks.deliveries: a hold lives on its webhook's partition number.
      name: TOPICS.callHolds,
      partitions: p,
      config: { 'cleanup.policy': 'compact', 'min.compaction.lag.ms': '0', 'delete.retention.ms': String(DAY_MS), 'segment.ms': String(60 * 60 * 1000) },
    },
    { name: TOPICS.attempts, partitions: p, config: retention(30 * DAY_MS) },
    { name: TOPICS.exhausted, partitions: p, config: retention(30 * DAY_MS) },
    { name: TOPICS.internalDlq, partitions: 1, config: retention(30 * DAY_MS) },
    ...RETRY_TIER_ATTEMPTS.map((a) => ({ name: retryTierTopic(a), partitions: p, config: retention(7 * DAY_MS) })),
  ];
}

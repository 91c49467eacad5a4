import { z } from 'zod';
import { eventType, isoTimestamp, serializeWebhookPayload, type EventType } from './events.js';
import { KAFKA_HEADERS } from './headers.js';
import { parseBoundedJson } from './limits.js';

/**
 * Every message that crosses a Kafka topic, each with a schema version `v`, and next to each schema
 * its codec (`XCodec.encode(message)` → key, value and headers, with the schema header and the key
 * chosen here, so no app writes them by hand; `XCodec.decode(bytes)`). Decoding never throws: it
 * returns the reason a record is unusable so the caller can dead-letter or skip it.
 */

const accountId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, _ or -');

/** What telephony/agent systems produce to `telephony.events.raw` (key: account id). */
export const rawTelephonyEvent = z.object({
  event: z.string().min(1).max(64),
  timestamp: isoTimestamp,
  account_id: accountId,
  data: z.record(z.string(), z.unknown()),
  id: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'must be 1-128 letters, digits, _ . : or -')
    .optional(),
});
export type RawTelephonyEvent = z.infer<typeof rawTelephonyEvent>;

/** A validated event on `events.<type>` (key: account id). `data` holds only contract fields. */
export const validatedEventMessage = z.object({
  v: z.literal(1),
  event_id: z.string(),
  account_id: accountId,
  event: eventType,
  timestamp: isoTimestamp,
  data: z.record(z.string(), z.unknown()),
  received_at: isoTimestamp,
  /**
   * Tie-break of `received_at` within one account's ingest (decision 0017): the raw record's offset
   * (Kafka ingest; one account is one raw partition) or the index in an HTTP batch. Absent on older events: 0.
   */
  ingest_seq: z.number().int().nonnegative().optional(),
});
export type ValidatedEventMessage = z.infer<typeof validatedEventMessage>;

/** The webhook body of a validated event: exactly the public page's `{event, timestamp, data}` bytes. */
export function webhookBodyOf(event: ValidatedEventMessage): string {
  return serializeWebhookPayload({ event: event.event as EventType, timestamp: event.timestamp, data: event.data as never });
}
export const ValidatedEventCodec = messageCodec(validatedEventMessage, 'validated-event.v1', (m) => m.account_id, (m) => ({
  [KAFKA_HEADERS.eventType]: m.event,
  [KAFKA_HEADERS.eventId]: m.event_id,
}));

/** A webhook's delivery order (decision 0017): `none` (default) or `call` (one call's events in ingest order). */
export const ORDERING_MODES = ['none', 'call'] as const;
export type OrderingMode = (typeof ORDERING_MODES)[number];

/** The bounds of a webhook's `rate_limit_per_second` (decision 0013). */
export const RATE_LIMIT_PER_SECOND_BOUNDS = Object.freeze({ min: 1, max: 10_000 });

export const SUBSCRIPTION_STATUSES = ['active', 'disabled'] as const;
export type SubscriptionStatus = (typeof SUBSCRIPTION_STATUSES)[number];

/** Full current state of a webhook on the compacted `webhooks.subscriptions` (key: its id). */
export const subscriptionSnapshot = z.object({
  v: z.literal(1),
  id: z.string(),
  account_id: accountId,
  url: z.string(),
  events: z.array(eventType),
  status: z.enum(SUBSCRIPTION_STATUSES),
  /** SecretBox ciphertext, additional data = subscription id. */
  secret_encrypted: z.string(),
  /**
   * During a secret rotation's overlap (decision 0010): the replaced secret (SecretBox ciphertext,
   * same additional data) and when it stops signing. Absent (older snapshots) or null: none.
   */
  previous_secret: z.object({ secret_encrypted: z.string(), expires_at: isoTimestamp }).nullable().optional(),
  version: z.number().int().positive(),
  disabled_reason: z.string().nullable().optional(),
  updated_at: isoTimestamp,
  /** The webhook's own request headers, sent on every attempt (decision 0013); absent: none. */
  headers: z.record(z.string(), z.string()).optional(),
  /** Most deliveries per second to this webhook (decision 0013); absent: no limit. */
  rate_limit_per_second: z.number().int().positive().optional(),
  /** `call`: the events of one call_id in ingest order (decision 0017); absent: `none`. */
  ordering: z.enum(ORDERING_MODES).optional(),
});
export type SubscriptionSnapshot = z.infer<typeof subscriptionSnapshot>;
/**
 * Snapshots travel through the outbox table (key and payload only), so they carry no headers; a
 * deleted webhook is a tombstone (null value) under its id.
 */
export const SubscriptionSnapshotCodec = {
  ...messageCodec(subscriptionSnapshot, null, (m) => m.id),
  tombstone: (id: string): { key: string; value: null } => ({ key: id, value: null }),
};

export const attemptSummary = z.object({
  attempt: z.number().int().positive(),
  attempted_at: isoTimestamp,
  outcome: z.enum(['succeeded', 'failed', 'skipped']),
  status_code: z.number().int().nullable().optional(),
  error_class: z.string().nullable().optional(),
  error_message: z.string().nullable().optional(),
  duration_ms: z.number().nonnegative(),
});
export type AttemptSummary = z.infer<typeof attemptSummary>;

/** What names one delivery (event × subscription) and where it goes: shared by jobs, attempts and exhaustion. */
const deliveryRef = {
  delivery_id: z.string(),
  event_id: z.string(),
  event_type: eventType,
  account_id: accountId,
  subscription_id: z.string(),
  url: z.string(),
};

/**
 * One delivery (event × subscription) due for its attempt `attempt`. Carries everything an attempt
 * needs (url, encrypted secret, the exact body), so no attempt needs a database. On
 * `webhooks.deliveries` and on the retry tier topics (key: subscription id).
 */
export const deliveryJob = z.object({
  v: z.literal(1),
  ...deliveryRef,
  secret_encrypted: z.string(),
  /** The exact body bytes (UTF-8) that are signed and POSTed. */
  body: z.string(),
  attempt: z.number().int().min(1),
  /** When this attempt is due (ms since epoch); the retry scheduler holds the job until then. */
  due_at: z.number().int().nonnegative(),
  created_at: isoTimestamp,
  /** Set on manual redeliveries from the API. */
  manual: z.boolean().optional(),
  /**
   * A test event (`POST /v1/webhooks/{id}/test`; always also `manual`): sent even while the webhook
   * is disabled or not subscribed to its type (a deleted webhook still skips it).
   */
  test: z.boolean().optional(),
  previous_attempts: z.array(attemptSummary).default([]),
  /**
   * Set when the receiver's `Retry-After` (429/503, capped at 2 h) pushed `due_at` beyond the
   * schedule: the wait it asked for, in ms. Such a job may sit in a longer tier than its attempt's
   * (decision 0013), and one released before `due_at` is parked again, not attempted.
   */
  retry_after_ms: z.number().int().nonnegative().optional(),
  /**
   * When the event was ingested (its `received_at`), for deliveries of an ingested event (fan-out,
   * recovery): carried to the exhausted message so the disable email's recover call starts there.
   */
  event_received_at: isoTimestamp.optional(),
  /**
   * Set on deliveries to a webhook with `ordering: "call"` (decision 0017): the event's call_id. The
   * deliveries of one (webhook, call) are attempted one at a time in ingest order
   * (`event_received_at`, then `ingest_seq`); a failing one holds the later ones back.
   */
  order_key: z.string().max(200).optional(),
  ingest_seq: z.number().int().nonnegative().optional(),
});
export type DeliveryJob = z.infer<typeof deliveryJob>;

/** What names a delivery and what it sends: everything a first attempt needs besides its timing. */
export type FirstAttempt = Pick<DeliveryJob, 'delivery_id' | 'event_id' | 'event_type' | 'account_id' | 'subscription_id' | 'url' | 'secret_encrypted' | 'body'> &
  Partial<Pick<DeliveryJob, 'event_received_at' | 'order_key' | 'ingest_seq'>>;

/**
 * A delivery's first attempt, due at `nowMs`: what fan-out, a recovery, a redelivery and a test
 * event put on `webhooks.deliveries` (a manual one is a single attempt; a test one ignores the
 * webhook's status and event filter).
 */
export function firstAttemptJob(d: FirstAttempt, nowMs: number, createdAt = new Date(nowMs).toISOString(), flags: { manual?: true; test?: true } = {}): DeliveryJob {
  const job: DeliveryJob = {
    v: 1,
    delivery_id: d.delivery_id,
    event_id: d.event_id,
    event_type: d.event_type,
    account_id: d.account_id,
    subscription_id: d.subscription_id,
    url: d.url,
    secret_encrypted: d.secret_encrypted,
    body: d.body,
    attempt: 1,
    due_at: nowMs,
    created_at: createdAt,
    previous_attempts: [],
  };
  if (d.event_received_at) job.event_received_at = d.event_received_at;
  if (d.order_key !== undefined) job.order_key = d.order_key;
  if (d.ingest_seq !== undefined) job.ingest_seq = d.ingest_seq;
  if (flags.manual) job.manual = true;
  if (flags.test) job.test = true;
  return job;
}
export const DeliveryJobCodec = messageCodec(deliveryJob, 'delivery-job.v1', (m) => m.subscription_id, deliveryIdHeader);

export const ERROR_CLASSES = [
  'http_status',
  'timeout',
  'connection_refused',
  'connection_reset',
  'dns',
  'tls',
  'blocked_target',
  'response_too_large',
  'network',
] as const;
export type ErrorClass = (typeof ERROR_CLASSES)[number];

/** The outcome of one attempt, on `webhooks.attempts` (key: subscription id). */
export const attemptRecord = z.object({
  v: z.literal(1),
  attempt_id: z.string(),
  ...deliveryRef,
  attempt: z.number().int().min(1),
  outcome: z.enum(['succeeded', 'failed', 'skipped']),
  status_code: z.number().int().nullable(),
  error_class: z.enum(ERROR_CLASSES).nullable(),
  error_message: z.string().nullable(),
  duration_ms: z.number().nonnegative(),
  response_excerpt: z.string().nullable(),
  attempted_at: isoTimestamp,
  /** When the next attempt is due (ms since epoch), null when none follows. */
  next_attempt_at: z.number().int().nullable(),
  manual: z.boolean().optional(),
  /**
   * The request headers this attempt sent (signatures included, never the secret); absent on a
   * skip and on records written before they were recorded.
   */
  request_headers: z.record(z.string(), z.string()).optional(),
  /** The exact body bytes (UTF-8) of the delivery, the same on every attempt; absent on older records. */
  body: z.string().optional(),
  /** W3C trace id of the attempt (the event's trace when a `traceparent` came with it); absent on older records. */
  trace_id: z.string().regex(/^[0-9a-f]{32}$/).optional(),
});
export type AttemptRecord = z.infer<typeof attemptRecord>;
export const AttemptRecordCodec = messageCodec(attemptRecord, 'attempt-record.v1', (m) => m.subscription_id, deliveryIdHeader);

/** A delivery whose last attempt failed, on `webhooks.exhausted` (key: subscription id). */
export const exhaustedDelivery = z.object({
  v: z.literal(1),
  ...deliveryRef,
  attempts: z.array(attemptSummary).min(1),
  exhausted_at: isoTimestamp,
  /** When the exhausted delivery's event was ingested (absent on older jobs): where recovery starts. */
  event_received_at: isoTimestamp.optional(),
});
export type ExhaustedDelivery = z.infer<typeof exhaustedDelivery>;
export const ExhaustedDeliveryCodec = messageCodec(exhaustedDelivery, 'exhausted-delivery.v1', (m) => m.subscription_id, deliveryIdHeader);

/** A record ready for a producer: JSON value, partition key and string headers. */
export interface EncodedMessage {
  key: string;
  value: string;
  headers: Record<string, string>;
}

/** How one message type is written to and read from Kafka. */
export interface MessageCodec<T> {
  /** The `odis-schema` header value (null: the message travels without headers). */
  readonly schemaName: string | null;
  readonly schema: z.ZodType<T>;
  encode(message: T): EncodedMessage;
  decode(bytes: Buffer | string | null | undefined): DecodeResult<T>;
}

function messageCodec<T>(
  schema: z.ZodType<T>,
  schemaName: string | null,
  key: (message: T) => string,
  headers: (message: T) => Record<string, string> = () => ({}),
): MessageCodec<T> {
  return {
    schemaName,
    schema,
    encode: (message) => ({
      key: key(message),
      value: JSON.stringify(message),
      headers: schemaName === null ? headers(message) : { [KAFKA_HEADERS.schema]: schemaName, ...headers(message) },
    }),
    decode: (bytes) => decodeMessage(schema, bytes),
  };
}

/** Records of one delivery are keyed by subscription id (one webhook's records stay in order on one partition). */
function deliveryIdHeader(message: { delivery_id: string }): Record<string, string> {
  return { [KAFKA_HEADERS.deliveryId]: message.delivery_id };
}

export type DecodeResult<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Parses JSON bytes against a schema; never throws. The reason names each failing field. */
export function decodeMessage<T>(schema: z.ZodType<T>, bytes: Buffer | string | null | undefined): DecodeResult<T> {
  if (bytes === null || bytes === undefined) return { ok: false, reason: 'empty message value' };
  const json = parseBoundedJson(bytes);
  if (!json.ok) return { ok: false, reason: json.reason };
  const parsed = schema.safeParse(json.value);
  if (parsed.success) return { ok: true, value: parsed.data };
  return { ok: false, reason: describeIssues(parsed.error) };
}

/** `data.from: Invalid E.164 number; data.status: Invalid option …`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 10)
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
}

export function encodeMessage(value: unknown): string {
  return JSON.stringify(value);
}

import {
  checkWebhookBodySize,
  EVENT_DATA_SCHEMAS,
  EVENT_TOPICS,
  eventIdFor,
  isEventType,
  newId,
  parseBoundedJson,
  rawTelephonyEvent,
  serializeWebhookPayload,
  type EventType,
  type ValidatedEventMessage,
} from '@odis/contracts';
import type { z } from 'zod';
import { droppedFields } from './dropped-fields.js';

/** Why an event was refused (`invalid_batch`: the batch form's structure, HTTP only). */
export const VALIDATION_CODES = ['too_large', 'too_deep', 'not_json', 'invalid_envelope', 'unknown_event_type', 'invalid_data', 'body_too_large', 'invalid_batch'] as const;
export type ValidationCode = (typeof VALIDATION_CODES)[number];

export interface ValidationError {
  code: ValidationCode;
  /** Human-readable; names each failing field. */
  message: string;
  /** The first failing field (`timestamp`, `data.from`, …), or null when the whole message is unusable. */
  field: string | null;
}

export type ValidationResult =
  | { ok: true; event: ValidatedEventMessage; topic: string; droppedFields: string[] }
  | { ok: false; error: ValidationError };

export interface ValidationContext {
  /** `<partition>:<offset>` of the raw record: the event id when the producer gave none. */
  rawPosition?: string;
  receivedAt: Date;
  /** Tie-break of `receivedAt` within the account's ingest (decision 0017): raw offset or batch index. */
  ingestSeq?: number;
}

const ENVELOPE_KEYS = new Set(['event', 'timestamp', 'account_id', 'data', 'id']);

/**
 * Validates one raw telephony event against the contract of its type. Never throws and never
 * recurses without a bound. The checks, in order: size, nesting depth (a linear scan before the
 * parse), JSON, envelope `{event, timestamp, account_id, data, id?}`, known event type, the type's
 * data schema (with the free-form limits of decision 0006), and the byte cap of the webhook body
 * it will become. Fields outside the contract are dropped (and reported, to be counted), so
 * nothing internal reaches customers. The event id is stable: from the producer's `id` (scoped to
 * the account) when given, else from the raw record's position.
 */
export class EventValidator {
  constructor(readonly maxBytes: number) {}

  validate(bytes: Buffer | string | null | undefined, context: ValidationContext): ValidationResult {
    if (bytes === null || bytes === undefined || bytes.length === 0) return fail('not_json', 'empty message', null);
    const size = typeof bytes === 'string' ? Buffer.byteLength(bytes) : bytes.length;
    if (size > this.maxBytes) return fail('too_large', `event is ${size} bytes, more than the limit of ${this.maxBytes}`, null);
    const parsed = parseBoundedJson(bytes);
    if (!parsed.ok) return fail(parsed.code, parsed.code === 'too_deep' ? `event is ${parsed.reason}` : parsed.reason, null);
    const json = parsed.value;
    const envelope = rawTelephonyEvent.safeParse(json);
    if (!envelope.success) return fromZod('invalid_envelope', envelope.error);
    const raw = envelope.data;
    if (!isEventType(raw.event)) {
      return fail('unknown_event_type', `unknown event type "${raw.event}" (known: ${Object.keys(EVENT_TOPICS).join(', ')})`, 'event');
    }
    const type: EventType = raw.event;
    const data = (EVENT_DATA_SCHEMAS[type] as z.ZodType<Record<string, unknown>>).safeParse(raw.data);
    if (!data.success) return fromZod('invalid_data', data.error, 'data');
    const tooLarge = checkWebhookBodySize(serializeWebhookPayload({ event: type, timestamp: raw.timestamp, data: data.data as never }));
    if (tooLarge) return fail('body_too_large', tooLarge, 'data');

    const dropped: string[] = [];
    for (const key of Object.keys(json as object)) if (!ENVELOPE_KEYS.has(key)) dropped.push(key);
    droppedFields(raw.data, data.data, 'data.', 50, dropped);

    const event: ValidatedEventMessage = {
      v: 1,
      event_id: (raw.id || context.rawPosition) ? eventIdFor({ accountId: raw.account_id, producerId: raw.id, rawPosition: context.rawPosition ?? '' }) : newId('evt'),
      account_id: raw.account_id,
      event: type,
      timestamp: raw.timestamp,
      data: data.data,
      received_at: context.receivedAt.toISOString(),
    };
    if (context.ingestSeq !== undefined && Number.isSafeInteger(context.ingestSeq) && context.ingestSeq >= 0) event.ingest_seq = context.ingestSeq;
    return { ok: true, event, topic: EVENT_TOPICS[type], droppedFields: dropped };
  }
}

/** `invalid_data: data.from: Invalid E.164 number` — the reason kept with a dead letter. */
export function describeValidationError(error: ValidationError): string {
  return `${error.code}: ${error.message}`;
}

function fail(code: ValidationCode, message: string, field: string | null): ValidationResult {
  return { ok: false, error: { code, message, field } };
}

function fromZod(code: ValidationCode, error: z.ZodError, prefix?: string): ValidationResult {
  const issues = error.issues.slice(0, 10);
  const path = (p: PropertyKey[]) => [...(prefix ? [prefix] : []), ...p.map(String)].join('.');
  const message = issues.map((i) => `${path(i.path) || '(root)'}: ${i.message}`).join('; ');
  const first = issues[0] ? path(issues[0].path) : '';
  return fail(code, message, first || null);
}

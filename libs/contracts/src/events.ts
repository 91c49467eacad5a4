import { z } from 'zod';
import { freeFormObject, LIMITS } from './limits.js';

/**
 * The three events of the public Webhooks page, field for field. Samples in `examples.ts` are the
 * page's own. Producers' extra fields are dropped by these schemas (zod's default object mode), so
 * nothing internal leaks to customers.
 */

const id = (prefix: string) =>
  z
    .string()
    .regex(new RegExp(`^${prefix}_[A-Za-z0-9_-]{1,64}$`), `must look like ${prefix}_<letters, digits, _ or ->`);

/** ISO-8601 date-time with a zone designator (Z or ±hh:mm), as `2024-01-15T10:30:00Z`. */
export const isoTimestamp = z.iso.datetime({ offset: true });
/** Calendar date `YYYY-MM-DD`. */
export const isoDate = z.iso.date();
/** Wall-clock time `HH:MM` (24 h). */
export const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM (24-hour)');
/** E.164 phone number, `+` and up to 15 digits. */
export const e164 = z.e164();
const snakeCase = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'must be a snake_case identifier');

export const CALL_DIRECTIONS = ['inbound', 'outbound'] as const;
export const CALL_STATUSES = ['completed', 'missed', 'voicemail', 'transferred', 'failed'] as const;
export const SENTIMENTS = ['positive', 'neutral', 'negative', 'mixed'] as const;

export const callStartedData = z.object({
  call_id: id('call'),
  direction: z.enum(CALL_DIRECTIONS),
  from: e164,
  to: e164,
  agent_id: id('agent'),
});

export const appointmentDetails = z.object({
  date: isoDate,
  time: hhmm,
  type: snakeCase,
});

const appointmentScheduledAction = z.object({
  type: z.literal('appointment_scheduled'),
  details: appointmentDetails,
});
const otherAction = z.object({
  type: snakeCase.refine((t) => t !== 'appointment_scheduled'),
  /** Free-form, but bounded: depth, entries, string and key lengths (LIMITS, decision 0006). */
  details: freeFormObject().default({}),
});
export const callAction = z.union([appointmentScheduledAction, otherAction]);

export const callEndedData = z.object({
  call_id: id('call'),
  duration_seconds: z.number().int().min(0).max(7 * 24 * 3600),
  status: z.enum(CALL_STATUSES),
  transcript: z.string().max(200_000),
  summary: z.string().max(10_000),
  sentiment: z.enum(SENTIMENTS),
  actions: z.array(callAction).max(100),
});

export const appointmentCreatedData = z.object({
  appointment_id: id('appt'),
  call_id: id('call'),
  client_name: z.string().min(1).max(200),
  patient_name: z.string().min(1).max(200),
  date: isoDate,
  time: hhmm,
  type: snakeCase,
});

export const EVENT_TYPES = ['call.started', 'call.ended', 'appointment.created'] as const;
export type EventType = (typeof EVENT_TYPES)[number];
export const eventType = z.enum(EVENT_TYPES);

export const EVENT_DATA_SCHEMAS = {
  'call.started': callStartedData,
  'call.ended': callEndedData,
  'appointment.created': appointmentCreatedData,
} as const satisfies Record<EventType, z.ZodType>;

export const EVENT_DESCRIPTIONS: Record<EventType, string> = {
  'call.started': 'Triggered when a call begins.',
  'call.ended': 'Triggered when a call ends.',
  'appointment.created': 'Triggered when an appointment is scheduled.',
};

export type CallStartedData = z.infer<typeof callStartedData>;
export type CallEndedData = z.infer<typeof callEndedData>;
export type AppointmentCreatedData = z.infer<typeof appointmentCreatedData>;
export interface EventDataMap {
  'call.started': CallStartedData;
  'call.ended': CallEndedData;
  'appointment.created': AppointmentCreatedData;
}

/** The body of every webhook POST, exactly the page's shape: `{event, timestamp, data}`. */
export interface WebhookPayload<T extends EventType = EventType> {
  event: T;
  timestamp: string;
  data: EventDataMap[T];
}

export function webhookPayloadSchema<T extends EventType>(type: T) {
  return z.object({ event: z.literal(type), timestamp: isoTimestamp, data: EVENT_DATA_SCHEMAS[type] });
}

export function isEventType(value: unknown): value is EventType {
  return typeof value === 'string' && (EVENT_TYPES as readonly string[]).includes(value);
}

/**
 * Serialises a payload exactly as the public page prints it: key order `event`, `timestamp`, `data`,
 * two-space indentation (as Stripe does). These are the bytes that are signed and sent, so the seed's
 * samples arrive byte-for-byte as the page shows them.
 */
export function serializeWebhookPayload(payload: WebhookPayload): string {
  return JSON.stringify({ event: payload.event, timestamp: payload.timestamp, data: payload.data }, null, 2);
}

/**
 * The hard cap on a signed webhook body, checked on its bytes before anything is produced: null when
 * the body fits, else the reason (`webhook body is N bytes, more than the limit of M`).
 */
export function checkWebhookBodySize(body: string, limit: number = LIMITS.webhookBodyBytes): string | null {
  // UTF-8 needs at most 3 bytes per UTF-16 unit: skip the byte count when the body cannot be too large.
  if (body.length * 3 <= limit) return null;
  const bytes = Buffer.byteLength(body);
  return bytes > limit ? `webhook body is ${bytes} bytes, more than the limit of ${limit}` : null;
}

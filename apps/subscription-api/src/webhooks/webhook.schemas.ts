import { z } from 'zod';
import { CUSTOM_HEADER_LIMITS, customHeadersProblem, EVENT_TYPES, ORDERING_MODES, RATE_LIMIT_PER_SECOND_BOUNDS } from '@odis/contracts';
import { parseDuration } from '@odis/config';

const eventsField = z
  .array(z.enum(EVENT_TYPES, { message: `must be one of ${EVENT_TYPES.join(', ')}` }), { message: 'must be a list of event types' })
  .min(1, 'must list at least one event type')
  .max(EVENT_TYPES.length * 2, 'lists too many event types');
const urlField = z.string({ message: 'must be a URL string' }).min(1, 'must not be empty').max(2048, 'must be at most 2048 characters');
const secretField = z
  .string({ message: 'must be a string' })
  .min(16, 'must be at least 16 characters')
  .max(256, 'must be at most 256 characters')
  .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');
const descriptionField = z.string({ message: 'must be a string' }).max(500, 'must be at most 500 characters').nullable();
/** Most deliveries per second to the webhook (decision 0013): beyond it deliveries wait, never fail. */
const rateLimitField = z
  .number({ message: 'must be a whole number of deliveries per second' })
  .int('must be a whole number of deliveries per second')
  .min(RATE_LIMIT_PER_SECOND_BOUNDS.min, `must be at least ${RATE_LIMIT_PER_SECOND_BOUNDS.min}`)
  .max(RATE_LIMIT_PER_SECOND_BOUNDS.max, `must be at most ${RATE_LIMIT_PER_SECOND_BOUNDS.max}`)
  .meta({
    description: `Most deliveries per second to this webhook (${RATE_LIMIT_PER_SECOND_BOUNDS.min}-${RATE_LIMIT_PER_SECOND_BOUNDS.max}); deliveries beyond it wait (they neither fail nor count as attempts). PATCH null removes the limit.`,
    example: 20,
  });

/** Delivery order (decision 0017): `call` delivers one call_id's events in ingest order. */
const orderingField = z.enum(ORDERING_MODES, { message: 'must be "none" or "call"' }).meta({
  description:
    '"call": the events of one call_id (call.started, appointment.created, call.ended) arrive in the order they were ingested; a failing delivery holds back only the later events of the same call for this webhook, until it succeeds or is exhausted. "none" (default): no order.',
  example: 'call',
});

/**
 * The webhook's own request headers (decision 0013): at most 10, HTTP-token names, no reserved
 * name (X-ODIS-*, webhook-*, Content-Type, Host, hop-by-hop, …), printable ASCII values without
 * CR/LF/NUL. A problem is a 400 naming `headers.<Name>`.
 */
const headersField = z
  .record(z.string(), z.unknown(), { message: 'must be an object of header names to string values' })
  .superRefine((headers, ctx) => {
    const problem = customHeadersProblem(headers);
    if (problem) ctx.addIssue({ code: 'custom', message: problem.message, path: problem.name === null ? [] : [problem.name] });
  })
  .transform((headers) => headers as Record<string, string>)
  .meta({
    description: `Sent on every attempt. At most ${CUSTOM_HEADER_LIMITS.maxHeaders}; values at most ${CUSTOM_HEADER_LIMITS.maxValueLength} characters; reserved names (X-ODIS-*, webhook-*, Content-Type, Content-Length, Host, User-Agent, Connection, Transfer-Encoding, Upgrade, TE, Trailer, Keep-Alive, Expect, Proxy-*) are refused. PATCH replaces the whole set; {} removes all.`,
    example: { Authorization: 'Bearer your-receiver-token' },
  });

/** `POST /v1/webhooks`: the public page's body, plus an optional description. */
export const createWebhookBody = z.strictObject({
  url: urlField,
  events: eventsField,
  secret: secretField.optional(),
  description: descriptionField.optional(),
  headers: headersField.optional(),
  rate_limit_per_second: rateLimitField.optional(),
  ordering: orderingField.optional(),
});

/** `PATCH /v1/webhooks/{id}`. */
export const updateWebhookBody = z
  .strictObject({
    url: urlField.optional(),
    events: eventsField.optional(),
    secret: secretField.optional(),
    description: descriptionField.optional(),
    headers: headersField.optional(),
    rate_limit_per_second: rateLimitField.nullable().optional(),
    ordering: orderingField.optional(),
    status: z.enum(['active', 'disabled'], { message: 'must be "active" or "disabled"' }).optional(),
  })
  .refine((b) => Object.keys(b).length > 0, { message: 'must change at least one field' });

/** The longest overlap of a secret rotation: a replaced secret signs for at most a week. */
export const MAX_ROTATION_OVERLAP = '7d';
export const DEFAULT_ROTATION_OVERLAP = '24h';
const MAX_OVERLAP_MS = parseDuration(MAX_ROTATION_OVERLAP);

/** A rotation overlap (`0s`…`7d`: a whole number with s, m, h or d) → milliseconds. */
export const overlapField = z
  .string({ message: 'must be a duration string such as "24h"' })
  .regex(/^\d{1,7}[smhd]$/, 'must be a whole number with a unit s, m, h or d, e.g. "30m", "24h" or "7d"')
  .transform((text) => parseDuration(text))
  .refine((ms) => ms <= MAX_OVERLAP_MS, `must be at most ${MAX_ROTATION_OVERLAP}`);

/**
 * `POST /v1/webhooks/{id}/rotate-secret`: an optional new secret (same rules as at create; one is
 * generated when absent) and how long the replaced secret keeps signing beside it (default 24h).
 */
export const rotateSecretBody = z.strictObject({
  secret: secretField.optional(),
  overlap: overlapField.default(parseDuration(DEFAULT_ROTATION_OVERLAP)),
});

export const listWebhooksQuery = z.strictObject({
  limit: z.coerce.number({ message: 'must be a number' }).int('must be an integer').min(1, 'must be at least 1').max(100, 'must be at most 100').default(20),
  starting_after: z.string().max(64).optional(),
});

export type CreateWebhookBody = z.infer<typeof createWebhookBody>;
export type UpdateWebhookBody = z.infer<typeof updateWebhookBody>;
export type RotateSecretBody = z.infer<typeof rotateSecretBody>;

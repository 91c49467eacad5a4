import { z } from 'zod';
import { EVENT_TYPES } from '@odis/contracts';

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

/** `POST /v1/webhooks`: the public page's body, plus an optional description. */
export const createWebhookBody = z.strictObject({
  url: urlField,
  events: eventsField,
  secret: secretField.optional(),
  description: descriptionField.optional(),
});

/** `PATCH /v1/webhooks/{id}`. */
export const updateWebhookBody = z
  .strictObject({
    url: urlField.optional(),
    events: eventsField.optional(),
    secret: secretField.optional(),
    description: descriptionField.optional(),
    status: z.enum(['active', 'disabled'], { message: 'must be "active" or "disabled"' }).optional(),
  })
  .refine((b) => Object.keys(b).length > 0, { message: 'must change at least one field' });

export const listWebhooksQuery = z.strictObject({
  limit: z.coerce.number({ message: 'must be a number' }).int('must be an integer').min(1, 'must be at least 1').max(100, 'must be at most 100').default(20),
  starting_after: z.string().max(64).optional(),
});

export type CreateWebhookBody = z.infer<typeof createWebhookBody>;
export type UpdateWebhookBody = z.infer<typeof updateWebhookBody>;

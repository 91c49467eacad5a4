import { z } from 'zod';
import { EVENT_TYPES, firstAttemptJob, newId, SEED_EXAMPLES, serializeWebhookPayload, type DeliveryJob, type EventType } from '@odis/contracts';

/** `POST /v1/webhooks/{id}/test` body: `{"event"?: <type>}`, default `call.started`; no body means the default. */
export const testEventBody = z
  .object({
    event: z.enum(EVENT_TYPES, { message: `must be one of ${EVENT_TYPES.join(', ')}` }).default('call.started'),
  })
  .strict();
export type TestEventBody = z.infer<typeof testEventBody>;

/** What the test needs of the webhook. */
export interface TestTarget {
  id: string;
  accountId: string;
  url: string;
  secretEncrypted: string;
}

/**
 * The delivery job of a test event: the seed's sample payload of `eventType` (libs/contracts
 * SEED_EXAMPLES, its timestamp included), serialised exactly as the dispatcher's fan-out serialises
 * a live event; a fresh event id (`evt_test_…`) and delivery id; attempt 1 due now; `manual` (one
 * attempt: never retried, never counted towards disabling) and `test` (the dispatcher sends it even
 * while the webhook is disabled or not subscribed to the type).
 */
export function buildTestDelivery(
  webhook: TestTarget,
  eventType: EventType,
  nowMs: number,
  ids: { eventId: string; deliveryId: string } = { eventId: `evt_test_${newId('evt').slice(4)}`, deliveryId: newId('dlv') },
): DeliveryJob {
  return firstAttemptJob(
    {
      delivery_id: ids.deliveryId,
      event_id: ids.eventId,
      event_type: eventType,
      account_id: webhook.accountId,
      subscription_id: webhook.id,
      url: webhook.url,
      secret_encrypted: webhook.secretEncrypted,
      body: serializeWebhookPayload(SEED_EXAMPLES[eventType]),
    },
    nowMs,
    undefined,
    { manual: true, test: true },
  );
}

export interface WaitOptions {
  /** Give up after this long (ms). */
  timeoutMs: number;
  /** Pause between two looks (ms). */
  intervalMs: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Looks for a result (`find`) until it is there or `timeoutMs` has passed; undefined on timeout.
 * Looks once more at the deadline, so a result that lands during the last pause is not missed. A
 * failing look (e.g. Postgres away) propagates.
 */
export async function waitFor<T>(find: () => Promise<T | undefined>, options: WaitOptions): Promise<T | undefined> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? defaultSleep;
  const deadline = now() + options.timeoutMs;
  for (;;) {
    const found = await find();
    if (found !== undefined) return found;
    const left = deadline - now();
    if (left <= 0) return undefined;
    await sleep(Math.min(options.intervalMs, left));
  }
}

/** The logged outcome of the test attempt (a delivery_attempts row). */
export interface LoggedAttempt {
  deliveryId: string;
  eventId: string;
  outcome: string;
  statusCode: number | null;
  durationMs: number;
  responseExcerpt: string | null;
  errorClass: string | null;
  errorMessage: string | null;
}

/**
 * The 200 answer: the four fields (`succeeded`, `status_code`, `duration_ms`,
 * `response_excerpt`), plus the ids to find it in the delivery log and, when it failed without a
 * response (or was skipped), why.
 */
export function presentTestResult(a: LoggedAttempt) {
  return {
    object: 'webhook_test',
    succeeded: a.outcome === 'succeeded',
    status_code: a.statusCode,
    duration_ms: Math.round(a.durationMs),
    response_excerpt: a.responseExcerpt,
    outcome: a.outcome,
    error: a.outcome === 'succeeded' ? null : { class: a.errorClass, message: a.errorMessage },
    delivery_id: a.deliveryId,
    event_id: a.eventId,
  };
}

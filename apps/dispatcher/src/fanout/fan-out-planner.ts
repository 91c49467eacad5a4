import { deliveryIdFor, firstAttemptJob, webhookBodyOf, type DeliveryJob, type ValidatedEventMessage } from '@odis/contracts';
import type { Route } from '../routing/route.js';

export interface PlannedDelivery {
  job: DeliveryJob;
  route: Route;
}

/**
 * One validated event × its matching subscriptions → one delivery each, attempt 1, due now. The
 * body is serialised once per event (exactly the public page's `{event, timestamp, data}` bytes)
 * and shared by every delivery; the delivery id is stable (event id × subscription id), so a
 * re-fan-out after a crash repeats the same ids.
 */
export class FanOutPlanner {
  plan(event: ValidatedEventMessage, routes: readonly Route[], nowMs: number): PlannedDelivery[] {
    if (routes.length === 0) return [];
    const body = webhookBodyOf(event);
    const createdAt = new Date(nowMs).toISOString();
    // `ordering: "call"` (decision 0017): every event type of the contracts carries data.call_id.
    const callId = typeof event.data.call_id === 'string' ? event.data.call_id : undefined;
    const planned: PlannedDelivery[] = new Array(routes.length);
    for (let i = 0; i < routes.length; i++) {
      const route = routes[i];
      planned[i] = {
        route,
        job: firstAttemptJob(
          {
            delivery_id: deliveryIdFor(event.event_id, route.id),
            event_id: event.event_id,
            event_type: event.event,
            account_id: event.account_id,
            subscription_id: route.id,
            url: route.url,
            secret_encrypted: route.secretEncrypted,
            body,
            event_received_at: event.received_at,
            ...(route.orderByCall && callId !== undefined ? { order_key: callId, ingest_seq: event.ingest_seq ?? 0 } : {}),
          },
          nowMs,
          createdAt,
        ),
      };
    }
    return planned;
  }
}

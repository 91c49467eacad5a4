import type { StoredSubscriptionEvent, SubscriptionState } from '@odis/subscriptions';

/** The public representation of a webhook. Never includes the secret (only its last four characters). */
export function presentWebhook(s: SubscriptionState) {
  return {
    id: s.id,
    object: 'webhook' as const,
    url: s.url,
    events: s.events,
    description: s.description,
    /** The webhook's own request headers, sent on every attempt (decision 0013). */
    headers: s.headers ?? {},
    /** Most deliveries per second (decision 0013); null: no limit. */
    rate_limit_per_second: s.rateLimitPerSecond ?? null,
    /** Delivery order (decision 0017): `none` or `call`. */
    ordering: s.ordering ?? 'none',
    status: s.status,
    secret_hint: s.secretHint,
    /** While a rotation's replaced secret still signs beside the new one (decision 0010); else null. */
    previous_secret_expires_at: s.previousSecretExpiresAt && s.previousSecretExpiresAt.getTime() > Date.now() ? s.previousSecretExpiresAt.toISOString() : null,
    disabled_reason: s.disabledReason,
    disabled_at: s.disabledAt?.toISOString() ?? null,
    version: s.version,
    created_at: s.createdAt.toISOString(),
    updated_at: s.updatedAt.toISOString(),
  };
}

export function presentHistoryEvent(subscriptionId: string, e: StoredSubscriptionEvent) {
  return {
    object: 'webhook_event' as const,
    webhook_id: subscriptionId,
    version: e.version,
    type: e.type,
    data: e.data,
    actor: e.actor,
    occurred_at: e.occurredAt.toISOString(),
  };
}

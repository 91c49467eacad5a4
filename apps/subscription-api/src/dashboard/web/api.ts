import type { SettingsPatch } from './delivery-settings.js';

/**
 * The dashboard's client of the public API (README "API"): the same routes and shapes a customer's
 * code uses, with the API key from this tab's sessionStorage as the bearer token. The key never
 * goes into a URL.
 */
export interface Webhook {
  id: string;
  url: string;
  events: string[];
  description: string | null;
  /** The webhook's own request headers, sent on every attempt (decision 0013); {} when none. */
  headers: Record<string, string>;
  /** Most deliveries per second (decision 0013); null: no limit. */
  rate_limit_per_second: number | null;
  status: 'active' | 'disabled';
  secret_hint: string;
  previous_secret_expires_at: string | null;
  disabled_reason: string | null;
  disabled_at: string | null;
  version: number;
  created_at: string;
  updated_at: string;
  /** Only in the answer to a create without a secret, or to a rotation. */
  secret?: string;
}

export interface Attempt {
  id: string;
  delivery_id: string;
  event_id: string;
  event_type: string;
  url: string;
  attempt: number;
  outcome: 'succeeded' | 'failed' | 'skipped';
  status_code: number | null;
  error_class: string | null;
  error_message: string | null;
  duration_ms: number;
  response_excerpt: string | null;
  attempted_at: string;
  next_attempt_at: string | null;
  request_headers: Record<string, string> | null;
  manual: boolean;
}

export interface Delivery {
  id: string;
  webhook_id: string;
  event_id: string;
  event_type: string;
  url: string;
  body: string | null;
  attempts: Attempt[];
  status: 'succeeded' | 'failed' | 'pending' | 'skipped';
  next_attempt_at: string | null;
}

export interface Page<T> {
  data: T[];
  has_more: boolean;
  next_cursor: string | null;
}

export interface DeliveryFilters {
  outcome?: string;
  event_type?: string;
  event_id?: string;
  since?: string;
  until?: string;
  before?: string;
  limit?: number;
}

export interface HistoryEntry {
  version: number;
  type: string;
  data: unknown;
  actor: string;
  occurred_at: string;
}

export interface EventType {
  type: string;
  description: string;
}

export interface Stats {
  window: string;
  buckets: { hour: string; succeeded: number; failed: number; skipped: number }[];
  totals: { succeeded: number; failed: number; skipped: number };
}

export interface TestEventResult {
  succeeded: boolean;
  status_code: number | null;
  duration_ms: number;
  response_excerpt: string | null;
  outcome: string;
  error: string | null;
  delivery_id: string;
  event_id: string;
}

export interface Recovery {
  id: string;
  status: 'dry_run' | 'queued' | 'running' | 'done';
  events: number;
  since?: string;
  until?: string;
  delivered?: number;
  failed?: number;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: string | null,
    readonly field: string | null,
    /** The API's own message (e.g. `headers.X-ODIS-Foo: X-ODIS-Foo is reserved: …`), shown beside the field it names. */
    readonly detail: string = message,
  ) {
    super(message);
  }
}

const KEY_STORAGE = 'odisKey';

export class Api {
  /** The key pasted in this tab (sessionStorage: gone when the tab closes). */
  get key(): string {
    return sessionStorage.getItem(KEY_STORAGE) ?? '';
  }

  set key(value: string) {
    sessionStorage.setItem(KEY_STORAGE, value.trim());
  }

  async request<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    const res = await fetch(path, {
      method,
      headers: { Authorization: `Bearer ${this.key}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'omit',
      cache: 'no-store',
    });
    const text = res.status === 204 ? '' : await res.text();
    let data: unknown = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (!res.ok) {
      const error = (data as { error?: { message?: string; code?: string; field?: string | null } } | null)?.error;
      const field = error?.field ?? null;
      const detail = error?.message ?? res.statusText ?? 'request failed';
      throw new ApiError(res.status, `${detail}${field ? ` (${field})` : ''} [HTTP ${res.status}]`, error?.code ?? null, field, detail);
    }
    return data as T;
  }

  /** One page of webhooks (at most 100, the API's limit), after the webhook `startingAfter` (the previous page's `next_cursor`). */
  listWebhooks(startingAfter?: string | null): Promise<Page<Webhook>> {
    return this.request('GET', `/v1/webhooks?limit=100${startingAfter ? `&starting_after=${encodeURIComponent(startingAfter)}` : ''}`);
  }

  getWebhook(id: string): Promise<Webhook> {
    return this.request('GET', `/v1/webhooks/${encodeURIComponent(id)}`);
  }

  createWebhook(body: { url: string; events: string[]; secret?: string; description?: string; headers?: Record<string, string>; rate_limit_per_second?: number }): Promise<Webhook> {
    return this.request('POST', '/v1/webhooks', body);
  }

  /** `PATCH` with `If-Match`: only the given fields change (`headers` replaces the whole set; `null` removes a rate limit or description). */
  updateWebhook(webhook: Webhook, patch: SettingsPatch): Promise<Webhook> {
    return this.request('PATCH', `/v1/webhooks/${encodeURIComponent(webhook.id)}`, patch, ifMatch(webhook));
  }

  setStatus(webhook: Webhook, status: 'active' | 'disabled'): Promise<Webhook> {
    return this.request('PATCH', `/v1/webhooks/${encodeURIComponent(webhook.id)}`, { status }, ifMatch(webhook));
  }

  deleteWebhook(webhook: Webhook): Promise<null> {
    return this.request('DELETE', `/v1/webhooks/${encodeURIComponent(webhook.id)}`, undefined, ifMatch(webhook));
  }

  rotateSecret(webhook: Webhook): Promise<Webhook> {
    return this.request('POST', `/v1/webhooks/${encodeURIComponent(webhook.id)}/rotate-secret`, {}, ifMatch(webhook));
  }

  history(id: string): Promise<{ data: HistoryEntry[] }> {
    return this.request('GET', `/v1/webhooks/${encodeURIComponent(id)}/events`);
  }

  eventTypes(): Promise<{ data: EventType[] }> {
    return this.request('GET', '/v1/event-types');
  }

  ips(): Promise<{ data: string[] }> {
    return this.request('GET', '/v1/webhooks/ips');
  }

  deliveries(id: string, filters: DeliveryFilters): Promise<Page<Attempt>> {
    const query = new URLSearchParams();
    for (const [name, value] of Object.entries(filters)) if (value !== undefined && value !== '') query.set(name, String(value));
    return this.request('GET', `/v1/webhooks/${encodeURIComponent(id)}/deliveries?${query.toString()}`);
  }

  delivery(id: string, deliveryId: string): Promise<Delivery> {
    return this.request('GET', `/v1/webhooks/${encodeURIComponent(id)}/deliveries/${encodeURIComponent(deliveryId)}`);
  }

  redeliver(id: string, deliveryId: string): Promise<{ id: string; event_id: string; status: string }> {
    return this.request('POST', `/v1/webhooks/${encodeURIComponent(id)}/deliveries/${encodeURIComponent(deliveryId)}/redeliver`, {});
  }

  testEvent(id: string, event: string): Promise<TestEventResult> {
    return this.request('POST', `/v1/webhooks/${encodeURIComponent(id)}/test`, { event });
  }

  stats(id: string): Promise<Stats> {
    return this.request('GET', `/v1/webhooks/${encodeURIComponent(id)}/stats?window=24h`);
  }

  recover(id: string, body: { since: string; until?: string; dry_run?: boolean }): Promise<Recovery> {
    return this.request('POST', `/v1/webhooks/${encodeURIComponent(id)}/recover`, body);
  }

  recovery(id: string, recoveryId: string): Promise<Recovery> {
    return this.request('GET', `/v1/webhooks/${encodeURIComponent(id)}/recoveries/${encodeURIComponent(recoveryId)}`);
  }
}

function ifMatch(webhook: Webhook): Record<string, string> {
  return { 'If-Match': `"${webhook.version}"` };
}

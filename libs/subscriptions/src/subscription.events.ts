import type { EventType, OrderingMode, SubscriptionStatus } from '@odis/contracts';

/** The changes a webhook subscription goes through; its stream is append-only, one version per event. */
export type SubscriptionEvent =
  | { type: 'created'; data: { url: string; events: EventType[]; description: string | null; secret_encrypted: string; secret_hint: string; headers?: Record<string, string>; rate_limit_per_second?: number; ordering?: OrderingMode } }
  /** `headers` replaces the whole set (`{}`: none); `rate_limit_per_second` null removes the limit. */
  | { type: 'updated'; data: UpdatedEventData }
  /**
   * A new secret. With `previous_expires_at` (a rotation with overlap, decision 0010) the secret it
   * replaces keeps signing beside it until then; without it (PATCH secret, overlap 0) the replaced
   * secret stops at once. The replaced ciphertext is the state's, so the event does not repeat it.
   */
  | { type: 'secret_rotated'; data: { secret_encrypted: string; secret_hint: string; previous_expires_at?: string } }
  /**
   * The same secret sealed again with the current encryption key (operator command
   * `secrets reencrypt`). It supersedes every earlier ciphertext of the stream, so folding the
   * stream never needs a key older than the one of its last secret event.
   */
  | { type: 'secret_reencrypted'; data: { secret_encrypted: string; previous_secret_encrypted?: string } }
  | { type: 'disabled'; data: DisabledEventData }
  | { type: 'enabled'; data: Record<string, never> }
  | { type: 'deleted'; data: Record<string, never> };

export interface UpdatedEventData {
  url?: string;
  events?: EventType[];
  description?: string | null;
  headers?: Record<string, string>;
  rate_limit_per_second?: number | null;
  ordering?: OrderingMode;
}

export type SubscriptionEventType = SubscriptionEvent['type'];

/** Who disabled a webhook: its owner (API, dashboard) or the notifier after a delivery exhausted its attempts. */
export type DisableCause = 'owner' | 'exhausted';

/**
 * The data of a `disabled` event: the text shown to people (`reason`) and, as data, its cause and,
 * after an exhaustion, the attempt summary. Events written before `cause` existed have the text only:
 * read them with {@link disableCauseOf}.
 */
export interface DisabledEventData {
  reason: string;
  cause?: DisableCause;
  exhaustion?: {
    delivery_id: string;
    /** Failed attempts of the exhausted delivery (5 with the seed's schedule). */
    failed_attempts: number;
    /** `HTTP 500`, `timeout`, … */
    last_error: string;
  };
}

/** The owner's disable (PATCH status=disabled). */
export const OWNER_DISABLE: DisabledEventData = { reason: 'disabled by the account', cause: 'owner' };

/** The cause of a `disabled` event: its `cause`, or for an event older than that field, read from its text. */
export function disableCauseOf(data: DisabledEventData): DisableCause {
  if (data.cause) return data.cause;
  return isExhaustionReason(data.reason) ? 'exhausted' : 'owner';
}

/**
 * True for the text the notifier wrote before causes were data ("5 failed delivery attempts; last
 * error: …"). Only for reading old `disabled` events; new ones carry `cause`.
 */
export function isExhaustionReason(reason: string | null | undefined): boolean {
  return !!reason && /^\d+ failed delivery attempts\b/.test(reason);
}

export interface SubscriptionState {
  id: string;
  accountId: string;
  url: string;
  events: EventType[];
  description: string | null;
  /** The webhook's own request headers, sent on every attempt (decision 0013); absent on old states: none. */
  headers?: Record<string, string>;
  /** Most deliveries per second (decision 0013); null or absent: no limit. */
  rateLimitPerSecond?: number | null;
  /** Delivery order (decision 0017); absent on old states: `none`. */
  ordering?: OrderingMode;
  secretEncrypted: string;
  secretHint: string;
  /** The secret a rotation replaced, while it still signs (until `previousSecretExpiresAt`); else null. */
  previousSecretEncrypted?: string | null;
  previousSecretExpiresAt?: Date | null;
  status: SubscriptionStatus;
  disabledReason: string | null;
  disabledAt: Date | null;
  version: number;
  createdAt: Date;
  updatedAt: Date;
  deletedAt: Date | null;
}

/** Folds one event into the state (pure). */
export function applySubscriptionEvent(
  state: SubscriptionState | null,
  event: SubscriptionEvent,
  meta: { id: string; accountId: string; version: number; at: Date },
): SubscriptionState {
  if (event.type === 'created') {
    if (state) throw new Error(`subscription ${meta.id} already exists`);
    return {
      id: meta.id,
      accountId: meta.accountId,
      url: event.data.url,
      events: [...event.data.events],
      description: event.data.description,
      headers: { ...(event.data.headers ?? {}) },
      rateLimitPerSecond: event.data.rate_limit_per_second ?? null,
      ordering: event.data.ordering ?? 'none',
      secretEncrypted: event.data.secret_encrypted,
      secretHint: event.data.secret_hint,
      previousSecretEncrypted: null,
      previousSecretExpiresAt: null,
      status: 'active',
      disabledReason: null,
      disabledAt: null,
      version: meta.version,
      createdAt: meta.at,
      updatedAt: meta.at,
      deletedAt: null,
    };
  }
  if (!state) throw new Error(`subscription ${meta.id} has no created event`);
  if (state.deletedAt) throw new Error(`subscription ${meta.id} is deleted`);
  const next: SubscriptionState = { ...state, version: meta.version, updatedAt: meta.at };
  // A previous secret whose overlap has ended is dropped at the next change (it signs nothing more).
  if (next.previousSecretExpiresAt && next.previousSecretExpiresAt.getTime() <= meta.at.getTime()) {
    next.previousSecretEncrypted = null;
    next.previousSecretExpiresAt = null;
  }
  switch (event.type) {
    case 'updated':
      if (event.data.url !== undefined) next.url = event.data.url;
      if (event.data.events !== undefined) next.events = [...event.data.events];
      if (event.data.description !== undefined) next.description = event.data.description;
      if (event.data.headers !== undefined) next.headers = { ...event.data.headers };
      if (event.data.rate_limit_per_second !== undefined) next.rateLimitPerSecond = event.data.rate_limit_per_second;
      if (event.data.ordering !== undefined) next.ordering = event.data.ordering;
      return next;
    case 'secret_rotated': {
      const expiresAt = event.data.previous_expires_at ? new Date(event.data.previous_expires_at) : null;
      // Only one previous secret: a rotation during an overlap replaces the older previous one.
      const overlapping = expiresAt !== null && expiresAt.getTime() > meta.at.getTime();
      next.previousSecretEncrypted = overlapping ? state.secretEncrypted : null;
      next.previousSecretExpiresAt = overlapping ? expiresAt : null;
      next.secretEncrypted = event.data.secret_encrypted;
      next.secretHint = event.data.secret_hint;
      return next;
    }
    case 'secret_reencrypted':
      next.secretEncrypted = event.data.secret_encrypted;
      if (event.data.previous_secret_encrypted !== undefined && next.previousSecretEncrypted) {
        next.previousSecretEncrypted = event.data.previous_secret_encrypted;
      }
      return next;
    case 'disabled':
      next.status = 'disabled';
      next.disabledReason = event.data.reason;
      next.disabledAt = meta.at;
      return next;
    case 'enabled':
      next.status = 'active';
      next.disabledReason = null;
      next.disabledAt = null;
      return next;
    case 'deleted':
      next.deletedAt = meta.at;
      return next;
  }
}

export interface SubscriptionChanges {
  url?: string;
  events?: EventType[];
  description?: string | null;
  /** The whole new set of custom headers (`{}`: none). */
  headers?: Record<string, string>;
  /** The new rate limit (null: none). */
  rateLimitPerSecond?: number | null;
  /** The new delivery order (decision 0017). */
  ordering?: OrderingMode;
  /** New secret, plaintext already sealed by the caller. */
  secret?: { encrypted: string; hint: string };
  status?: SubscriptionStatus;
}

/**
 * Turns a PATCH into events: only what actually changes produces an event; a status change to
 * `disabled` by the customer carries the reason "disabled by the account".
 */
export function decideChanges(state: SubscriptionState, changes: SubscriptionChanges): SubscriptionEvent[] {
  const events: SubscriptionEvent[] = [];
  const updated: UpdatedEventData = {};
  if (changes.url !== undefined && changes.url !== state.url) updated.url = changes.url;
  if (changes.events !== undefined && !sameSet(changes.events, state.events)) updated.events = [...new Set(changes.events)];
  if (changes.description !== undefined && changes.description !== state.description) updated.description = changes.description;
  if (changes.headers !== undefined && !sameHeaders(changes.headers, state.headers ?? {})) updated.headers = { ...changes.headers };
  if (changes.rateLimitPerSecond !== undefined && changes.rateLimitPerSecond !== (state.rateLimitPerSecond ?? null)) updated.rate_limit_per_second = changes.rateLimitPerSecond;
  if (changes.ordering !== undefined && changes.ordering !== (state.ordering ?? 'none')) updated.ordering = changes.ordering;
  if (Object.keys(updated).length) events.push({ type: 'updated', data: updated });
  if (changes.secret) events.push({ type: 'secret_rotated', data: { secret_encrypted: changes.secret.encrypted, secret_hint: changes.secret.hint } });
  if (changes.status === 'disabled' && state.status !== 'disabled') events.push({ type: 'disabled', data: { ...OWNER_DISABLE } });
  if (changes.status === 'active' && state.status !== 'active') events.push({ type: 'enabled', data: {} });
  return events;
}

function sameHeaders(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && b[k] === a[k]);
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const sa = new Set(a);
  const sb = new Set(b);
  return sa.size === sb.size && [...sa].every((x) => sb.has(x));
}

/**
 * A rotation with overlap: the new secret (sealed by the caller) signs from now on; the current one
 * keeps signing beside it for `overlapMs` (0: it stops at once, like PATCH secret).
 */
export function decideRotation(secret: { encrypted: string; hint: string }, overlapMs: number, now: Date): SubscriptionEvent[] {
  const data: { secret_encrypted: string; secret_hint: string; previous_expires_at?: string } = { secret_encrypted: secret.encrypted, secret_hint: secret.hint };
  if (overlapMs > 0) data.previous_expires_at = new Date(now.getTime() + overlapMs).toISOString();
  return [{ type: 'secret_rotated', data }];
}

/** Last four characters of a secret, for display (`…cret`). */
export function secretHint(secret: string): string {
  return secret.slice(-4);
}

import { EVENT_TYPES, type EventType, type SubscriptionSnapshot } from '@odis/contracts';

/** Bit of an event type in {@link Route.eventMask}. */
export const EVENT_BIT: Record<EventType, number> = Object.fromEntries(EVENT_TYPES.map((t, i) => [t, 1 << i])) as Record<EventType, number>;
export const EVENT_INDEX: Record<EventType, number> = Object.fromEntries(EVENT_TYPES.map((t, i) => [t, i])) as Record<EventType, number>;

/**
 * What the dispatcher keeps of one subscription: a compact, immutable view of its latest snapshot
 * with the secret decrypted once (per subscription version), and its endpoint key (URL origin).
 */
export interface Route {
  readonly id: string;
  readonly accountId: string;
  readonly url: string;
  /** `scheme://host:port` of the URL: the unit of the per-endpoint concurrency limit. */
  readonly endpoint: string;
  readonly eventMask: number;
  readonly active: boolean;
  readonly version: number;
  /** The plaintext secret (HMAC key). */
  readonly secret: string;
  /** The SecretBox ciphertext as on the changelog: what a DeliveryJob carries. */
  readonly secretEncrypted: string;
  /**
   * During a secret rotation's overlap (decision 0010): the replaced secret (plaintext) and when it
   * stops signing (epoch ms). Absent outside an overlap.
   */
  readonly previousSecret?: string;
  readonly previousSecretExpiresAtMs?: number;
  /** The webhook's own request headers, sent on every attempt (decision 0013); absent: none. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Most deliveries per second (decision 0013); absent: no limit. Such a webhook is delivered from `webhooks.deliveries` only. */
  readonly rateLimitPerSecond?: number;
  /** `ordering: "call"` (decision 0017): one call's deliveries in ingest order, from `webhooks.deliveries` only. Absent: none. */
  readonly orderByCall?: true;
}

export type RouteDecode = { ok: true; route: Route } | { ok: false; reason: string; cause: 'url' | 'secret' };

/**
 * Interns strings that many routes share (endpoint origins, account ids), so 100,000 routes hold one
 * copy of each instead of one per snapshot. Bounded: past `limit` distinct values it stops adding.
 */
export class StringPool {
  private readonly pool = new Map<string, string>();
  constructor(private readonly limit = 200_000) {}
  intern(value: string): string {
    const existing = this.pool.get(value);
    if (existing !== undefined) return existing;
    if (this.pool.size < this.limit) this.pool.set(value, value);
    return value;
  }
}

/** Endpoint key of a URL, or null when the URL cannot be parsed. */
export function endpointOf(url: string): string | null {
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
}

/** Builds a route from a decoded snapshot; fails (never throws) when the URL or the secret is unusable. */
export function routeFromSnapshot(
  snapshot: SubscriptionSnapshot,
  decrypt: (sealed: string, context: string) => string,
  pool: StringPool = new StringPool(0),
  nowMs: number = Date.now(),
): RouteDecode {
  const origin = endpointOf(snapshot.url);
  const endpoint = origin === null ? null : pool.intern(origin);
  if (!endpoint || endpoint === 'null') return { ok: false, cause: 'url', reason: `subscription ${snapshot.id}: url is not an absolute URL` };
  let secret: string;
  try {
    secret = decrypt(snapshot.secret_encrypted, snapshot.id);
  } catch (err) {
    return { ok: false, cause: 'secret', reason: `subscription ${snapshot.id}: secret does not decrypt (${(err as Error).message})` };
  }
  // The previous secret of a rotation, only while its overlap lasts; one that does not decrypt fails
  // the route closed, like the current secret (`secrets reencrypt` seals both).
  let previous: { previousSecret: string; previousSecretExpiresAtMs: number } | null = null;
  const expiresAtMs = snapshot.previous_secret ? Date.parse(snapshot.previous_secret.expires_at) : NaN;
  if (snapshot.previous_secret && expiresAtMs > nowMs) {
    try {
      previous = { previousSecret: decrypt(snapshot.previous_secret.secret_encrypted, snapshot.id), previousSecretExpiresAtMs: expiresAtMs };
    } catch (err) {
      return { ok: false, cause: 'secret', reason: `subscription ${snapshot.id}: previous secret does not decrypt (${(err as Error).message})` };
    }
  }
  let mask = 0;
  for (const type of snapshot.events) mask |= EVENT_BIT[type];
  return {
    ok: true,
    route: {
      id: snapshot.id,
      accountId: pool.intern(snapshot.account_id),
      url: snapshot.url,
      endpoint,
      eventMask: mask,
      active: snapshot.status === 'active',
      version: snapshot.version,
      secret,
      secretEncrypted: snapshot.secret_encrypted,
      ...previous,
      ...(snapshot.headers && Object.keys(snapshot.headers).length > 0 ? { headers: Object.freeze({ ...snapshot.headers }) } : {}),
      ...(snapshot.rate_limit_per_second ? { rateLimitPerSecond: snapshot.rate_limit_per_second } : {}),
      ...(snapshot.ordering === 'call' ? { orderByCall: true as const } : {}),
    },
  };
}

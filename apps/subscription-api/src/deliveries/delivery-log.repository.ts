import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { LIMITS, storableText, type AttemptRecord } from '@odis/contracts';
import { DeliveryAttemptEntity } from '@odis/persistence';

/**
 * Position in the delivery log, newest first: the last row's exact `attempted_at` (microseconds, as
 * Postgres keeps it) and its attempt id, which breaks ties between rows of the same time.
 */
export interface DeliveryLogCursor {
  /** `attempted_at` as Postgres text in UTC with microseconds, e.g. `2026-01-02T03:04:05.123456Z`. */
  attemptedAt: string;
  attemptId: string;
}

const CURSOR_PREFIX = 'dc1_';
const CURSOR_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/;

/** The opaque `next_cursor` of the deliveries list. */
export function encodeCursor(cursor: DeliveryLogCursor): string {
  return CURSOR_PREFIX + Buffer.from(`${cursor.attemptedAt}|${cursor.attemptId}`, 'utf8').toString('base64url');
}

/** The cursor in `value`, or null when it is not one this API made. */
export function decodeCursor(value: string): DeliveryLogCursor | null {
  if (!value.startsWith(CURSOR_PREFIX) || value.length > 300) return null;
  const text = Buffer.from(value.slice(CURSOR_PREFIX.length), 'base64url').toString('utf8');
  const bar = text.indexOf('|');
  if (bar < 0) return null;
  const attemptedAt = text.slice(0, bar);
  const attemptId = text.slice(bar + 1);
  if (!CURSOR_TIME.test(attemptedAt) || !/^[A-Za-z0-9_-]{1,100}$/.test(attemptId)) return null;
  return { attemptedAt, attemptId };
}

export interface DeliveryLogQuery {
  accountId: string;
  subscriptionId: string;
  limit: number;
  /** Strictly after this position (newest first): no row is skipped or repeated. */
  after?: DeliveryLogCursor;
  /** Legacy filter: only attempts strictly older than this time. */
  olderThan?: string;
  outcome?: string;
  eventType?: string;
  eventId?: string;
  /** Attempts at or after this time (ISO-8601). */
  since?: string;
  /** Attempts strictly before this time (ISO-8601). */
  until?: string;
}

/** Most characters of a body kept in the log: the signed-body limit (a longer one is not kept). */
export const MAX_STORED_BODY_CHARS = LIMITS.webhookBodyBytes;
/** Most request headers, and characters per name or value, kept of one attempt (ours are about 12, each short). */
export const MAX_STORED_HEADERS = 32;
export const MAX_STORED_HEADER_CHARS = 1024;

/**
 * The body as the log keeps it, or null when it is not kept: absent, over the signed-body limit, or
 * text Postgres cannot hold byte for byte (NUL, lone surrogates; a redelivery must send the same bytes).
 */
export function storableBody(body: string | undefined): string | null {
  if (body === undefined || body.length > MAX_STORED_BODY_CHARS) return null;
  return storableText(body) === body ? body : null;
}

/** The request headers as the log keeps them (bounded in count and length, text made storable), or null. */
export function storableHeaders(headers: Record<string, string> | undefined): string | null {
  if (!headers) return null;
  const kept: Record<string, string> = {};
  let count = 0;
  for (const [name, value] of Object.entries(headers)) {
    if (count++ >= MAX_STORED_HEADERS) break;
    kept[storableText(name.slice(0, MAX_STORED_HEADER_CHARS))] = storableText(value.slice(0, MAX_STORED_HEADER_CHARS));
  }
  return JSON.stringify(kept);
}

/** Attempt counts of one hour of a stats window: `hour` is its index from the window's start. */
export interface HourCountsRow {
  hour: number;
  succeeded: number;
  failed: number;
  skipped: number;
}

/** The delivery log read model: written from `webhooks.attempts`, listed by the API. */
@Injectable()
export class DeliveryLogRepository {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Stores one attempt; idempotent per attempt id (a record repeated after a crash is a no-op). Text
   * we do not control (response excerpts, error messages, URLs, ids) goes through `storableText`:
   * NUL and invalid UTF-8 escaped, so no row fails its insert for its content (decision 0006).
   */
  async insert(a: AttemptRecord): Promise<void> {
    const text = (v: string | null) => (v === null ? null : storableText(v));
    const params: unknown[] = [
      text(a.attempt_id), text(a.delivery_id), text(a.event_id), a.event_type, a.account_id, text(a.subscription_id), text(a.url), a.attempt, a.outcome,
      a.status_code, a.error_class, text(a.error_message), a.duration_ms, text(a.response_excerpt), a.attempted_at,
      a.next_attempt_at === null ? null : new Date(a.next_attempt_at), storableHeaders(a.request_headers), a.manual === true,
    ];
    const attemptInsert = `INSERT INTO delivery_attempts (attempt_id, delivery_id, event_id, event_type, account_id, subscription_id, url, attempt, outcome,
         status_code, error_class, error_message, duration_ms, response_excerpt, attempted_at, next_attempt_at, request_headers, manual)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18)
       ON CONFLICT (attempt_id) DO NOTHING`;
    const body = storableBody(a.body);
    if (body === null) {
      await this.dataSource.query(attemptInsert, params);
      return;
    }
    // One statement, one round trip: the body once per delivery (first record wins), then the attempt.
    await this.dataSource.query(
      `WITH body AS (
         INSERT INTO delivery_bodies (delivery_id, account_id, subscription_id, event_id, event_type, body)
         VALUES ($2,$5,$6,$3,$4,$19) ON CONFLICT (delivery_id) DO NOTHING
       )
       ${attemptInsert}`,
      [...params, body],
    );
  }

  /**
   * The stored body of one delivery of this account's webhook: `absent` when the delivery has no
   * attempt in the log, `not_stored` when it has (logged before bodies were kept, or a body that
   * could not be kept byte for byte).
   */
  async deliveryBody(
    accountId: string,
    subscriptionId: string,
    deliveryId: string,
  ): Promise<{ kind: 'absent' } | { kind: 'not_stored' } | { kind: 'stored'; body: string; eventId: string; eventType: string }> {
    const rows: { body: string | null; event_id: string; event_type: string }[] = await this.dataSource.query(
      `SELECT b.body, a.event_id, a.event_type
         FROM delivery_attempts a
         LEFT JOIN delivery_bodies b ON b.delivery_id = a.delivery_id AND b.account_id = a.account_id AND b.subscription_id = a.subscription_id
        WHERE a.delivery_id = $1 AND a.account_id = $2 AND a.subscription_id = $3
        LIMIT 1`,
      [deliveryId, accountId, subscriptionId],
    );
    if (rows.length === 0) return { kind: 'absent' };
    const row = rows[0];
    return row.body === null ? { kind: 'not_stored' } : { kind: 'stored', body: row.body, eventId: row.event_id, eventType: row.event_type };
  }

  async list(q: DeliveryLogQuery): Promise<{ items: DeliveryAttemptEntity[]; hasMore: boolean; nextCursor: DeliveryLogCursor | null }> {
    const qb = this.dataSource
      .getRepository(DeliveryAttemptEntity)
      .createQueryBuilder('a')
      .addSelect(`to_char(a.attempted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`, 'cursor_time')
      .where('a.account_id = :accountId AND a.subscription_id = :id', { accountId: q.accountId, id: q.subscriptionId })
      .orderBy('a.attempted_at', 'DESC')
      .addOrderBy('a.attempt_id', 'DESC')
      .limit(q.limit + 1);
    if (q.after) {
      qb.andWhere('(a.attempted_at, a.attempt_id) < (CAST(:afterTime AS timestamptz), :afterId)', { afterTime: q.after.attemptedAt, afterId: q.after.attemptId });
    }
    if (q.olderThan) qb.andWhere('a.attempted_at < :olderThan', { olderThan: q.olderThan });
    if (q.outcome) qb.andWhere('a.outcome = :outcome', { outcome: q.outcome });
    if (q.eventType) qb.andWhere('a.event_type = :eventType', { eventType: q.eventType });
    if (q.eventId) qb.andWhere('a.event_id = :eventId', { eventId: q.eventId });
    if (q.since) qb.andWhere('a.attempted_at >= CAST(:since AS timestamptz)', { since: q.since });
    if (q.until) qb.andWhere('a.attempted_at < CAST(:until AS timestamptz)', { until: q.until });
    const { entities, raw } = await qb.getRawAndEntities<{ cursor_time: string }>();
    const hasMore = entities.length > q.limit;
    const items = entities.slice(0, q.limit);
    const last = items.length - 1;
    return {
      items,
      hasMore,
      nextCursor: hasMore ? { attemptedAt: raw[last].cursor_time, attemptId: items[last].attemptId } : null,
    };
  }

  /** Every attempt of one delivery of this account's webhook, oldest first; empty when there is none. */
  async delivery(accountId: string, subscriptionId: string, deliveryId: string): Promise<DeliveryAttemptEntity[]> {
    return this.dataSource
      .getRepository(DeliveryAttemptEntity)
      .createQueryBuilder('a')
      .where('a.delivery_id = :deliveryId AND a.account_id = :accountId AND a.subscription_id = :subscriptionId', { deliveryId, accountId, subscriptionId })
      .orderBy('a.attempt', 'ASC')
      .addOrderBy('a.attempted_at', 'ASC')
      .addOrderBy('a.attempt_id', 'ASC')
      .getMany();
  }

  /**
   * Attempt counts per hour of `[start, start + hours)`, one row per hour that has any (hour = its
   * index from `start`); the caller fills the empty hours. Hours are counted from `start` in
   * milliseconds, so the session time zone plays no part.
   */
  async hourlyCounts(accountId: string, subscriptionId: string, start: Date, hours: number): Promise<HourCountsRow[]> {
    const rows: { hour: number; succeeded: number; failed: number; skipped: number }[] = await this.dataSource.query(
      `SELECT floor(extract(epoch FROM a.attempted_at - $3::timestamptz) / 3600)::int AS hour,
              count(*) FILTER (WHERE a.outcome = 'succeeded')::int AS succeeded,
              count(*) FILTER (WHERE a.outcome = 'failed')::int AS failed,
              count(*) FILTER (WHERE a.outcome = 'skipped')::int AS skipped
         FROM delivery_attempts a
        WHERE a.account_id = $1 AND a.subscription_id = $2
          AND a.attempted_at >= $3::timestamptz AND a.attempted_at < $3::timestamptz + make_interval(hours => $4::int)
        GROUP BY 1
        ORDER BY 1`,
      [accountId, subscriptionId, start.toISOString(), hours],
    );
    return rows;
  }
}

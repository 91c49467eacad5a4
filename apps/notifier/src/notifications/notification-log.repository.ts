import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { ClaimedNotification, NewNotification, NotificationLogRepository } from './notification-log.js';

interface Row {
  id: string;
  dedupe_key: string;
  account_id: string;
  subscription_id: string | null;
  kind: string;
  attempts: number;
  to_address: string | null;
  subject: string | null;
  text_body: string | null;
  html_body: string | null;
}

const toClaimed = (r: Row): ClaimedNotification => ({
  id: String(r.id),
  dedupeKey: r.dedupe_key,
  accountId: r.account_id,
  subscriptionId: r.subscription_id,
  kind: r.kind,
  attempts: Number(r.attempts),
  toAddress: r.to_address,
  subject: r.subject,
  textBody: r.text_body,
  htmlBody: r.html_body,
});

/** NOTIFY channel of a new notification_log row (the senders LISTEN on it). */
export const NOTIFICATION_CHANNEL = 'odis_notifications';

/**
 * {@link NotificationLogRepository} on the `notification_log` table. Plain SQL: the claim is one
 * statement (UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING), times come from the
 * database clock. Updates are wrapped in a CTE so TypeORM hands back the rows for every statement.
 */
@Injectable()
export class SqlNotificationLogRepository implements NotificationLogRepository {
  constructor(private readonly dataSource: DataSource) {}

  async insert(row: NewNotification): Promise<boolean> {
    const rows: unknown[] = await this.dataSource.query(
      `WITH ins AS (
         INSERT INTO notification_log
           (dedupe_key, account_id, subscription_id, kind, status, to_address, subject, text_body, html_body, last_error)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (dedupe_key) DO NOTHING
         RETURNING id)
       SELECT id, pg_notify('${NOTIFICATION_CHANNEL}', '') FROM ins`,
      [row.dedupeKey, row.accountId, row.subscriptionId, row.kind, row.status, row.toAddress, row.subject, row.textBody, row.htmlBody, row.lastError ?? null],
    );
    return rows.length === 1;
  }

  async claimDue(limit: number, leaseMs: number): Promise<ClaimedNotification[]> {
    const rows: Row[] = await this.dataSource.query(
      `WITH claimed AS (
         UPDATE notification_log
            SET status = 'sending', attempts = attempts + 1, next_attempt_at = now() + make_interval(secs => $2::double precision / 1000)
          WHERE id IN (
                SELECT id FROM notification_log
                 WHERE status IN ('pending', 'sending') AND next_attempt_at <= now()
                 ORDER BY next_attempt_at, id
                 LIMIT $1
                 FOR UPDATE SKIP LOCKED)
          RETURNING id, dedupe_key, account_id, subscription_id, kind, attempts, to_address, subject, text_body, html_body)
       SELECT * FROM claimed ORDER BY id`,
      [limit, leaseMs],
    );
    return rows.map(toClaimed);
  }

  markSent(id: string, attempts: number): Promise<boolean> {
    return this.update(`status = 'sent', sent_at = now(), last_error = NULL`, id, attempts, []);
  }

  reschedule(id: string, attempts: number, error: string, delayMs: number): Promise<boolean> {
    return this.update(`status = 'pending', last_error = $3, next_attempt_at = now() + make_interval(secs => $4::double precision / 1000)`, id, attempts, [
      error.slice(0, 2000),
      delayMs,
    ]);
  }

  markFailed(id: string, attempts: number, error: string): Promise<boolean> {
    return this.update(`status = 'failed', last_error = $3`, id, attempts, [error.slice(0, 2000)]);
  }

  async msUntilNextDue(): Promise<number | null> {
    const rows: Array<{ ms: string | number | null }> = await this.dataSource.query(
      `SELECT EXTRACT(EPOCH FROM (min(next_attempt_at) - now())) * 1000 AS ms
         FROM notification_log WHERE status IN ('pending', 'sending')`,
    );
    // No row owes anything: null (sleep the safety-net poll). SQL's GREATEST ignores NULLs, so the
    // clamp to 0 is done here: GREATEST(0, NULL) is 0, which made an empty log spin every 20 ms.
    const ms = rows[0]?.ms;
    return ms === null || ms === undefined ? null : Math.max(0, Math.ceil(Number(ms)));
  }

  private async update(set: string, id: string, attempts: number, params: unknown[]): Promise<boolean> {
    const rows: Array<{ n: number }> = await this.dataSource.query(
      `WITH u AS (UPDATE notification_log SET ${set} WHERE id = $1 AND status = 'sending' AND attempts = $2 RETURNING id)
       SELECT count(*)::int AS n FROM u`,
      [id, attempts, ...params],
    );
    return Number(rows[0]?.n ?? 0) === 1;
  }
}

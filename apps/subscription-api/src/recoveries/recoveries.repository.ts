import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

export type StoredRecoveryStatus = 'dry_run' | 'queued' | 'running' | 'produced';

export interface RecoveryRow {
  id: string;
  accountId: string;
  subscriptionId: string;
  since: Date;
  until: Date;
  status: StoredRecoveryStatus;
  events: number;
  produced: number;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

export interface RecoveryProgress {
  delivered: number;
  failed: number;
}

interface RawRow {
  id: string;
  account_id: string;
  subscription_id: string;
  since: Date;
  until: Date;
  status: StoredRecoveryStatus;
  events: number;
  produced: number;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

const toRow = (r: RawRow): RecoveryRow => ({
  id: r.id,
  accountId: r.account_id,
  subscriptionId: r.subscription_id,
  since: r.since,
  until: r.until,
  status: r.status,
  events: Number(r.events),
  produced: Number(r.produced),
  createdAt: r.created_at,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
});

/** The `recoveries` and `recovery_deliveries` tables (decision 0011). */
@Injectable()
export class RecoveriesRepository {
  constructor(private readonly db: DataSource) {}

  /** Whether the database connection is up yet (the app connects it after bootstrap). */
  get connected(): boolean {
    return this.db.isInitialized;
  }

  async insert(row: { id: string; accountId: string; subscriptionId: string; since: Date; until: Date; status: 'dry_run' | 'queued'; events: number }): Promise<void> {
    await this.db.query('INSERT INTO recoveries (id, account_id, subscription_id, since, until, status, events) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
      row.id,
      row.accountId,
      row.subscriptionId,
      row.since,
      row.until,
      row.status,
      row.events,
    ]);
  }

  async get(accountId: string, subscriptionId: string, id: string): Promise<RecoveryRow | null> {
    const rows: RawRow[] = await this.db.query('SELECT * FROM recoveries WHERE id = $1 AND account_id = $2 AND subscription_id = $3', [id, accountId, subscriptionId]);
    return rows.length ? toRow(rows[0]) : null;
  }

  /**
   * Delivered: the recovery's deliveries whose last attempt succeeded. Failed: those whose last attempt
   * failed with no further attempt scheduled, or was skipped (webhook disabled or deleted meanwhile).
   */
  async progress(id: string): Promise<RecoveryProgress> {
    const rows: { delivered: string; failed: string }[] = await this.db.query(
      `SELECT count(*) FILTER (WHERE last.outcome = 'succeeded') AS delivered,
              count(*) FILTER (WHERE last.outcome = 'skipped' OR (last.outcome = 'failed' AND last.next_attempt_at IS NULL)) AS failed
         FROM recovery_deliveries rd
         JOIN LATERAL (SELECT a.outcome, a.next_attempt_at FROM delivery_attempts a
                        WHERE a.delivery_id = rd.delivery_id ORDER BY a.attempt DESC, a.attempted_at DESC LIMIT 1) last ON true
        WHERE rd.recovery_id = $1`,
      [id],
    );
    return { delivered: Number(rows[0]?.delivered ?? 0), failed: Number(rows[0]?.failed ?? 0) };
  }

  /**
   * Claims the oldest queued recovery, or a running one whose lease expired (its runner died), for
   * `owner` until now + `leaseMs`. SKIP LOCKED: replicas never claim the same row.
   */
  async claim(owner: string, leaseMs: number): Promise<RecoveryRow | null> {
    const rows: RawRow[] = await this.db.query(
      `UPDATE recoveries SET status = 'running', lease_owner = $1, lease_until = now() + ($2 * interval '1 millisecond'), started_at = coalesce(started_at, now())
        WHERE id = (SELECT id FROM recoveries
                     WHERE status = 'queued' OR (status = 'running' AND lease_until < now())
                     ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED)
        RETURNING *`,
      [owner, leaseMs],
    );
    const claimed = (Array.isArray(rows[0]) ? rows[0] : rows) as RawRow[];
    return claimed.length ? toRow(claimed[0]) : null;
  }

  /** Extends the lease; false when `owner` no longer holds it (another runner took over). */
  async renew(id: string, owner: string, leaseMs: number): Promise<boolean> {
    const result = await this.db.query(
      `UPDATE recoveries SET lease_until = now() + ($3 * interval '1 millisecond') WHERE id = $1 AND lease_owner = $2 AND status = 'running' RETURNING id`,
      [id, owner, leaseMs],
    );
    const rows = Array.isArray(result[0]) ? result[0] : result;
    return rows.length > 0;
  }

  /** Records the delivery ids a recovery is about to produce (idempotent: a re-run adds nothing twice). */
  async addDeliveries(id: string, deliveries: readonly { deliveryId: string; eventId: string }[]): Promise<void> {
    if (deliveries.length === 0) return;
    await this.db.query(
      `INSERT INTO recovery_deliveries (recovery_id, delivery_id, event_id)
       SELECT $1, d, e FROM unnest($2::text[], $3::text[]) AS t(d, e) ON CONFLICT DO NOTHING`,
      [id, deliveries.map((d) => d.deliveryId), deliveries.map((d) => d.eventId)],
    );
  }

  /** Whether a run of this recovery already recorded delivery ids (so this run takes it over). */
  async hasDeliveries(id: string): Promise<boolean> {
    const rows: unknown[] = await this.db.query('SELECT 1 FROM recovery_deliveries WHERE recovery_id = $1 LIMIT 1', [id]);
    return rows.length > 0;
  }

  /** Of these delivery ids, those the delivery log has an attempt of (the dispatcher had the job). */
  async attempted(deliveryIds: readonly string[]): Promise<Set<string>> {
    if (deliveryIds.length === 0) return new Set();
    const rows: { delivery_id: string }[] = await this.db.query('SELECT DISTINCT delivery_id FROM delivery_attempts WHERE delivery_id = ANY($1::text[])', [deliveryIds]);
    return new Set(rows.map((r) => r.delivery_id));
  }

  /** Every job is on Kafka: `events` becomes what was produced (retention may have dropped some since the count). */
  async finish(id: string, owner: string): Promise<boolean> {
    const result = await this.db.query(
      `UPDATE recoveries SET status = 'produced', lease_owner = NULL, lease_until = NULL, finished_at = now(),
              produced = (SELECT count(*) FROM recovery_deliveries WHERE recovery_id = $1),
              events = (SELECT count(*) FROM recovery_deliveries WHERE recovery_id = $1)
        WHERE id = $1 AND lease_owner = $2 RETURNING id`,
      [id, owner],
    );
    const rows = Array.isArray(result[0]) ? result[0] : result;
    return rows.length > 0;
  }
}

import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { attemptRecord, decodeMessage, type AttemptRecord } from '@odis/contracts';

export type ProjectionResult = { ok: true } | { ok: false; reason: string };

/** Projects `webhooks.attempts` into the delivery log table the API reads. Idempotent per attempt id. */
@Injectable()
export class AttemptLogProjector {
  constructor(private readonly dataSource: DataSource) {}

  async project(value: Buffer | null): Promise<ProjectionResult> {
    const decoded = decodeMessage(attemptRecord, value);
    if (!decoded.ok) return { ok: false, reason: `undecodable attempt record: ${decoded.reason}` };
    await this.insert(decoded.value);
    return { ok: true };
  }

  private async insert(a: AttemptRecord): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO delivery_attempts (attempt_id, delivery_id, event_id, event_type, account_id, subscription_id, url, attempt, outcome,
         status_code, error_class, error_message, duration_ms, response_excerpt, attempted_at, next_attempt_at)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16)
       ON CONFLICT (attempt_id) DO NOTHING`,
      [
        a.attempt_id, a.delivery_id, a.event_id, a.event_type, a.account_id, a.subscription_id, a.url, a.attempt, a.outcome,
        a.status_code, a.error_class, a.error_message, a.duration_ms, a.response_excerpt, a.attempted_at,
        a.next_attempt_at === null ? null : new Date(a.next_attempt_at),
      ],
    );
  }
}

import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { attemptRecord, decodeMessage, storableText, type AttemptRecord } from '@odis/contracts';
import { classifyFailure } from '@odis/messaging';

/**
 * What became of one attempt record: stored (or already stored), permanently unusable (dead-letter
 * it with the reason), or waiting for Postgres to come back (try the same record again later).
 */
export type ProjectionResult = { ok: true } | { ok: false; permanent: true; reason: string } | { ok: false; permanent: false; dependency: string; reason: string };

/**
 * Projects `webhooks.attempts` into the delivery log table the API reads. Idempotent per attempt id.
 * The delivery log loses nothing (decision 0006): while Postgres is away the record waits for it;
 * text we do not control (response excerpts, error messages, URLs) is stored with NUL bytes and
 * invalid UTF-8 escaped, so no record fails its insert for its content.
 */
@Injectable()
export class AttemptLogProjector {
  constructor(private readonly dataSource: DataSource) {}

  async project(value: Buffer | null): Promise<ProjectionResult> {
    const decoded = decodeMessage(attemptRecord, value);
    if (!decoded.ok) return { ok: false, permanent: true, reason: `undecodable attempt record: ${decoded.reason}` };
    try {
      await this.insert(decoded.value);
      return { ok: true };
    } catch (error) {
      const failure = classifyFailure(error, 'postgres');
      // Only a statement that can never succeed as written is permanent; anything else (the server
      // away, a timeout, an error we do not know) waits: a delivery-log row is never dropped.
      if (failure.kind === 'permanent') return { ok: false, permanent: true, reason: `delivery log insert failed: ${failure.reason}` };
      return { ok: false, permanent: false, dependency: failure.dependency ?? 'postgres', reason: failure.reason };
    }
  }

  private async insert(a: AttemptRecord): Promise<void> {
    const text = (v: string | null) => (v === null ? null : storableText(v));
    await this.dataSource.query(
      `INSERT INTO delivery_attempts (attempt_id, delivery_id, event_id, event_type, account_id, subscription_id, url, attempt, outcome,
         status_code, error_class, error_message, duration_ms, response_excerpt, attempted_at, next_attempt_at)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16)
       ON CONFLICT (attempt_id) DO NOTHING`,
      [
        text(a.attempt_id), text(a.delivery_id), text(a.event_id), a.event_type, a.account_id, text(a.subscription_id), text(a.url), a.attempt, a.outcome,
        a.status_code, a.error_class, text(a.error_message), a.duration_ms, text(a.response_excerpt), a.attempted_at,
        a.next_attempt_at === null ? null : new Date(a.next_attempt_at),
      ],
    );
  }
}

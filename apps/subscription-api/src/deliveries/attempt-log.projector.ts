import { Injectable } from '@nestjs/common';
import { attemptRecord, decodeMessage } from '@odis/contracts';
import { classifyFailure } from '@odis/platform';
import { DeliveryLogRepository } from './delivery-log.repository.js';

/**
 * What became of one attempt record: stored (or already stored), permanently unusable (dead-letter
 * it with the reason), or waiting for Postgres to come back (try the same record again later).
 */
export type ProjectionResult = { ok: true } | { ok: false; permanent: true; reason: string } | { ok: false; permanent: false; dependency: string; reason: string };

/**
 * Projects `webhooks.attempts` into the delivery log table the API reads. Idempotent per attempt id.
 * The delivery log loses nothing (decision 0006): while Postgres is away the record waits for it;
 * the repository stores text with NUL bytes and invalid UTF-8 escaped, so no record fails its
 * insert for its content.
 */
@Injectable()
export class AttemptLogProjector {
  constructor(private readonly log: DeliveryLogRepository) {}

  async project(value: Buffer | null): Promise<ProjectionResult> {
    const decoded = decodeMessage(attemptRecord, value);
    if (!decoded.ok) return { ok: false, permanent: true, reason: `undecodable attempt record: ${decoded.reason}` };
    try {
      await this.log.insert(decoded.value);
      return { ok: true };
    } catch (error) {
      const failure = classifyFailure(error, 'postgres');
      // Only a statement that can never succeed as written is permanent; anything else (the server
      // away, a timeout, an error we do not know) waits: a delivery-log row is never dropped.
      if (failure.kind === 'permanent') return { ok: false, permanent: true, reason: `delivery log insert failed: ${failure.reason}` };
      return { ok: false, permanent: false, dependency: failure.dependency ?? 'postgres', reason: failure.reason };
    }
  }
}

import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The delivery log searched by event id (`GET /v1/webhooks/{id}/deliveries?event_id=`): without
 * this index the filter walks every attempt of the webhook (`delivery_attempts_by_webhook`). Time
 * windows (`since`/`until`, stats) use `delivery_attempts_by_webhook`; one delivery uses
 * `delivery_attempts_by_delivery`; `event_type`/`outcome` are not selective enough for their own.
 * Built CONCURRENTLY (outside a transaction) so the projector's inserts are not blocked on a big table.
 */
export class DeliveryLogSearch1764400000005 implements MigrationInterface {
  name = 'DeliveryLogSearch1764400000005';
  transaction = false;

  async up(q: QueryRunner): Promise<void> {
    // A concurrent build that failed leaves an INVALID index behind: drop it so IF NOT EXISTS cannot keep it.
    await q.query(`
      DO $$ BEGIN
        IF EXISTS (SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                    WHERE c.relname = 'delivery_attempts_by_event' AND NOT i.indisvalid) THEN
          DROP INDEX delivery_attempts_by_event;
        END IF;
      END $$`);
    await q.query(`CREATE INDEX CONCURRENTLY IF NOT EXISTS delivery_attempts_by_event ON delivery_attempts (account_id, subscription_id, event_id, attempted_at DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX CONCURRENTLY IF EXISTS delivery_attempts_by_event');
  }
}

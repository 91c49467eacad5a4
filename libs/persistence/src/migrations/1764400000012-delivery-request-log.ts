import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The delivery log shows the request (issue 11 item 5) and a delivery can be sent again (item 3):
 * every attempt keeps the headers it sent (`request_headers`, null on older rows and on skips) and
 * whether it was a manual redelivery; the body, the same for every attempt of a delivery, is kept
 * once per delivery in `delivery_bodies` (written by the attempt-log projector, first record wins).
 * Both added columns are nullable or have a constant default, so no table rewrite.
 */
export class DeliveryRequestLog1764400000012 implements MigrationInterface {
  name = 'DeliveryRequestLog1764400000012';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      'ALTER TABLE delivery_attempts ADD COLUMN IF NOT EXISTS request_headers jsonb, ADD COLUMN IF NOT EXISTS manual boolean NOT NULL DEFAULT false',
    );
    await q.query(`
      CREATE TABLE IF NOT EXISTS delivery_bodies (
        delivery_id text PRIMARY KEY,
        account_id text NOT NULL,
        subscription_id text NOT NULL,
        event_id text NOT NULL,
        event_type text NOT NULL,
        body text NOT NULL,
        stored_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE IF EXISTS delivery_bodies');
    await q.query('ALTER TABLE delivery_attempts DROP COLUMN IF EXISTS request_headers, DROP COLUMN IF EXISTS manual');
  }
}

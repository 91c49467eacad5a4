import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A webhook's delivery controls (issue 12 items 4 and 5, decision 0013) in the read model: its own
 * request headers (a JSON object of at most 10 name/value pairs; `{}` for every existing webhook)
 * and its rate limit (deliveries per second; null: none).
 */
export class WebhookDeliveryControls1764600000040 implements MigrationInterface {
  name = 'WebhookDeliveryControls1764600000040';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE subscriptions ADD COLUMN IF NOT EXISTS headers jsonb NOT NULL DEFAULT '{}'::jsonb, ADD COLUMN IF NOT EXISTS rate_limit_per_second integer`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE subscriptions DROP COLUMN IF EXISTS headers, DROP COLUMN IF EXISTS rate_limit_per_second');
  }
}

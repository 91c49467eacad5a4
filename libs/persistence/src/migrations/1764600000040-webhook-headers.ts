import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A webhook's own request headers (issue 12 item 5, decision 0013): a JSON object of at most 10
 * name/value pairs in the read model; `{}` for every existing webhook.
 */
export class WebhookHeaders1764600000040 implements MigrationInterface {
  name = 'WebhookHeaders1764600000040';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE subscriptions ADD COLUMN IF NOT EXISTS headers jsonb NOT NULL DEFAULT '{}'::jsonb`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE subscriptions DROP COLUMN IF EXISTS headers');
  }
}

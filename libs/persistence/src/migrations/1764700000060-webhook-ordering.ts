import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A webhook's delivery order (issue 12 item 3, decision 0017) in the read model: `none` (every
 * existing webhook: today's behaviour) or `call` (the events of one call_id in ingest order).
 */
export class WebhookOrdering1764700000060 implements MigrationInterface {
  name = 'WebhookOrdering1764700000060';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE subscriptions ADD COLUMN IF NOT EXISTS ordering text NOT NULL DEFAULT 'none' CONSTRAINT subscriptions_ordering_check CHECK (ordering IN ('none', 'call'))`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE subscriptions DROP COLUMN IF EXISTS ordering');
  }
}

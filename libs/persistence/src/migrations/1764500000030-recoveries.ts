import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Recoveries (decision 0011): one row per `POST /v1/webhooks/{id}/recover`, claimed by a runner with a
 * lease; `recovery_deliveries` lists the delivery ids a recovery produced, so its progress is read
 * from the delivery log (`delivery_attempts`) without a contract change.
 */
export class Recoveries1764500000030 implements MigrationInterface {
  name = 'Recoveries1764500000030';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE IF NOT EXISTS recoveries (
      id text PRIMARY KEY,
      account_id text NOT NULL,
      subscription_id text NOT NULL,
      since timestamptz NOT NULL,
      until timestamptz NOT NULL,
      status text NOT NULL,
      events int NOT NULL,
      produced int NOT NULL DEFAULT 0,
      lease_owner text,
      lease_until timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      started_at timestamptz,
      finished_at timestamptz
    )`);
    await q.query('CREATE INDEX IF NOT EXISTS recoveries_pending ON recoveries (created_at) WHERE status IN (\'queued\', \'running\')');
    await q.query('CREATE INDEX IF NOT EXISTS recoveries_webhook ON recoveries (account_id, subscription_id, created_at)');
    await q.query(`CREATE TABLE IF NOT EXISTS recovery_deliveries (
      recovery_id text NOT NULL REFERENCES recoveries(id) ON DELETE CASCADE,
      delivery_id text NOT NULL,
      event_id text NOT NULL,
      PRIMARY KEY (recovery_id, delivery_id)
    )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE IF EXISTS recovery_deliveries');
    await q.query('DROP TABLE IF EXISTS recoveries');
  }
}

import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `npm run cli -- dlq replay` (docs/operations.md): one row per dead letter put back on its original
 * topic, so replaying again skips it (the replay is idempotent per dead-letter record).
 */
export class DlqReplays1764600000050 implements MigrationInterface {
  name = 'DlqReplays1764600000050';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE IF NOT EXISTS dlq_replays (
      dlq_topic text NOT NULL,
      dlq_partition integer NOT NULL,
      dlq_offset bigint NOT NULL,
      source_topic text NOT NULL,
      event_id text,
      replayed_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (dlq_topic, dlq_partition, dlq_offset)
    )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE IF EXISTS dlq_replays');
  }
}

import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The outbox relay's fencing record: one row per relay lock key. `epoch` grows by one at every
 * leadership take-over; the leader compares it (and that its advisory lock is still held by its own
 * session) in the statement that opens each publish, and sets `sending_until` (the end of that
 * publish's fencing window). A relay that takes over waits until the previous leader's
 * `sending_until` has passed before it publishes, so a stale send can never land after its records.
 */
export class OutboxRelayLease1764300000002 implements MigrationInterface {
  name = 'OutboxRelayLease1764300000002';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE outbox_relay_lease (
        lock_key bigint PRIMARY KEY,
        epoch bigint NOT NULL,
        holder text NOT NULL,
        acquired_at timestamptz NOT NULL,
        sending_until timestamptz
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE IF EXISTS outbox_relay_lease');
  }
}

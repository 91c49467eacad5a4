import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Secret rotation with overlap (decision 0010): the read model keeps the secret a rotation replaced
 * (SecretBox ciphertext, like `secret_encrypted`) and when it stops signing. Both null outside an overlap.
 */
export class PreviousSecret1764400000010 implements MigrationInterface {
  name = 'PreviousSecret1764400000010';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE subscriptions ADD COLUMN IF NOT EXISTS previous_secret_encrypted text, ADD COLUMN IF NOT EXISTS previous_secret_expires_at timestamptz');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE subscriptions DROP COLUMN IF EXISTS previous_secret_encrypted, DROP COLUMN IF EXISTS previous_secret_expires_at');
  }
}

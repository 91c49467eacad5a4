import type { MigrationInterface, QueryRunner } from 'typeorm';

export class InitialSchema1764200000000 implements MigrationInterface {
  name = 'InitialSchema1764200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE accounts (
        id text PRIMARY KEY,
        name text NOT NULL,
        notification_email text,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE api_keys (
        id text PRIMARY KEY,
        account_id text NOT NULL REFERENCES accounts(id),
        key_hash text NOT NULL UNIQUE,
        key_prefix text NOT NULL,
        label text,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_used_at timestamptz,
        revoked_at timestamptz
      )`);
    await q.query(`CREATE INDEX api_keys_account ON api_keys (account_id)`);
    await q.query(`
      CREATE TABLE subscriptions (
        id text PRIMARY KEY,
        account_id text NOT NULL REFERENCES accounts(id),
        url text NOT NULL,
        events text[] NOT NULL,
        description text,
        secret_encrypted text NOT NULL,
        secret_hint text NOT NULL,
        status text NOT NULL CHECK (status IN ('active', 'disabled')),
        disabled_reason text,
        disabled_at timestamptz,
        version int NOT NULL,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        deleted_at timestamptz
      )`);
    await q.query(`CREATE INDEX subscriptions_account_page ON subscriptions (account_id, created_at, id) WHERE deleted_at IS NULL`);
    await q.query(`
      CREATE TABLE subscription_events (
        id bigserial PRIMARY KEY,
        subscription_id text NOT NULL,
        account_id text NOT NULL,
        version int NOT NULL,
        type text NOT NULL,
        data jsonb NOT NULL,
        actor text NOT NULL,
        occurred_at timestamptz NOT NULL,
        UNIQUE (subscription_id, version)
      )`);
    await q.query(`
      CREATE TABLE outbox (
        id bigserial PRIMARY KEY,
        topic text NOT NULL,
        message_key text NOT NULL,
        payload text,
        created_at timestamptz NOT NULL DEFAULT now(),
        published_at timestamptz
      )`);
    await q.query(`CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL`);
    await q.query(`
      CREATE TABLE notification_log (
        id bigserial PRIMARY KEY,
        dedupe_key text NOT NULL UNIQUE,
        account_id text NOT NULL,
        subscription_id text,
        kind text NOT NULL,
        status text NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'skipped')),
        attempts int NOT NULL DEFAULT 0,
        last_error text,
        to_address text,
        subject text,
        text_body text,
        html_body text,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        created_at timestamptz NOT NULL DEFAULT now(),
        sent_at timestamptz
      )`);
    await q.query(`CREATE INDEX notification_log_due ON notification_log (status, next_attempt_at)`);
    await q.query(`
      CREATE TABLE delivery_attempts (
        attempt_id text PRIMARY KEY,
        delivery_id text NOT NULL,
        event_id text NOT NULL,
        event_type text NOT NULL,
        account_id text NOT NULL,
        subscription_id text NOT NULL,
        url text NOT NULL,
        attempt int NOT NULL,
        outcome text NOT NULL,
        status_code int,
        error_class text,
        error_message text,
        duration_ms double precision NOT NULL,
        response_excerpt text,
        attempted_at timestamptz NOT NULL,
        next_attempt_at timestamptz
      )`);
    await q.query(`CREATE INDEX delivery_attempts_by_webhook ON delivery_attempts (account_id, subscription_id, attempted_at DESC)`);
    await q.query(`CREATE INDEX delivery_attempts_by_delivery ON delivery_attempts (delivery_id, attempt)`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['delivery_attempts', 'notification_log', 'outbox', 'subscription_events', 'subscriptions', 'api_keys', 'accounts']) {
      await q.query(`DROP TABLE IF EXISTS ${table}`);
    }
  }
}

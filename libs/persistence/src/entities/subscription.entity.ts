import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** Read model of a webhook subscription: a projection of its event stream, written with each event. */
@Entity({ name: 'subscriptions' })
@Index(['accountId', 'createdAt', 'id'])
export class SubscriptionEntity {
  @PrimaryColumn({ type: 'text' })
  id: string;

  @Column({ name: 'account_id', type: 'text' })
  accountId: string;

  @Column({ type: 'text' })
  url: string;

  @Column({ type: 'text', array: true })
  events: string[];

  @Column({ type: 'text', nullable: true })
  description: string | null;

  /** The webhook's own request headers (decision 0013); `{}`: none. */
  @Column({ type: 'jsonb', default: () => "'{}'::jsonb" })
  headers: Record<string, string>;

  /** Most deliveries per second to this webhook (decision 0013); null: no limit. */
  @Column({ name: 'rate_limit_per_second', type: 'int', nullable: true })
  rateLimitPerSecond: number | null;

  /** Delivery order (decision 0017): `none` or `call`. */
  @Column({ type: 'text', default: 'none' })
  ordering: string;

  /** SecretBox ciphertext (AES-256-GCM); never the plaintext. */
  @Column({ name: 'secret_encrypted', type: 'text' })
  secretEncrypted: string;

  @Column({ name: 'secret_hint', type: 'text' })
  secretHint: string;

  /** During a rotation's overlap: the replaced secret (SecretBox ciphertext) and when it stops signing. */
  @Column({ name: 'previous_secret_encrypted', type: 'text', nullable: true })
  previousSecretEncrypted: string | null;

  @Column({ name: 'previous_secret_expires_at', type: 'timestamptz', nullable: true })
  previousSecretExpiresAt: Date | null;

  @Column({ type: 'text' })
  status: 'active' | 'disabled';

  @Column({ name: 'disabled_reason', type: 'text', nullable: true })
  disabledReason: string | null;

  @Column({ name: 'disabled_at', type: 'timestamptz', nullable: true })
  disabledAt: Date | null;

  @Column({ type: 'int' })
  version: number;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;

  @Column({ name: 'deleted_at', type: 'timestamptz', nullable: true })
  deletedAt: Date | null;
}

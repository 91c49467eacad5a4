import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** Every email the platform owes, keyed so a redelivered trigger is a no-op; sent by the notifier. */
@Entity({ name: 'notification_log' })
@Index(['status', 'nextAttemptAt'])
export class NotificationLogEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Index({ unique: true })
  @Column({ name: 'dedupe_key', type: 'text' })
  dedupeKey: string;

  @Column({ name: 'account_id', type: 'text' })
  accountId: string;

  @Column({ name: 'subscription_id', type: 'text', nullable: true })
  subscriptionId: string | null;

  @Column({ type: 'text' })
  kind: string;

  /** pending → sent; failed = given up (never automatically); skipped = nothing to send. */
  @Column({ type: 'text' })
  status: 'pending' | 'sending' | 'sent' | 'failed' | 'skipped';

  @Column({ type: 'int', default: 0 })
  attempts: number;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError: string | null;

  @Column({ name: 'to_address', type: 'text', nullable: true })
  toAddress: string | null;

  @Column({ type: 'text', nullable: true })
  subject: string | null;

  @Column({ name: 'text_body', type: 'text', nullable: true })
  textBody: string | null;

  @Column({ name: 'html_body', type: 'text', nullable: true })
  htmlBody: string | null;

  @Column({ name: 'next_attempt_at', type: 'timestamptz', default: () => 'now()' })
  nextAttemptAt: Date;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;

  @Column({ name: 'sent_at', type: 'timestamptz', nullable: true })
  sentAt: Date | null;
}

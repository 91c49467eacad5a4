import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** Delivery log read model: one row per attempt, projected from `webhooks.attempts`. */
@Entity({ name: 'delivery_attempts' })
@Index(['accountId', 'subscriptionId', 'attemptedAt'])
@Index(['deliveryId', 'attempt'])
export class DeliveryAttemptEntity {
  @PrimaryColumn({ name: 'attempt_id', type: 'text' })
  attemptId: string;

  @Column({ name: 'delivery_id', type: 'text' })
  deliveryId: string;

  @Column({ name: 'event_id', type: 'text' })
  eventId: string;

  @Column({ name: 'event_type', type: 'text' })
  eventType: string;

  @Column({ name: 'account_id', type: 'text' })
  accountId: string;

  @Column({ name: 'subscription_id', type: 'text' })
  subscriptionId: string;

  @Column({ type: 'text' })
  url: string;

  @Column({ type: 'int' })
  attempt: number;

  @Column({ type: 'text' })
  outcome: string;

  @Column({ name: 'status_code', type: 'int', nullable: true })
  statusCode: number | null;

  @Column({ name: 'error_class', type: 'text', nullable: true })
  errorClass: string | null;

  @Column({ name: 'error_message', type: 'text', nullable: true })
  errorMessage: string | null;

  @Column({ name: 'duration_ms', type: 'double precision' })
  durationMs: number;

  @Column({ name: 'response_excerpt', type: 'text', nullable: true })
  responseExcerpt: string | null;

  @Column({ name: 'attempted_at', type: 'timestamptz' })
  attemptedAt: Date;

  @Column({ name: 'next_attempt_at', type: 'timestamptz', nullable: true })
  nextAttemptAt: Date | null;

  /** The headers the attempt sent; null on skips and on attempts logged before they were recorded. */
  @Column({ name: 'request_headers', type: 'jsonb', nullable: true })
  requestHeaders: Record<string, string> | null;

  /** A manual redelivery (one attempt, no retries). */
  @Column({ type: 'boolean', default: false })
  manual: boolean;
}

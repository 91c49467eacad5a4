import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** One change of a subscription, append-only; (subscription_id, version) is unique: optimistic concurrency. */
@Entity({ name: 'subscription_events' })
@Index(['subscriptionId', 'version'], { unique: true })
export class SubscriptionEventEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ name: 'subscription_id', type: 'text' })
  subscriptionId: string;

  @Column({ name: 'account_id', type: 'text' })
  accountId: string;

  @Column({ type: 'int' })
  version: number;

  @Column({ type: 'text' })
  type: string;

  @Column({ type: 'jsonb' })
  data: Record<string, unknown>;

  @Column({ type: 'text' })
  actor: string;

  @Column({ name: 'occurred_at', type: 'timestamptz' })
  occurredAt: Date;
}

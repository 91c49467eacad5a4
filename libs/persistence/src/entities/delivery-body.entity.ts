import { Column, Entity, PrimaryColumn } from 'typeorm';

/** The exact body of one delivery (the same on every attempt), kept once per delivery for the log and redelivery. */
@Entity({ name: 'delivery_bodies' })
export class DeliveryBodyEntity {
  @PrimaryColumn({ name: 'delivery_id', type: 'text' })
  deliveryId: string;

  @Column({ name: 'account_id', type: 'text' })
  accountId: string;

  @Column({ name: 'subscription_id', type: 'text' })
  subscriptionId: string;

  @Column({ name: 'event_id', type: 'text' })
  eventId: string;

  @Column({ name: 'event_type', type: 'text' })
  eventType: string;

  @Column({ type: 'text' })
  body: string;

  @Column({ name: 'stored_at', type: 'timestamptz' })
  storedAt: Date;
}

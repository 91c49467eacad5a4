import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/** A clinic's ODIS account: owns webhooks and API keys; `notification_email` gets the "disabled" email. */
@Entity({ name: 'accounts' })
export class AccountEntity {
  @PrimaryColumn({ type: 'text' })
  id: string;

  @Column({ type: 'text' })
  name: string;

  @Column({ name: 'notification_email', type: 'text', nullable: true })
  notificationEmail: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}

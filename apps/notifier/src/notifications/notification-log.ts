/**
 * The notification log: one row per email the platform owes, keyed by a dedupe key so a redelivered
 * trigger inserts nothing. The Kafka offset of the trigger is committed only after the row is in;
 * the {@link NotificationSender} sends pending rows and marks them. Table `notification_log`
 * (libs/persistence migration).
 */
export type NotificationStatus = 'pending' | 'sending' | 'sent' | 'failed' | 'skipped';

export interface NewNotification {
  dedupeKey: string;
  accountId: string;
  subscriptionId: string | null;
  kind: string;
  /** `pending` = to be sent; `skipped` = recorded only (nothing to send). */
  status: 'pending' | 'skipped';
  toAddress: string | null;
  subject: string | null;
  textBody: string | null;
  htmlBody: string | null;
  lastError?: string | null;
}

/** A row claimed for sending. `attempts` already counts this attempt; it fences later updates. */
export interface ClaimedNotification {
  id: string;
  dedupeKey: string;
  accountId: string;
  subscriptionId: string | null;
  kind: string;
  attempts: number;
  toAddress: string | null;
  subject: string | null;
  textBody: string | null;
  htmlBody: string | null;
}

/** The notification log's storage; the Nest token of its provider (SQL in production). */
export abstract class NotificationLogRepository {
  /** INSERT … ON CONFLICT (dedupe_key) DO NOTHING: true when this call inserted the row. */
  abstract insert(row: NewNotification): Promise<boolean>;
  /**
   * Atomically claims up to `limit` due rows (pending, or `sending` whose lease ran out after a
   * crash): status → sending, attempts + 1, next_attempt_at → now + leaseMs. Concurrent senders
   * never get the same row (FOR UPDATE SKIP LOCKED).
   */
  abstract claimDue(limit: number, leaseMs: number): Promise<ClaimedNotification[]>;
  /** sending → sent, unless someone else re-claimed it meanwhile (attempts differs). */
  abstract markSent(id: string, attempts: number): Promise<boolean>;
  /** sending → pending again, due `delayMs` from now, with the error. */
  abstract reschedule(id: string, attempts: number, error: string, delayMs: number): Promise<boolean>;
  /** sending → failed (given up), with the error. */
  abstract markFailed(id: string, attempts: number, error: string): Promise<boolean>;
  /** Milliseconds until the next row falls due (0 when one is due now), null when nothing is pending. */
  abstract msUntilNextDue(): Promise<number | null>;
}

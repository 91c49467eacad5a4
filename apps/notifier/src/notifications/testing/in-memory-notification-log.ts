import type { ClaimedNotification, NewNotification, NotificationLogRepository, NotificationStatus } from '../notification-log.js';

export interface InMemoryRow extends ClaimedNotification {
  status: NotificationStatus;
  lastError: string | null;
  nextAttemptAt: number;
  sentAt: number | null;
}

/** The notification log's semantics in memory, for unit specs (clock injectable). */
export class InMemoryNotificationLog implements NotificationLogRepository {
  readonly rows: InMemoryRow[] = [];
  private seq = 0;
  /** Make the next N calls throw (database down). */
  failNext = 0;

  constructor(private readonly clock: () => number = Date.now) {}

  private check(): void {
    if (this.failNext > 0) {
      this.failNext--;
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    }
  }

  async insert(row: NewNotification): Promise<boolean> {
    this.check();
    if (this.rows.some((r) => r.dedupeKey === row.dedupeKey)) return false;
    this.rows.push({
      id: String(++this.seq),
      dedupeKey: row.dedupeKey,
      accountId: row.accountId,
      subscriptionId: row.subscriptionId,
      kind: row.kind,
      attempts: 0,
      toAddress: row.toAddress,
      subject: row.subject,
      textBody: row.textBody,
      htmlBody: row.htmlBody,
      status: row.status,
      lastError: row.lastError ?? null,
      nextAttemptAt: this.clock(),
      sentAt: null,
    });
    return true;
  }

  async claimDue(limit: number, leaseMs: number): Promise<ClaimedNotification[]> {
    this.check();
    const now = this.clock();
    const due = this.rows
      .filter((r) => (r.status === 'pending' || r.status === 'sending') && r.nextAttemptAt <= now)
      .sort((a, b) => a.nextAttemptAt - b.nextAttemptAt)
      .slice(0, limit);
    for (const r of due) {
      r.status = 'sending';
      r.attempts++;
      r.nextAttemptAt = now + leaseMs;
    }
    return due.map((r) => ({ ...r }));
  }

  private fenced(id: string, attempts: number): InMemoryRow | undefined {
    const r = this.rows.find((x) => x.id === id);
    return r && r.status === 'sending' && r.attempts === attempts ? r : undefined;
  }

  async markSent(id: string, attempts: number): Promise<boolean> {
    this.check();
    const r = this.fenced(id, attempts);
    if (!r) return false;
    r.status = 'sent';
    r.sentAt = this.clock();
    r.lastError = null;
    return true;
  }

  async reschedule(id: string, attempts: number, error: string, delayMs: number): Promise<boolean> {
    this.check();
    const r = this.fenced(id, attempts);
    if (!r) return false;
    r.status = 'pending';
    r.lastError = error;
    r.nextAttemptAt = this.clock() + delayMs;
    return true;
  }

  async markFailed(id: string, attempts: number, error: string): Promise<boolean> {
    this.check();
    const r = this.fenced(id, attempts);
    if (!r) return false;
    r.status = 'failed';
    r.lastError = error;
    return true;
  }

  async msUntilNextDue(): Promise<number | null> {
    this.check();
    const open = this.rows.filter((r) => r.status === 'pending' || r.status === 'sending');
    if (open.length === 0) return null;
    return Math.max(0, Math.min(...open.map((r) => r.nextAttemptAt)) - this.clock());
  }
}

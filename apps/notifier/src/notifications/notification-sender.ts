import { Logger, type LoggerService } from '@nestjs/common';
import { backoffDelay } from '@odis/config';
import { PollingLoop } from '@odis/platform';
import type { ClaimedNotification, NotificationLogRepository } from './notification-log.js';
import { odisMetrics } from '@odis/platform';

export interface OutgoingMail {
  from: string;
  to: string;
  subject: string;
  text: string;
  html: string;
  /** Deterministic per notification, so a duplicate after a crash is recognisable downstream. */
  messageId: string;
  headers: Record<string, string>;
}

/** Hands one mail to the SMTP server; resolves once the server accepted it. */
/** Sends one mail (SMTP in production); the Nest token of its provider. */
export abstract class MailTransport {
  abstract send(mail: OutgoingMail): Promise<void>;
  /** Closes connections (at shutdown). */
  abstract close(): void;
}

/** An error with an SMTP reply code ≥ 500 is a permanent rejection; anything else (no connection, 4xx, timeout) is transient. */
export function isPermanentMailError(err: unknown): boolean {
  const code = (err as { responseCode?: unknown })?.responseCode;
  if (typeof code === 'number' && code >= 500 && code < 600) return true;
  return (err as { code?: unknown })?.code === 'EENVELOPE' && typeof code !== 'number';
}

export interface NotificationSenderOptions {
  from: string;
  batchSize?: number;
  /** How long a claimed row stays ours; must exceed the SMTP timeouts. Default 120 s. */
  leaseMs?: number;
  /** Longest idle wait between looks at the log: a safety net, since a new row wakes the loop at once. Default 30 s. */
  pollMs?: number;
  /**
   * Wakes the loop when a row is inserted anywhere (LISTEN on the log's NOTIFY channel): connected at
   * the start of every pass (so a lost connection is re-made), closed at stop.
   */
  listener?: { connect(): Promise<unknown>; close(): Promise<void> };
  /** First retry delay after a failed send, doubled per attempt up to maxBackoffMs. Default 5 s. */
  initialBackoffMs?: number;
  /** Default 5 min. */
  maxBackoffMs?: number;
  /** Attempts after which a permanently rejected mail is given up (status failed). Default 10. Transient failures are retried forever. */
  maxPermanentAttempts?: number;
  logger?: LoggerService;
  random?: () => number;
}

export interface SendRound {
  sent: number;
  retried: number;
  failed: number;
}

/**
 * Sends what the notification log owes. Each round claims due rows atomically (so two notifier
 * replicas never send the same row), sends each with the transport and marks it `sent`; a failed
 * send puts the row back to `pending` with a later `next_attempt_at` (capped exponential backoff),
 * so an SMTP outage delays mail but never loses it. A crash between the SMTP server's acceptance and
 * the `sent` mark is the only way to a second copy (the lease expires and the row is sent again);
 * the deterministic Message-ID makes such a copy recognisable.
 */
export class NotificationSender {
  private readonly o: Required<Omit<NotificationSenderOptions, 'logger' | 'random' | 'listener'>>;
  private readonly logger: LoggerService;
  private readonly random: () => number;
  private readonly loop: PollingLoop;
  private readonly domain: string;
  private readonly listener: NotificationSenderOptions['listener'];

  constructor(
    private readonly repo: NotificationLogRepository,
    private readonly transport: MailTransport,
    options: NotificationSenderOptions,
  ) {
    this.o = {
      from: options.from,
      batchSize: options.batchSize ?? 20,
      leaseMs: options.leaseMs ?? 120_000,
      pollMs: options.pollMs ?? 30_000,
      initialBackoffMs: options.initialBackoffMs ?? 5_000,
      maxBackoffMs: options.maxBackoffMs ?? 300_000,
      maxPermanentAttempts: options.maxPermanentAttempts ?? 10,
    };
    this.logger = options.logger ?? new Logger('NotificationSender');
    this.random = options.random ?? Math.random;
    this.listener = options.listener;
    this.domain = /@([^>\s]+)>?\s*$/.exec(options.from)?.[1] ?? 'odis.ai';
    this.loop = new PollingLoop({
      pass: () => this.pass(),
      idleMs: this.o.pollMs,
      // The log unavailable: look again after 1 s, 2 s, 4 s … up to four idle waits (32 s at most).
      errorBackoff: { initial: 1_000, max: Math.min(this.o.pollMs * 4, 32_000) },
      onError: (err, _failures, wait) => this.logger.error(`notification log unavailable (${describe(err)}); next look in ${wait} ms`),
    });
  }

  /** Delay before the retry that follows failed attempt `attempts` (1-based), with ±20 % jitter. */
  backoffMs(attempts: number): number {
    return backoffDelay(attempts, { initial: this.o.initialBackoffMs, max: this.o.maxBackoffMs }, 0.2, this.random);
  }

  messageIdFor(dedupeKey: string): string {
    return `<${dedupeKey.replace(/[^A-Za-z0-9._-]/g, '.')}@${this.domain}>`;
  }

  /** One round: claim due rows and send them. Database errors propagate; mail errors are recorded per row. */
  async runOnce(): Promise<SendRound> {
    const round: SendRound = { sent: 0, retried: 0, failed: 0 };
    for (;;) {
      const rows = await this.repo.claimDue(this.o.batchSize, this.o.leaseMs);
      for (const row of rows) await this.sendOne(row, round);
      if (rows.length < this.o.batchSize) return round;
    }
  }

  private async sendOne(row: ClaimedNotification, round: SendRound): Promise<void> {
    if (!row.toAddress || !row.subject || row.textBody === null || row.htmlBody === null) {
      await this.repo.markFailed(row.id, row.attempts, 'incomplete notification (no recipient, subject or body)');
      round.failed++;
      return;
    }
    try {
      await this.transport.send({
        from: this.o.from,
        to: row.toAddress,
        subject: row.subject,
        text: row.textBody,
        html: row.htmlBody,
        messageId: this.messageIdFor(row.dedupeKey),
        headers: { 'X-ODIS-Notification-Key': row.dedupeKey, 'X-ODIS-Notification-Kind': row.kind },
      });
    } catch (err) {
      const message = describe(err);
      if (isPermanentMailError(err) && row.attempts >= this.o.maxPermanentAttempts) {
        this.logger.error(`notification ${row.dedupeKey} to ${row.toAddress} given up after ${row.attempts} attempts: ${message}`);
        await this.repo.markFailed(row.id, row.attempts, message);
        round.failed++;
        odisMetrics.emails.inc({ outcome: 'failed' });
        return;
      }
      odisMetrics.emails.inc({ outcome: 'retried' });
      const wait = this.backoffMs(row.attempts);
      this.logger.warn(`notification ${row.dedupeKey} to ${row.toAddress} not sent (attempt ${row.attempts}: ${message}); retry in ${wait} ms`);
      await this.repo.reschedule(row.id, row.attempts, message, wait);
      round.retried++;
      return;
    }
    const marked = await this.repo.markSent(row.id, row.attempts);
    if (!marked) this.logger.warn(`notification ${row.dedupeKey} was sent but its row had been re-claimed meanwhile`);
    this.logger.log(`sent notification ${row.dedupeKey} to ${row.toAddress}`);
    round.sent++;
    odisMetrics.emails.inc({ outcome: 'sent' });
  }

  /** Starts the background loop (idempotent). */
  start(): void {
    this.loop.start();
  }

  /** Makes the loop look at the log now (after a new row was inserted). */
  wake(): void {
    this.loop.wake();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
    await this.listener?.close();
  }

  /** One pass: send what is due, then wait until the next row falls due (at most `pollMs`). */
  private async pass(): Promise<number> {
    await this.listener?.connect();
    await this.runOnce();
    const next = await this.repo.msUntilNextDue();
    return next === null ? this.o.pollMs : Math.min(this.o.pollMs, Math.max(next, 20));
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown; responseCode?: unknown }).responseCode ?? (err as { code?: unknown }).code;
    return code !== undefined ? `${String(code)} ${err.message}` : err.message;
  }
  return String(err);
}

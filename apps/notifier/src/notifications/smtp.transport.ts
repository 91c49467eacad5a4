import nodemailer from 'nodemailer';
import { MailTransport, type OutgoingMail } from './notification-sender.js';

export interface SmtpTransportOptions {
  /** smtp://[user:pass@]host:port or smtps://… */
  url: string;
  /** Connection, greeting and socket timeouts, ms. Default 10 s. */
  timeoutMs?: number;
}

/**
 * {@link MailTransport} over SMTP with nodemailer. One connection per mail (no pool): mail is rare
 * here, and a fresh connection after an outage needs no stale-socket handling.
 */
export class SmtpMailTransport extends MailTransport {
  private readonly transporter: ReturnType<typeof nodemailer.createTransport>;

  constructor(options: SmtpTransportOptions) {
    super();
    const timeout = options.timeoutMs ?? 10_000;
    this.transporter = nodemailer.createTransport({
      url: options.url,
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: timeout,
    } as never);
  }

  async send(mail: OutgoingMail): Promise<void> {
    const info = await this.transporter.sendMail({
      from: mail.from,
      to: mail.to,
      subject: mail.subject,
      text: mail.text,
      html: mail.html,
      messageId: mail.messageId,
      headers: mail.headers,
    });
    const rejected = (info as { rejected?: unknown[] }).rejected ?? [];
    if (rejected.length > 0) {
      throw Object.assign(new Error(`recipient rejected: ${rejected.map(String).join(', ')}`), { responseCode: 550 });
    }
  }

  close(): void {
    this.transporter.close();
  }
}

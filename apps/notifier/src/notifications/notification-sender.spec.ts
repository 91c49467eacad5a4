import { describe, expect, it, beforeEach } from '@jest/globals';
import { NotificationSender, isPermanentMailError, type MailTransport, type OutgoingMail } from './notification-sender.js';
import { InMemoryNotificationLog } from './testing/in-memory-notification-log.js';

class FakeTransport implements MailTransport {
  close(): void {}
  sent: OutgoingMail[] = [];
  down = false;
  reject: { responseCode: number; message: string } | null = null;
  async send(mail: OutgoingMail): Promise<void> {
    if (this.down) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:2525'), { code: 'ESOCKET' });
    if (this.reject) throw Object.assign(new Error(this.reject.message), { responseCode: this.reject.responseCode });
    this.sent.push(mail);
  }
}

describe('NotificationSender', () => {
  let now: number;
  let log: InMemoryNotificationLog;
  let transport: FakeTransport;
  let sender: NotificationSender;

  const pending = (key: string, to: string | null = 'dev@clinic.example') =>
    log.insert({ dedupeKey: key, accountId: 'acct_1', subscriptionId: 'wh_1', kind: 'webhook_disabled', status: 'pending', toAddress: to, subject: `S ${key}`, textBody: 'text', htmlBody: '<p>html</p>' });

  beforeEach(() => {
    now = 1_000_000;
    log = new InMemoryNotificationLog(() => now);
    transport = new FakeTransport();
    sender = new NotificationSender(log, transport, {
      from: 'ODIS Webhooks <webhooks@odis.ai>',
      initialBackoffMs: 1_000,
      maxBackoffMs: 8_000,
      maxPermanentAttempts: 3,
      random: () => 0.5, // no jitter
    });
  });

  it('sends pending rows once and marks them sent', async () => {
    await pending('webhook-disabled:wh_1:2');
    await expect(sender.runOnce()).resolves.toEqual({ sent: 1, retried: 0, failed: 0 });
    await expect(sender.runOnce()).resolves.toEqual({ sent: 0, retried: 0, failed: 0 });
    expect(transport.sent).toHaveLength(1);
    expect(transport.sent[0]).toMatchObject({
      from: 'ODIS Webhooks <webhooks@odis.ai>',
      to: 'dev@clinic.example',
      subject: 'S webhook-disabled:wh_1:2',
      text: 'text',
      html: '<p>html</p>',
      messageId: '<webhook-disabled.wh_1.2@odis.ai>',
      headers: { 'X-ODIS-Notification-Key': 'webhook-disabled:wh_1:2', 'X-ODIS-Notification-Kind': 'webhook_disabled' },
    });
    expect(log.rows[0]).toMatchObject({ status: 'sent', attempts: 1, sentAt: now });
  });

  it('ignores skipped rows', async () => {
    await log.insert({ dedupeKey: 'k', accountId: 'a', subscriptionId: null, kind: 'webhook_disabled', status: 'skipped', toAddress: null, subject: null, textBody: null, htmlBody: null });
    await expect(sender.runOnce()).resolves.toEqual({ sent: 0, retried: 0, failed: 0 });
  });

  it('SMTP down: the row stays pending with exponential backoff, then goes out once SMTP is back', async () => {
    await pending('k1');
    transport.down = true;
    const waits: number[] = [];
    for (let i = 0; i < 5; i++) {
      await expect(sender.runOnce()).resolves.toEqual({ sent: 0, retried: 1, failed: 0 });
      expect(log.rows[0]).toMatchObject({ status: 'pending', lastError: expect.stringContaining('ECONNREFUSED') });
      waits.push(log.rows[0]!.nextAttemptAt - now);
      await expect(sender.runOnce()).resolves.toEqual({ sent: 0, retried: 0, failed: 0 }); // not due yet
      now = log.rows[0]!.nextAttemptAt;
    }
    expect(waits).toEqual([1_000, 2_000, 4_000, 8_000, 8_000]);
    transport.down = false;
    await expect(sender.runOnce()).resolves.toEqual({ sent: 1, retried: 0, failed: 0 });
    expect(transport.sent).toHaveLength(1);
    expect(log.rows[0]).toMatchObject({ status: 'sent', attempts: 6 });
  });

  it('retries a permanent rejection a few times, then gives up (failed)', async () => {
    await pending('k1');
    transport.reject = { responseCode: 550, message: '550 mailbox unavailable' };
    for (let i = 1; i <= 3; i++) {
      await sender.runOnce();
      now = log.rows[0]!.nextAttemptAt;
    }
    expect(log.rows[0]).toMatchObject({ status: 'failed', attempts: 3, lastError: expect.stringContaining('550') });
    await expect(sender.runOnce()).resolves.toEqual({ sent: 0, retried: 0, failed: 0 });
  });

  it('re-claims a row whose sender died mid-send once its lease ran out; the stale sender cannot mark it', async () => {
    await pending('k1');
    const [claimed] = await log.claimDue(10, 60_000); // a sender that then crashes
    await expect(sender.runOnce()).resolves.toEqual({ sent: 0, retried: 0, failed: 0 });
    now += 60_000;
    await expect(sender.runOnce()).resolves.toEqual({ sent: 1, retried: 0, failed: 0 });
    await expect(log.markSent(claimed!.id, claimed!.attempts)).resolves.toBe(false);
    expect(transport.sent).toHaveLength(1);
  });

  it('two senders never send the same row', async () => {
    for (let i = 0; i < 30; i++) await pending(`k${i}`);
    const other = new NotificationSender(log, transport, { from: 'x@odis.ai', batchSize: 7 });
    const [a, b] = await Promise.all([sender.runOnce(), other.runOnce()]);
    expect(a.sent + b.sent).toBe(30);
    expect(new Set(transport.sent.map((m) => m.headers['X-ODIS-Notification-Key'])).size).toBe(30);
  });

  it('marks a row without recipient failed', async () => {
    await pending('k1', null);
    await expect(sender.runOnce()).resolves.toEqual({ sent: 0, retried: 0, failed: 1 });
  });

  it('background loop: wake() sends a new row at once; stop() ends the loop', async () => {
    const realLog = new InMemoryNotificationLog();
    const loopSender = new NotificationSender(realLog, transport, { from: 'x@odis.ai', pollMs: 60_000 });
    loopSender.start();
    await new Promise((r) => setTimeout(r, 20));
    await realLog.insert({ dedupeKey: 'k', accountId: 'a', subscriptionId: null, kind: 'webhook_disabled', status: 'pending', toAddress: 'a@b.example', subject: 's', textBody: 't', htmlBody: 'h' });
    loopSender.wake();
    for (let i = 0; i < 50 && transport.sent.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(transport.sent).toHaveLength(1);
    await loopSender.stop();
  });

  it('background loop: the listener is connected before each look at the log (a lost one is re-made) and closed at stop', async () => {
    const calls: string[] = [];
    const listener = { connect: async () => void calls.push('connect'), close: async () => void calls.push('close') };
    const loopSender = new NotificationSender(new InMemoryNotificationLog(), transport, { from: 'x@odis.ai', pollMs: 60_000, listener });
    loopSender.start();
    for (let i = 0; i < 50 && calls.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    loopSender.wake();
    for (let i = 0; i < 50 && calls.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    await loopSender.stop();
    expect(calls).toEqual(['connect', 'connect', 'close']);
  });

  it('background loop survives a database outage', async () => {
    const realLog = new InMemoryNotificationLog();
    realLog.failNext = 1;
    await realLog.insert({ dedupeKey: 'k', accountId: 'a', subscriptionId: null, kind: 'webhook_disabled', status: 'pending', toAddress: 'a@b.example', subject: 's', textBody: 't', htmlBody: 'h' }).catch(() => undefined);
    await realLog.insert({ dedupeKey: 'k', accountId: 'a', subscriptionId: null, kind: 'webhook_disabled', status: 'pending', toAddress: 'a@b.example', subject: 's', textBody: 't', htmlBody: 'h' });
    realLog.failNext = 1;
    const loopSender = new NotificationSender(realLog, transport, { from: 'x@odis.ai', pollMs: 50 });
    loopSender.start();
    for (let i = 0; i < 200 && transport.sent.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    await loopSender.stop();
    expect(transport.sent).toHaveLength(1);
  });

  it('classifies SMTP errors', () => {
    expect(isPermanentMailError({ responseCode: 550 })).toBe(true);
    expect(isPermanentMailError({ responseCode: 451 })).toBe(false);
    expect(isPermanentMailError({ code: 'ECONNECTION' })).toBe(false);
    expect(isPermanentMailError({ code: 'EENVELOPE' })).toBe(true);
  });
});

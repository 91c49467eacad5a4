/**
 * The notification log on the real Postgres: the dedupe key makes a second insert a no-op, the
 * SKIP LOCKED claim never hands one row to two senders, updates are fenced by the attempt count,
 * and a failed send puts the row back with its backoff.
 *
 * The claims here take every due row, so they run on a private copy of the table (own schema,
 * via search_path): they must not steal the rows of the notifier tests sharing the database.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DataSource } from 'typeorm';
import { dataSourceOptions, runMigrations } from '@odis/persistence';
import { SqlNotificationLogRepository } from '../../apps/notifier/src/notifications/notification-log.repository.js';
import { NotificationSender, type MailTransport, type OutgoingMail } from '../../apps/notifier/src/notifications/notification-sender.js';
import { requireEnv } from '../support/infra.js';
import { unique } from '../retry/retry-test-kit.js';

let a: DataSource;
let b: DataSource;
const schema = unique('it_notification_log').replace(/-/g, '_');

beforeAll(async () => {
  const url = requireEnv('DATABASE_URL');
  for (let attempt = 1; ; attempt++) {
    try {
      await runMigrations(url);
      break;
    } catch (err) {
      if (attempt >= 5) throw err;
      await new Promise((r) => setTimeout(r, 500 * attempt));
    }
  }
  const admin = await new DataSource(dataSourceOptions(url, { extra: { max: 1 } })).initialize();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.query(`CREATE TABLE ${schema}.notification_log (LIKE public.notification_log INCLUDING ALL)`);
  await admin.destroy();
  const scoped = { extra: { max: 4, options: `-c search_path=${schema}` } };
  a = await new DataSource(dataSourceOptions(url, scoped)).initialize();
  b = await new DataSource(dataSourceOptions(url, scoped)).initialize();
}, 60_000);

afterAll(async () => {
  await a?.query(`DROP SCHEMA ${schema} CASCADE`).catch(() => undefined);
  await a?.destroy();
  await b?.destroy();
});

const row = (key: string) => ({
  dedupeKey: key,
  accountId: 'acct_it',
  subscriptionId: `wh_${key}`,
  kind: 'webhook_disabled',
  status: 'pending' as const,
  toAddress: 'dev@clinic.example',
  subject: `subject ${key}`,
  textBody: 'text',
  htmlBody: '<p>html</p>',
});

class SlowTransport implements MailTransport {
  close(): void {}
  sent: OutgoingMail[] = [];
  async send(mail: OutgoingMail): Promise<void> {
    await new Promise((r) => setTimeout(r, 2));
    this.sent.push(mail);
  }
}

describe('SqlNotificationLogRepository', () => {
  it('an empty log owes nothing: the sender sleeps its safety-net poll, it does not spin', async () => {
    await expect(new SqlNotificationLogRepository(a).msUntilNextDue()).resolves.toBeNull();
  });

  it('inserts a dedupe key once', async () => {
    const repo = new SqlNotificationLogRepository(a);
    const key = unique('once');
    await expect(repo.insert(row(key))).resolves.toBe(true);
    await expect(repo.insert(row(key))).resolves.toBe(false);
    await expect(new SqlNotificationLogRepository(b).insert(row(key))).resolves.toBe(false);
    const [{ n }] = await a.query(`SELECT count(*)::int AS n FROM notification_log WHERE dedupe_key = $1`, [key]);
    expect(n).toBe(1);
  });

  it('two senders on two connections pools send 60 rows, each exactly once', async () => {
    const prefix = unique('race');
    const repoA = new SqlNotificationLogRepository(a);
    for (let i = 0; i < 60; i++) await repoA.insert(row(`${prefix}-${i}`));
    const ta = new SlowTransport();
    const tb = new SlowTransport();
    const sa = new NotificationSender(repoA, ta, { from: 'ODIS Webhooks <webhooks@odis.ai>', batchSize: 5 });
    const sb = new NotificationSender(new SqlNotificationLogRepository(b), tb, { from: 'ODIS Webhooks <webhooks@odis.ai>', batchSize: 5 });
    await Promise.all([sa.runOnce(), sb.runOnce(), sa.runOnce(), sb.runOnce()]);
    const mine = [...ta.sent, ...tb.sent].filter((m) => m.headers['X-ODIS-Notification-Key']!.startsWith(prefix));
    expect(mine).toHaveLength(60);
    expect(new Set(mine.map((m) => m.headers['X-ODIS-Notification-Key'])).size).toBe(60);
    expect(ta.sent.length).toBeGreaterThan(0);
    expect(tb.sent.length).toBeGreaterThan(0);
    const rows: Array<{ status: string; attempts: number; sent_at: Date | null }> = await a.query(
      `SELECT status, attempts, sent_at FROM notification_log WHERE dedupe_key LIKE $1`,
      [`${prefix}-%`],
    );
    expect(rows.every((r) => r.status === 'sent' && r.attempts === 1 && r.sent_at !== null)).toBe(true);
  }, 30_000);

  it('fences updates by the attempt count and reschedules with the database clock', async () => {
    const key = unique('fence');
    const repo = new SqlNotificationLogRepository(a);
    await repo.insert(row(key));
    const claimed = (await repo.claimDue(1000, 50)).find((r) => r.dedupeKey === key)!;
    expect(claimed.attempts).toBe(1);
    await expect(repo.claimDue(1000, 50).then((rs) => rs.some((r) => r.dedupeKey === key))).resolves.toBe(false); // leased
    await new Promise((r) => setTimeout(r, 100)); // the lease ran out: a second sender re-claims it
    const again = (await repo.claimDue(1000, 60_000)).find((r) => r.dedupeKey === key)!;
    expect(again.attempts).toBe(2);
    await expect(repo.markSent(claimed.id, claimed.attempts)).resolves.toBe(false); // the stale sender
    await expect(repo.reschedule(again.id, again.attempts, 'ECONNREFUSED', 60_000)).resolves.toBe(true);
    const [r] = await a.query(`SELECT status, last_error, next_attempt_at > now() + interval '50 seconds' AS later FROM notification_log WHERE id = $1`, [again.id]);
    expect(r).toMatchObject({ status: 'pending', last_error: 'ECONNREFUSED', later: true });
    const wait = await repo.msUntilNextDue();
    expect(wait).not.toBeNull();
  });
});

/**
 * The notifier on the real stack: Kafka (webhooks.exhausted), Postgres (subscription store,
 * notification log) and a real SMTP server process writing .eml files. An exhausted delivery
 * disables the webhook and yields exactly one email; a redelivered message yields none; with SMTP
 * down the email is kept and arrives once SMTP is back; a missing webhook is recorded and skipped;
 * an account without notification email gets its webhook disabled all the same.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import type { Producer } from 'kafkajs';
import { simpleParser, type ParsedMail } from 'mailparser';
import { DataSource } from 'typeorm';
import { newId, SecretBox, TOPICS, type ExhaustedDelivery, type SubscriptionSnapshot } from '@odis/contracts';
import { readTopicToEnd, type KafkaConnection } from '@odis/messaging';
import { dataSourceOptions, runMigrations } from '@odis/persistence';
import { AccountDirectory, decideChanges, SubscriptionStore } from '@odis/subscriptions';
import { requireEnv, waitFor } from '../support/infra.js';
import { startSmtp, type SmtpHandle } from '../../scripts/local-stack/smtp.js';
import { startNotifier } from '../../apps/notifier/src/notifier.app.js';
import { loadNotifierConfig } from '../../apps/notifier/src/config/notifier.config.js';
import { NotifierService } from '../../apps/notifier/src/notifier.service.js';
import { brokers, connection, ensurePlatformTopics, rawProducer, seedGroupAtEnd, unique, withAdmin } from '../retry/retry-test-kit.js';

let conn: KafkaConnection;
let producer: Producer;
let ds: DataSource;
let smtp: SmtpHandle;
let app: INestApplication;
let groupId: string;
let store: SubscriptionStore;
let accounts: AccountDirectory;
const mailDir = mkdtempSync(join(tmpdir(), 'notifier-mail-'));

async function migrate(url: string): Promise<void> {
  // Other test files may migrate the same database at the same moment: retry a conflicting run.
  for (let attempt = 1; ; attempt++) {
    try {
      await runMigrations(url);
      return;
    } catch (err) {
      if (attempt >= 5) throw err;
      await new Promise((r) => setTimeout(r, 500 * attempt));
    }
  }
}

async function mails(): Promise<ParsedMail[]> {
  const files = readdirSync(mailDir).filter((f) => f.endsWith('.eml')).sort();
  return Promise.all(files.map((f) => simpleParser(readFileSync(join(mailDir, f)))));
}

async function mailsFor(webhookId: string): Promise<ParsedMail[]> {
  return (await mails()).filter((m) => (m.headers.get('x-odis-notification-key') as string | undefined)?.startsWith(`webhook-disabled:${webhookId}:`));
}

async function newWebhook(email: string | null = 'dev@happypaws.example'): Promise<{ accountId: string; webhookId: string; url: string }> {
  const { account } = await accounts.createAccount({ name: 'Happy <Paws> & Co', email });
  const url = `https://clinic.example.com/hooks/${unique('wh')}?a=1&b=<2>`;
  // A real ciphertext under the key every test file shares: a relay of another test file publishes
  // this webhook's snapshots, and a dispatcher reports a secret it cannot decrypt on /ready.
  const id = newId('wh');
  const secretEncrypted = SecretBox.fromBase64(Buffer.alloc(32, 11).toString('base64')).encrypt('notifier-test-secret', id);
  const state = await store.create(account.id, { id, url, events: ['call.ended'], description: null, secretEncrypted, secretHint: 'cret' }, 'test');
  return { accountId: account.id, webhookId: state.id, url };
}

function exhausted(accountId: string, webhookId: string, url: string, deliveryId = unique('dlv')): ExhaustedDelivery {
  const t0 = Date.now() - 10_000;
  return {
    v: 1,
    delivery_id: deliveryId,
    event_id: unique('evt'),
    event_type: 'call.ended',
    account_id: accountId,
    subscription_id: webhookId,
    url,
    attempts: [0, 1, 2, 3, 4].map((i) => ({
      attempt: i + 1,
      attempted_at: new Date(t0 + i * 1000).toISOString(),
      outcome: 'failed' as const,
      status_code: 500,
      error_class: 'http_status',
      error_message: null,
      duration_ms: 5,
    })),
    exhausted_at: new Date(t0 + 4000).toISOString(),
  };
}

async function publish(x: ExhaustedDelivery): Promise<{ partition: number; offset: string }> {
  const [meta] = await producer.send({ topic: TOPICS.exhausted, acks: -1, messages: [{ key: x.subscription_id, value: JSON.stringify(x) }] });
  return { partition: meta!.partition, offset: meta!.baseOffset! };
}

/** Resolves once the notifier's group committed past `offset` (the message was fully handled). */
async function handled(at: { partition: number; offset: string }): Promise<void> {
  await waitFor(
    () =>
      withAdmin(conn, async (admin) => {
        const [entry] = await admin.fetchOffsets({ groupId, topics: [TOPICS.exhausted] });
        const p = entry!.partitions.find((x) => x.partition === at.partition);
        return p !== undefined && BigInt(p.offset) > BigInt(at.offset);
      }),
    { timeoutMs: 30_000, intervalMs: 200, message: `offset ${at.offset} of partition ${at.partition} committed` },
  );
}

async function logRows(webhookId: string): Promise<Array<{ dedupe_key: string; kind: string; status: string; attempts: number; last_error: string | null }>> {
  return ds.query(`SELECT dedupe_key, kind, status, attempts, last_error FROM notification_log WHERE subscription_id = $1 ORDER BY id`, [webhookId]);
}

beforeAll(async () => {
  const dbUrl = requireEnv('DATABASE_URL');
  await migrate(dbUrl);
  ds = new DataSource(dataSourceOptions(dbUrl, { extra: { max: 3 } }));
  await ds.initialize();
  store = new SubscriptionStore(ds);
  accounts = new AccountDirectory(ds);
  conn = connection();
  await ensurePlatformTopics(conn);
  producer = await rawProducer(conn);
  smtp = await startSmtp({ mailDir, logFile: join(mailDir, '..', `${unique('smtp')}.log`) });
  groupId = unique('it-notifier');
  await seedGroupAtEnd(conn, groupId, [TOPICS.exhausted]);
  app = await startApp();
}, 120_000);

async function startApp(): Promise<INestApplication> {
  const dbUrl = requireEnv('DATABASE_URL');
  const started = await startNotifier(
    loadNotifierConfig({
      KAFKA_BROKERS: brokers().join(','),
      DATABASE_URL: dbUrl,
      SMTP_URL: smtp.url,
      NOTIFIER_GROUP: groupId,
      NOTIFIER_RETRY_INITIAL_MS: '300',
      NOTIFIER_RETRY_MAX_MS: '1000',
      NOTIFIER_POLL_MS: '500',
      SMTP_TIMEOUT_MS: '2000',
      PUBLIC_API_URL: 'https://api.odis.ai',
      PORT: '0',
      LOG_LEVEL: 'error',
    }),
  );
  const runner = started.get(NotifierService).runner;
  await waitFor(() => runner.assignedPartitions().length > 0, { timeoutMs: 60_000, message: 'notifier joined its group' });
  return started;
}

afterAll(async () => {
  await app?.close();
  await smtp?.stop();
  await producer?.disconnect();
  await ds?.destroy();
}, 60_000);

describe('notifier', () => {
  it('disables the webhook and sends exactly one email naming it; a redelivered message sends none', async () => {
    const { accountId, webhookId, url } = await newWebhook();
    const message = exhausted(accountId, webhookId, url);
    await publish(message);

    const [mail] = await waitFor(async () => {
      const found = await mailsFor(webhookId);
      return found.length ? found : null;
    }, { timeoutMs: 30_000, message: 'the disabled-webhook email' });
    const state = await store.get(accountId, webhookId);
    expect(state!.status).toBe('disabled');
    expect(state!.disabledReason).toBe('5 failed delivery attempts; last error: HTTP 500');

    expect(mail!.to).toMatchObject({ text: 'dev@happypaws.example' });
    expect(mail!.from!.value[0]).toMatchObject({ name: 'ODIS Webhooks', address: 'webhooks@odis.ai' });
    expect(mail!.subject).toBe(`Your ODIS webhook was disabled: ${url}`);
    for (const body of [mail!.text!, mail!.html as string]) {
      expect(body).toContain(webhookId);
      expect(body).toContain(`curl -X PATCH https://api.odis.ai/v1/webhooks/${webhookId}`);
      expect(body).toContain('Settings → Webhooks');
      for (const a of message.attempts) expect(body).toContain(a.attempted_at);
    }
    expect(mail!.text).toContain(url);
    expect(mail!.html as string).toContain(url.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;'));
    expect(mail!.html as string).toContain('Happy &lt;Paws&gt; &amp; Co');
    expect(mail!.messageId).toMatch(new RegExp(`^<webhook-disabled\\.${webhookId}\\.\\d+@odis\\.ai>$`));

    // The same message again (a redelivery), and another exhausted delivery of the same webhook.
    const again = await publish(message);
    await handled(again);
    const other = await publish(exhausted(accountId, webhookId, url));
    await handled(other);
    await new Promise((r) => setTimeout(r, 1_500)); // the sender's loop had its chance
    expect(await mailsFor(webhookId)).toHaveLength(1);
    const rows = await logRows(webhookId);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ kind: 'webhook_disabled', status: 'sent', attempts: 1 });
  }, 90_000);

  it('records the cause as data in the disabled event, and sends nothing for a webhook its owner disabled', async () => {
    const mine = await newWebhook();
    await publish(exhausted(mine.accountId, mine.webhookId, mine.url));
    await waitFor(async () => ((await mailsFor(mine.webhookId)).length ? true : null), { timeoutMs: 30_000, message: 'the disabled-webhook email' });
    const [event] = await ds.query(`SELECT data FROM subscription_events WHERE subscription_id = $1 AND type = 'disabled'`, [mine.webhookId]);
    expect(event.data).toMatchObject({ cause: 'exhausted', exhaustion: { failed_attempts: 5, last_error: 'HTTP 500' } });

    const owners = await newWebhook();
    await store.change(owners.accountId, owners.webhookId, (s) => decideChanges(s, { status: 'disabled' }), { actor: 'test' });
    await handled(await publish(exhausted(owners.accountId, owners.webhookId, owners.url)));
    await new Promise((r) => setTimeout(r, 1_000)); // the sender's loop had its chance
    expect(await mailsFor(owners.webhookId)).toHaveLength(0);
    expect(await logRows(owners.webhookId)).toHaveLength(0);
  }, 90_000);

  it('SMTP down when the webhook is disabled: the email waits, then arrives once after SMTP is back', async () => {
    const { accountId, webhookId, url } = await newWebhook();
    await smtp.stop();
    try {
      await handled(await publish(exhausted(accountId, webhookId, url)));
      expect((await store.get(accountId, webhookId))!.status).toBe('disabled');
      // The row is kept and retried with backoff while SMTP refuses connections.
      await waitFor(async () => {
        const [row] = await logRows(webhookId);
        return row && row.status === 'pending' && row.attempts >= 2 && row.last_error ? row : null;
      }, { timeoutMs: 30_000, message: 'row pending after failed sends' });
      expect(await mailsFor(webhookId)).toHaveLength(0);
    } finally {
      await smtp.restart();
    }
    await waitFor(async () => (await mailsFor(webhookId)).length === 1, { timeoutMs: 30_000, message: 'email after SMTP is back' });
    await new Promise((r) => setTimeout(r, 2_000));
    expect(await mailsFor(webhookId)).toHaveLength(1);
    const [row] = await logRows(webhookId);
    expect(row).toMatchObject({ status: 'sent', last_error: null });
    expect(row!.attempts).toBeGreaterThanOrEqual(3);
  }, 90_000);

  it('an email owed when the notifier stops is sent by the next notifier process, once', async () => {
    const { accountId, webhookId, url } = await newWebhook();
    await smtp.stop();
    try {
      await handled(await publish(exhausted(accountId, webhookId, url)));
      await waitFor(async () => ((await logRows(webhookId))[0]?.attempts ?? 0) >= 1, { timeoutMs: 20_000, message: 'a failed send' });
      await app.close();
    } finally {
      await smtp.restart();
    }
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await mailsFor(webhookId)).toHaveLength(0); // nobody is sending now
    app = await startApp();
    await waitFor(async () => (await mailsFor(webhookId)).length === 1, { timeoutMs: 30_000, message: 'email from the restarted notifier' });
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await mailsFor(webhookId)).toHaveLength(1);
    expect((await logRows(webhookId))[0]).toMatchObject({ status: 'sent' });
  }, 120_000);

  it('records and skips an exhausted delivery of a webhook that does not exist', async () => {
    const { accountId } = await newWebhook();
    const ghost = `wh_${unique('ghost')}`;
    await handled(await publish(exhausted(accountId, ghost, 'https://gone.example.com/')));
    const rows = await logRows(ghost);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ kind: 'skipped_missing_webhook', status: 'skipped' });
    expect(await mailsFor(ghost)).toHaveLength(0);
  }, 60_000);

  it('disables the webhook of an account without notification email all the same, and sends nothing', async () => {
    const { accountId, webhookId, url } = await newWebhook(null);
    await handled(await publish(exhausted(accountId, webhookId, url)));
    expect((await store.get(accountId, webhookId))!.status).toBe('disabled');
    const rows = await logRows(webhookId);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ kind: 'webhook_disabled', status: 'skipped', last_error: 'account has no notification email' });
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await mailsFor(webhookId)).toHaveLength(0);
  }, 60_000);

  it('relays the disabling to the changelog itself: dispatchers learn of it while subscription-api is down', async () => {
    // No subscription-api runs in this file: only the notifier's own outbox relay can publish the snapshot.
    const { accountId, webhookId, url } = await newWebhook();
    await publish(exhausted(accountId, webhookId, url));
    const snapshot = await waitFor(async () => {
      let last: SubscriptionSnapshot | null = null;
      const reader = await readTopicToEnd(conn, {
        topic: TOPICS.subscriptions,
        groupIdPrefix: 'it-notifier-changelog',
        onMessage: (m) => {
          if (m.key?.toString() === webhookId && m.value) last = JSON.parse(m.value.toString('utf8')) as SubscriptionSnapshot;
        },
      });
      await reader.stop();
      return (last as SubscriptionSnapshot | null)?.status === 'disabled' ? last : null;
    }, { timeoutMs: 30_000, message: 'the disabled snapshot on webhooks.subscriptions' });
    expect(snapshot).toMatchObject({ id: webhookId, account_id: accountId, status: 'disabled' });
  }, 60_000);

  it('answers /health and /ready with its checks', async () => {
    const server = app.getHttpServer();
    const { port } = server.address() as { port: number };
    const health = await fetch(`http://127.0.0.1:${port}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', service: 'notifier' });
    const ready = await fetch(`http://127.0.0.1:${port}/ready`);
    expect(ready.status).toBe(200);
    const body = (await ready.json()) as { checks: Record<string, { ok: boolean }> };
    expect(Object.keys(body.checks).sort()).toEqual(['exhausted-consumer', 'kafka-producer', 'outbox-relay', 'postgres']);
  });

  it('dead-letters an undecodable exhausted message and keeps consuming', async () => {
    const bad = await producer.send({ topic: TOPICS.exhausted, acks: -1, messages: [{ key: 'x', value: 'not json' }] });
    await handled({ partition: bad[0]!.partition, offset: bad[0]!.baseOffset! });
  }, 60_000);
});

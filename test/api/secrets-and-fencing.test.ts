/**
 * Keys and deletes, on the real Postgres + Kafka: `secrets reencrypt` after two key rotations (then
 * a reader holding only the new key decrypts every snapshot of these webhooks), and the outbox
 * relay's fencing (a relay that lost leadership mid-send cannot land a stale snapshot after the new
 * leader's tombstone).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { newId, SecretBox, TOPICS } from '@odis/contracts';
import { KafkaConnection, MessageProducer, readTopicToEnd, type InboundMessage, type TopicReader } from '@odis/messaging';
import { AccountDirectory, SubscriptionStore } from '@odis/subscriptions';
import { runCli } from '../../apps/subscription-api/src/cli/accounts.command.js';
import { OutboxRelay, type OutboxPublisher } from '@odis/subscriptions';
import { RoutingTable } from '../../apps/dispatcher/src/routing/routing-table.js';
import { SubscriptionChangelogApplier } from '../../apps/dispatcher/src/routing/subscription-changelog.applier.js';
import { waitFor } from '../support/infra.js';
import { requireEnv, TEST_ENCRYPTION_KEY, withDataSource } from './subscription-api.harness.js';

const K0 = randomBytes(32).toString('base64');
const K1 = randomBytes(32).toString('base64');
const K2 = TEST_ENCRYPTION_KEY; // the newest key: the one every other test file's dispatcher holds

let connection: KafkaConnection;
let producer: MessageProducer;
let reader: TopicReader;
const seen = new Map<string, InboundMessage[]>();
const relays: OutboxRelay[] = [];

beforeAll(async () => {
  Logger.overrideLogger(['error']); // the take-over and the lost session are expected here
  connection = new KafkaConnection({ clientId: 'secrets-fencing-test', brokers: requireEnv('KAFKA_BROKERS').split(','), logLevel: 'error' as never });
  producer = new MessageProducer(connection, { lingerMs: 1 });
  await producer.connect();
  reader = await readTopicToEnd(connection, {
    topic: TOPICS.subscriptions,
    follow: true,
    maxWaitTimeMs: 100,
    onMessage: (m) => {
      const key = m.key?.toString() ?? '';
      seen.set(key, [...(seen.get(key) ?? []), m]);
    },
  });
});

afterAll(async () => {
  await Promise.all(relays.map((r) => r.stop()));
  await reader?.stop();
  await producer?.disconnect();
});

function relay(options: { publisher?: OutboxPublisher; fencingWindowMs?: number; holder: string }): OutboxRelay {
  const r = new OutboxRelay(options.publisher ?? { send: (topic, messages) => producer.send(topic, messages) }, {
    databaseUrl: requireEnv('DATABASE_URL'),
    pollIntervalMs: 50,
    fencingWindowMs: options.fencingWindowMs ?? 60_000,
    holder: options.holder,
  });
  relays.push(r);
  return r;
}

/** Applies the records seen for `ids` to a fresh routing table, as a dispatcher holding only `box` would. */
function replay(ids: string[], box: SecretBox) {
  const table = new RoutingTable();
  const applier = new SubscriptionChangelogApplier(table, (s, c) => box.decrypt(s, c));
  for (const id of ids) for (const m of seen.get(id) ?? []) applier.apply(m);
  return { table, applier };
}

describe('secrets reencrypt', () => {
  it('after two rotations, re-seals every secret under the current key with new snapshots; a reader with only the new key then decrypts all of them; a second run changes nothing', async () => {
    const ids: string[] = [];
    const main = relay({ holder: 'reencrypt-test' });
    main.start();
    await withDataSource(async (ds) => {
      const { account } = await new AccountDirectory(ds).createAccount({ name: 'Rotation Clinic', email: null });
      const store = new SubscriptionStore(ds);
      // Sealed under K0 (two rotations ago), K1 (one rotation ago) and K2 (current).
      for (const key of [K0, K0, K1, K2]) {
        const id = newId('wh');
        ids.push(id);
        await store.create(account.id, { id, url: `http://127.0.0.1:9/${id}`, events: ['call.ended'], description: null, secretEncrypted: SecretBox.fromBase64(key).encrypt(`secret-of-${id}`, id), secretHint: 'x' }, 'test');
      }
    });
    await waitFor(() => ids.every((id) => seen.has(id)), { timeoutMs: 20_000, intervalMs: 50 });
    // The fault of the report: with only one previous key, the K0 webhooks are not routable.
    const before = replay(ids, SecretBox.fromBase64(K2, [K1]));
    expect(before.applier.stats.undecryptable).toBe(2);
    expect(before.table.size).toBe(2);

    const out: string[] = [];
    const err: string[] = [];
    const env = { DATABASE_URL: requireEnv('DATABASE_URL'), SECRET_ENCRYPTION_KEY: K2, SECRET_ENCRYPTION_KEY_PREVIOUS: `${K1},${K0}` };
    const code = await runCli(['secrets', 'reencrypt', '--batch-size', '7', '--json'], env, { out: (l) => out.push(l), err: (l) => err.push(l) });
    const result = JSON.parse(out[0]) as { reencrypted: number; already_current: number; failed: number; failures: { id: string }[] };
    // Other test files share this database with secrets under their own keys: count only ours as exact.
    expect(result.reencrypted).toBeGreaterThanOrEqual(3);
    expect(result.already_current).toBeGreaterThanOrEqual(1);
    expect(result.failures.map((f) => f.id).filter((id) => ids.includes(id))).toEqual([]);
    expect(code).toBe(result.failed === 0 ? 0 : 1);

    // The read model and the event store.
    const onlyNew = SecretBox.fromBase64(K2);
    const rows = await withDataSource((ds) => ds.query('SELECT id, secret_encrypted, version FROM subscriptions WHERE id = ANY($1) ORDER BY id', [ids]));
    for (const row of rows as { id: string; secret_encrypted: string; version: number }[]) {
      expect(onlyNew.decrypt(row.secret_encrypted, row.id)).toBe(`secret-of-${row.id}`);
      expect(row.version).toBe(row.id === ids[3] ? 1 : 2);
    }
    const events = await withDataSource((ds) => ds.query("SELECT subscription_id, actor FROM subscription_events WHERE subscription_id = ANY($1) AND type = 'secret_reencrypted'", [ids]));
    expect(events).toHaveLength(3);

    // The changelog: a dispatcher holding only the new key routes all four.
    await waitFor(() => ids.slice(0, 3).every((id) => (seen.get(id)?.length ?? 0) >= 2), { timeoutMs: 20_000, intervalMs: 50 });
    const after = replay(ids, onlyNew);
    expect(after.applier.stats.undecryptable).toBe(0);
    expect(ids.map((id) => after.table.get(id)?.secret)).toEqual(ids.map((id) => `secret-of-${id}`));

    // Idempotent: a second run re-encrypts none of ours.
    const again: string[] = [];
    await runCli(['secrets', 'reencrypt', '--json'], env, { out: (l) => again.push(l), err: () => undefined });
    const versions = await withDataSource((ds) => ds.query('SELECT version FROM subscriptions WHERE id = ANY($1) ORDER BY id', [ids]));
    expect((versions as { version: number }[]).map((v) => v.version)).toEqual((rows as { version: number }[]).map((r) => r.version));
    await main.stop();
  }, 60_000);
});

describe('outbox relay fencing', () => {
  it('a relay that lost leadership mid-send cannot land its stale snapshot after the new leader’s tombstone', async () => {
    const id = newId('wh');
    // A relay whose send to Kafka hangs until released (a GC pause, a slow broker…).
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let stuck = false;
    const old = relay({
      holder: 'old-leader',
      fencingWindowMs: 3_000,
      publisher: {
        send: async (topic, messages) => {
          if (messages.some((m) => m.key === id)) {
            stuck = true;
            await gate;
          }
          return producer.send(topic, messages);
        },
      },
    });
    old.start();
    await waitFor(() => old.health().detail?.startsWith('leader'), { timeoutMs: 10_000, intervalMs: 20 });

    // A snapshot enters the outbox; the old leader picks it up and hangs in the send.
    const snapshot = (version: number) => JSON.stringify({ v: 1, id, account_id: 'acct_fence', url: 'http://127.0.0.1:9/x', events: ['call.ended'], status: 'active', secret_encrypted: SecretBox.fromBase64(K2).encrypt('s', id), version, updated_at: new Date().toISOString() });
    await withDataSource((ds) => ds.query('INSERT INTO outbox (topic, message_key, payload) VALUES ($1, $2, $3)', [TOPICS.subscriptions, id, snapshot(1)]));
    await waitFor(() => stuck, { timeoutMs: 10_000, intervalMs: 20 });

    // It loses leadership (its session ends: the advisory lock is released), and the webhook is deleted.
    await withDataSource(async (ds) => {
      await ds.query("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND objid = 7031001 AND granted");
      await ds.query('INSERT INTO outbox (topic, message_key, payload) VALUES ($1, $2, NULL)', [TOPICS.subscriptions, id]);
    });

    // A new leader takes over: it must wait out the old leader's fencing window before publishing.
    const next = relay({ holder: 'new-leader', fencingWindowMs: 3_000 });
    next.start();
    await waitFor(() => next.health().detail?.startsWith('leader'), { timeoutMs: 10_000, intervalMs: 20 });
    expect(next.health().detail).toMatch(/waiting \d+ ms for the previous leader's fence/);
    await new Promise((r) => setTimeout(r, 300));
    expect(seen.get(id)).toBeUndefined();

    // The stale send lands now (after the take-over) …
    release();
    // … and the new leader's snapshot + tombstone land after it: the last record is the tombstone.
    const records = await waitFor(() => ((seen.get(id)?.length ?? 0) >= 3 ? seen.get(id) : undefined), { timeoutMs: 20_000, intervalMs: 25 });
    await new Promise((r) => setTimeout(r, 500));
    const all = seen.get(id)!;
    expect(records.length).toBeGreaterThanOrEqual(3);
    expect(all[all.length - 1].value).toBeNull();
    expect(all.filter((m) => m.value === null)).toHaveLength(1);
    const left = await withDataSource((ds) => ds.query('SELECT count(*)::int AS n FROM outbox WHERE message_key = $1', [id]));
    expect(left[0].n).toBe(0);
    // The old relay did not publish again, and is a standby now.
    await waitFor(() => old.health().detail === 'standby' || old.health().ok === false, { timeoutMs: 10_000, intervalMs: 50 });
    // A dispatcher reading the topic keeps the webhook deleted.
    const { table } = replay([id], SecretBox.fromBase64(K2));
    expect(table.isDeleted(id)).toBe(true);
    expect(table.get(id)).toBeUndefined();
  }, 60_000);
});

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { subscriptionSnapshot, TOPICS } from '@odis/contracts';
import { KafkaConnection, MessageProducer, readTopicToEnd, type InboundMessage, type TopicReader } from '@odis/messaging';
import { OutboxRelayService } from '@odis/subscriptions';
import { OutboxRelay } from '@odis/subscriptions';
import { waitFor } from '../support/infra.js';
import { createAccount, requireEnv, startSubscriptionApi, withDataSource } from './subscription-api.harness.js';

let app: INestApplication;
let account: { accountId: string; apiKey: string };
let connection: KafkaConnection;
let reader: TopicReader;
const seen = new Map<string, { value: string | null; at: number }[]>();


beforeAll(async () => {
  app = await startSubscriptionApi();
  account = await createAccount('Changelog Clinic');
  connection = new KafkaConnection({ clientId: 'changelog-test', brokers: requireEnv('KAFKA_BROKERS').split(',') });
  reader = await readTopicToEnd(connection, {
    topic: TOPICS.subscriptions,
    follow: true,
    maxWaitTimeMs: 100,
    onMessage: (m: InboundMessage) => {
      const key = m.key?.toString() ?? '';
      const list = seen.get(key) ?? [];
      list.push({ value: m.value?.toString() ?? null, at: Date.now() });
      seen.set(key, list);
    },
  });
});

afterAll(async () => {
  await reader?.stop();
  await app?.close();
});

const api = () => request(app.getHttpServer());
const auth = () => ({ Authorization: `Bearer ${account.apiKey}` });

describe('webhooks.subscriptions changelog', () => {
  it('carries create → update → disable → enable → delete as snapshots in order, then a tombstone', async () => {
    const created = await api().post('/v1/webhooks').set(auth()).send({ url: 'http://127.0.0.1:9/a', events: ['call.started'], secret: 'changelog-secret-0001' });
    const id = created.body.id as string;
    const t0 = Date.now();
    await api().patch(`/v1/webhooks/${id}`).set(auth()).send({ events: ['call.started', 'call.ended'] }).expect(200);
    await api().patch(`/v1/webhooks/${id}`).set(auth()).send({ status: 'disabled' }).expect(200);
    await api().patch(`/v1/webhooks/${id}`).set(auth()).send({ status: 'active' }).expect(200);
    await api().delete(`/v1/webhooks/${id}`).set(auth()).expect(204);

    const records = await waitFor(() => ((seen.get(id)?.length ?? 0) >= 5 ? seen.get(id) : undefined), { timeoutMs: 20_000, intervalMs: 25 });
    expect(records).toHaveLength(5);
    const snapshots = records.slice(0, 4).map((r) => subscriptionSnapshot.parse(JSON.parse(r.value!)));
    expect(snapshots.map((s) => [s.version, s.status, s.events])).toEqual([
      [1, 'active', ['call.started']],
      [2, 'active', ['call.started', 'call.ended']],
      [3, 'disabled', ['call.started', 'call.ended']],
      [4, 'active', ['call.started', 'call.ended']],
    ]);
    expect(snapshots[2].disabled_reason).toBe('disabled by the account');
    expect(snapshots.every((s) => s.account_id === account.accountId && s.secret_encrypted.startsWith('enc:v1:'))).toBe(true);
    expect(records.some((r) => r.value?.includes('changelog-secret-0001'))).toBe(false);
    expect(records[4].value).toBeNull();
    expect(records[4].at).toBeGreaterThanOrEqual(t0);
  });

  it('an event committed while the relay is down is published once a relay runs again', async () => {
    const service = app.get(OutboxRelayService);
    await service.relay.stop();

    const created = await api().post('/v1/webhooks').set(auth()).send({ url: 'http://127.0.0.1:9/b', events: ['call.ended'], secret: 'changelog-secret-0002' });
    expect(created.status).toBe(201);
    const id = created.body.id as string;

    // Committed in Postgres (event + outbox row) but not on Kafka.
    const pending = await withDataSource((ds) => ds.query('SELECT count(*)::int AS n FROM outbox WHERE message_key = $1 AND published_at IS NULL', [id]));
    expect(pending[0].n).toBe(1);
    await new Promise((r) => setTimeout(r, 1500));
    expect(seen.get(id)).toBeUndefined();

    // A new relay (as after a restart) publishes it.
    const producer = new MessageProducer(connection);
    await producer.connect();
    const restarted = new OutboxRelay({ send: (topic, messages) => producer.send(topic, messages) }, { databaseUrl: requireEnv('DATABASE_URL'), pollIntervalMs: 100 });
    restarted.start();
    try {
      const records = await waitFor(() => seen.get(id), { timeoutMs: 20_000, intervalMs: 25 });
      expect(records).toHaveLength(1);
      expect(subscriptionSnapshot.parse(JSON.parse(records[0].value!))).toMatchObject({ id, version: 1, status: 'active', events: ['call.ended'] });
      // Acknowledged rows leave the outbox.
      let left = 1;
      for (let i = 0; i < 100 && left > 0; i++) {
        left = (await withDataSource((ds) => ds.query('SELECT count(*)::int AS n FROM outbox WHERE message_key = $1', [id])))[0].n;
        if (left > 0) await new Promise((r) => setTimeout(r, 100));
      }
      expect(left).toBe(0);
    } finally {
      await restarted.stop();
      await producer.disconnect();
      service.relay.start();
    }
  });
});

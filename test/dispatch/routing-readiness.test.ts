/**
 * The dispatcher never drops a webhook silently: a snapshot whose secret no configured key decrypts
 * turns /ready red with the count (and the webhook is not routed), and a snapshot arriving after a
 * tombstone does not bring a deleted webhook back. Real Kafka, the real dispatcher app.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { SecretBox, TOPICS, type SubscriptionSnapshot } from '@odis/contracts';
import { loadDispatcherConfig } from '../../apps/dispatcher/src/config/dispatcher.config.js';
import { startDispatcher } from '../../apps/dispatcher/src/dispatcher.app.js';
import { waitFor } from '../support/infra.js';
import { appEnv, baseUrl, ensurePlatformTopics, getJson, suffix, TestKafka, waitReady, waitRouted } from './support.js';

const kafka = new TestKafka();
let app: INestApplication;
let url: string;
const ids: string[] = [];

type Ready = { status: string; checks: Record<string, { ok: boolean; detail?: string }> };

beforeAll(async () => {
  await ensurePlatformTopics();
  app = await startDispatcher(loadDispatcherConfig(appEnv(suffix(), { DISPATCH_CHANGELOG_MAX_LAG_MS: '5000' })));
  url = baseUrl(app);
  await waitReady(url);
}, 120_000);

afterAll(async () => {
  // Leave nothing undecryptable on the shared changelog for the other test files.
  await Promise.allSettled(ids.map((id) => kafka.deleteSubscription(id)));
  await app?.close();
  await kafka.close();
}, 60_000);

describe('dispatcher routing readiness', () => {
  it('an undecryptable secret turns /ready red with the count, until a readable snapshot replaces it', async () => {
    const id = `wh_lostkey_${suffix()}`;
    ids.push(id);
    const accountId = `acct_lostkey_${suffix()}`;
    await kafka.publishSubscription({ id, accountId, url: 'http://127.0.0.1:9/h', events: ['call.ended'], secret: 'first-secret-0001', version: 1 });
    await waitRouted(url, id, { version: 1 });
    const lost = SecretBox.fromBase64(Buffer.alloc(32, 99).toString('base64'));
    const bad: SubscriptionSnapshot = {
      v: 1, id, account_id: accountId, url: 'http://127.0.0.1:9/h', events: ['call.ended'], status: 'active',
      secret_encrypted: lost.encrypt('second-secret-0002', id), version: 2, updated_at: new Date().toISOString(),
    };
    await kafka.producer.sendOne(TOPICS.subscriptions, { key: id, value: JSON.stringify(bad) });
    const red = await waitFor(async () => {
      const res = await fetch(`${url}/ready`);
      return res.status !== 200 ? ((await res.json()) as Ready) : undefined;
    }, { timeoutMs: 20_000, intervalMs: 100 });
    expect(red.checks['undecryptable-secrets']).toMatchObject({ ok: false, detail: expect.stringMatching(new RegExp(`^1 webhooks \\(${id}\\)`)) });
    // Fail closed: not routed any more.
    await waitRouted(url, id, { gone: true });
    // Re-encrypted (a newer snapshot under a configured key): routed again, /ready green.
    await kafka.publishSubscription({ id, accountId, url: 'http://127.0.0.1:9/h', events: ['call.ended'], secret: 'second-secret-0002', version: 3 });
    await waitRouted(url, id, { version: 3 });
    await waitReady(url, 20_000);
  }, 60_000);

  it('a snapshot after the tombstone (any version) does not resurrect a deleted webhook', async () => {
    const id = `wh_deleted_${suffix()}`;
    ids.push(id);
    const accountId = `acct_deleted_${suffix()}`;
    await kafka.publishSubscription({ id, accountId, url: 'http://127.0.0.1:9/h', events: ['call.ended'], secret: 'deleted-secret-01', version: 2 });
    await waitRouted(url, id, { version: 2 });
    await kafka.deleteSubscription(id);
    await waitRouted(url, id, { gone: true });
    await kafka.publishSubscription({ id, accountId, url: 'http://127.0.0.1:9/h', events: ['call.ended'], secret: 'deleted-secret-01', version: 2 });
    await kafka.publishSubscription({ id, accountId, url: 'http://127.0.0.1:9/h', events: ['call.ended'], secret: 'deleted-secret-01', version: 9 });
    // A marker subscription published after them shows the dispatcher has read past them.
    const marker = `wh_marker_${suffix()}`;
    ids.push(marker);
    await kafka.publishSubscription({ id: marker, accountId, url: 'http://127.0.0.1:9/m', events: ['call.ended'], secret: 'marker-secret-001' });
    await waitRouted(url, marker);
    expect((await fetch(`${url}/routing/subscriptions/${id}`)).status).toBe(404);
    const stats = await getJson<{ routing: { stale: number } }>(`${url}/stats`);
    expect(stats.routing.stale).toBeGreaterThanOrEqual(2);
    const ready = await getJson<Ready>(`${url}/ready`);
    expect(ready.checks['changelog-follower']).toMatchObject({ ok: true });
  }, 60_000);
});

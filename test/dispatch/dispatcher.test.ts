/**
 * The dispatcher alone on the real broker: validated events are produced straight to their
 * `events.*` topic, the dispatcher runs in-process, receivers are local HTTP servers.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import {
  deliveryIdFor,
  EVENT_TOPICS,
  KAFKA_HEADERS,
  SEED_EXAMPLES,
  TOPICS,
  type AttemptRecord,
  type DeliveryJob,
  type EventType,
  type ExhaustedDelivery,
  type ValidatedEventMessage,
} from '@odis/contracts';
import { startTestReceiver, type ReceivedRequest, type TestReceiver, type TestReceiverOptions } from '@odis/receiver-kit';
import { loadDispatcherConfig } from '../../apps/dispatcher/src/config/dispatcher.config.js';
import { startDispatcher } from '../../apps/dispatcher/src/dispatcher.app.js';
import { waitFor } from '../support/infra.js';
import { appEnv, baseUrl, ensurePlatformTopics, getJson, suffix, TestKafka, waitReady, waitRouted, type TopicTap } from './support.js';

const PER_ENDPOINT = 4;
const TIMEOUT_MS = 8_000;

const distinctIds = (requests: ReceivedRequest[]) => new Set(requests.map((r) => String(r.headers['x-odis-delivery-id'])));

describe('dispatcher (real Kafka, local receivers)', () => {
  const kafka = new TestKafka();
  let app: INestApplication;
  let url: string;
  let attempts: TopicTap;
  let retries: TopicTap;
  let exhausted: TopicTap;
  const receivers: TestReceiver[] = [];
  const subscriptions: string[] = [];

  const receiver = async (options: TestReceiverOptions = {}) => {
    const r = await startTestReceiver(options);
    receivers.push(r);
    return r;
  };
  const subscribe = async (accountId: string, target: string, options: { events?: EventType[]; status?: 'active' | 'disabled'; version?: number; id?: string } = {}) => {
    const id = options.id ?? `wh_disp_${suffix()}`;
    if (!subscriptions.includes(id)) subscriptions.push(id);
    const version = options.version ?? 1;
    await kafka.publishSubscription({ id, accountId, url: target, events: options.events ?? ['call.started'], secret: `secret-${id}`, status: options.status, version });
    await waitRouted(url, id, { version, status: options.status ?? 'active' });
    return id;
  };
  const publishEvent = async (accountId: string, eventId: string, type: EventType = 'call.started') => {
    const event: ValidatedEventMessage = {
      v: 1,
      event_id: eventId,
      account_id: accountId,
      event: type,
      timestamp: SEED_EXAMPLES[type].timestamp,
      data: SEED_EXAMPLES[type].data as Record<string, unknown>,
      received_at: new Date().toISOString(),
    };
    await kafka.producer.sendOne(EVENT_TOPICS[type], { key: accountId, value: JSON.stringify(event) });
  };
  const recordsOf = <T extends { subscription_id: string }>(tap: TopicTap, subscriptionId: string) => tap.json<T>().filter((r) => r.subscription_id === subscriptionId);

  beforeAll(async () => {
    await ensurePlatformTopics();
    app = await startDispatcher(
      loadDispatcherConfig(
        appEnv(suffix(), {
          DISPATCH_PER_ENDPOINT_CONCURRENCY: String(PER_ENDPOINT),
          WEBHOOK_TIMEOUT_MS: String(TIMEOUT_MS),
          WEBHOOK_RETRY_SCHEDULE: '0,1s,1s',
        }),
      ),
    );
    url = baseUrl(app);
    await waitReady(url);
    const mine = (m: { key: Buffer | null }) => subscriptions.includes(m.key?.toString() ?? '');
    attempts = await kafka.tap(TOPICS.attempts, mine);
    retries = await kafka.tap('webhooks.retry.2', mine);
    exhausted = await kafka.tap(TOPICS.exhausted, mine);
  }, 120_000);

  afterAll(async () => {
    await Promise.allSettled(receivers.map((r) => r.close()));
    await Promise.allSettled(subscriptions.map((id) => kafka.deleteSubscription(id)));
    await app?.close();
    await kafka.close();
  }, 60_000);

  it('a hanging endpoint does not delay a healthy one: every healthy delivery arrives before the first hanging attempt ends', async () => {
    const accountId = `acct_hang_${suffix()}`;
    let seq = 0;
    const arrivals: Array<{ seq: number; who: 'healthy' | 'hanging'; id: string }> = [];
    let firstAbortSeq = Number.POSITIVE_INFINITY;
    const healthy = await receiver({ onRequest: (r) => arrivals.push({ seq: ++seq, who: 'healthy', id: String(r.headers['x-odis-delivery-id']) }) });
    const hanging = await receiver({
      respond: () => ({ status: 200, delayMs: 120_000 }),
      onRequest: (r) => arrivals.push({ seq: ++seq, who: 'hanging', id: String(r.headers['x-odis-delivery-id']) }),
      onAbort: () => {
        firstAbortSeq = Math.min(firstAbortSeq, ++seq);
      },
    });
    const hangingId = await subscribe(accountId, `${hanging.url}/never-answers`);
    const healthyId = await subscribe(accountId, `${healthy.url}/ok`);

    // Five waves of 20 events; each wave is produced only after the healthy endpoint has every
    // delivery of the previous one. Were the healthy deliveries queued behind the hanging ones
    // (one consumer, one partition, one account), wave 2 could not complete before the first
    // hanging attempt timed out.
    const waves = 5;
    const perWave = 20;
    for (let w = 0; w < waves; w++) {
      for (let i = 0; i < perWave; i++) await publishEvent(accountId, `evt_hang_${suffix()}_${w}_${i}`);
      await waitFor(() => distinctIds(healthy.requests).size >= (w + 1) * perWave, { timeoutMs: 30_000, message: `healthy wave ${w + 1}` });
    }
    const lastHealthy = Math.max(...arrivals.filter((a) => a.who === 'healthy').map((a) => a.seq));
    const hangingSoFar = arrivals.filter((a) => a.who === 'hanging' && a.seq < lastHealthy);

    expect(distinctIds(healthy.requests).size).toBe(waves * perWave);
    // Ordering: all healthy deliveries came before any hanging attempt ended (timed out).
    expect(lastHealthy).toBeLessThan(firstAbortSeq);
    // Counts: the hanging endpoint never had more than its per-endpoint limit in flight.
    expect(hangingSoFar.length).toBeLessThanOrEqual(PER_ENDPOINT);
    expect(hangingSoFar.length).toBeGreaterThan(0);
    // The hanging endpoint's other deliveries were handed off to webhooks.deliveries (after waiting
    // at most DISPATCH_HANDOFF_AFTER_MS for a slot), not left holding their events.
    await waitFor(async () => (await getJson<{ fan_out: { handedOff: number } }>(`${url}/stats`)).fan_out.handedOff >= waves * perWave - PER_ENDPOINT, {
      timeoutMs: 10_000,
      message: 'hand-offs of the hanging endpoint',
    });

    // The hanging attempts end as timeouts, recorded and scheduled for attempt 2.
    await waitFor(() => recordsOf<AttemptRecord>(attempts, hangingId).some((a) => a.error_class === 'timeout'), { timeoutMs: TIMEOUT_MS + 10_000 });
    const timedOut = recordsOf<AttemptRecord>(attempts, hangingId).find((a) => a.error_class === 'timeout')!;
    expect(timedOut).toMatchObject({ outcome: 'failed', status_code: null, attempt: 1 });
    expect(timedOut.duration_ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(timedOut.next_attempt_at).toEqual(expect.any(Number));
    expect(recordsOf<AttemptRecord>(attempts, healthyId).every((a) => a.outcome === 'succeeded')).toBe(true);
    await hanging.close();
  }, 90_000);

  it('a failing endpoint: attempt records, the next tier with the same delivery id, then exhaustion', async () => {
    const accountId = `acct_fail_${suffix()}`;
    const failing = await receiver({ respond: () => ({ status: 503, body: 'maintenance' }) });
    const id = await subscribe(accountId, `${failing.url}/hook`);
    const eventId = `evt_fail_${suffix()}`;
    const deliveryId = deliveryIdFor(eventId, id);
    await publishEvent(accountId, eventId);

    // Acting as the retry scheduler: move each due job from its tier topic back to webhooks.deliveries.
    for (let attempt = 2; attempt <= 3; attempt++) {
      const tier = attempt === 2 ? retries : await kafka.tap(`webhooks.retry.${attempt}`, (m) => m.key?.toString() === id);
      const job = await waitFor(() => tier.json<DeliveryJob>().find((j) => j.delivery_id === deliveryId), {
        timeoutMs: 30_000,
        message: `job on webhooks.retry.${attempt}`,
      });
      expect(job).toMatchObject({ attempt, delivery_id: deliveryId, subscription_id: id, event_id: eventId });
      expect(job.previous_attempts).toHaveLength(attempt - 1);
      await kafka.producer.sendOne(TOPICS.deliveries, { key: id, value: JSON.stringify(job), headers: { [KAFKA_HEADERS.deliveryId]: deliveryId } });
    }
    const gone = await waitFor(() => recordsOf<ExhaustedDelivery>(exhausted, id)[0], { timeoutMs: 30_000, message: 'exhausted delivery' });
    expect(gone).toMatchObject({ delivery_id: deliveryId, subscription_id: id, account_id: accountId });
    expect(gone.attempts.map((a) => [a.attempt, a.outcome, a.status_code])).toEqual([
      [1, 'failed', 503],
      [2, 'failed', 503],
      [3, 'failed', 503],
    ]);
    expect(failing.requests.map((r) => r.headers['x-odis-attempt'])).toEqual(['1', '2', '3']);
    expect(new Set(failing.requests.map((r) => r.headers['x-odis-delivery-id']))).toEqual(new Set([deliveryId]));
    const records = recordsOf<AttemptRecord>(attempts, id);
    expect(records.map((a) => [a.attempt, a.error_class, a.response_excerpt])).toEqual([
      [1, 'http_status', 'maintenance'],
      [2, 'http_status', 'maintenance'],
      [3, 'http_status', 'maintenance'],
    ]);
    expect(records[2].next_attempt_at).toBeNull();
  }, 60_000);

  it('a disabled or deleted webhook stops receiving, and its queued deliveries are skipped', async () => {
    const accountId = `acct_off_${suffix()}`;
    const r = await receiver();
    const other = await receiver();
    const id = await subscribe(accountId, `${r.url}/hook`);
    const otherId = await subscribe(accountId, `${other.url}/hook`);
    await publishEvent(accountId, `evt_on_${suffix()}`);
    await r.waitForCount(1);
    await other.waitForCount(1);

    await subscribe(accountId, `${r.url}/hook`, { id, status: 'disabled', version: 2 });
    await publishEvent(accountId, `evt_off_${suffix()}`);
    await other.waitForCount(2);
    // A delivery of the disabled webhook still queued (e.g. a retry) is recorded as skipped, not sent.
    const queuedId = `dlv_queued_${suffix()}`;
    const queued: DeliveryJob = {
      v: 1,
      delivery_id: queuedId,
      event_id: 'evt_queued',
      event_type: 'call.started',
      account_id: accountId,
      subscription_id: id,
      url: `${r.url}/hook`,
      secret_encrypted: 'enc:v1:00000000:AA:AA:AA',
      body: '{}',
      attempt: 2,
      due_at: Date.now(),
      created_at: new Date().toISOString(),
      previous_attempts: [],
    };
    await kafka.producer.sendOne(TOPICS.deliveries, { key: id, value: JSON.stringify(queued) });
    await waitFor(() => recordsOf<AttemptRecord>(attempts, id).some((a) => a.delivery_id === queuedId), { timeoutMs: 30_000 });
    expect(recordsOf<AttemptRecord>(attempts, id).find((a) => a.delivery_id === queuedId)).toMatchObject({ outcome: 'skipped', error_message: 'webhook is disabled' });

    await kafka.deleteSubscription(otherId);
    await waitRouted(url, otherId, { gone: true });
    await subscribe(accountId, `${r.url}/hook`, { id, status: 'active', version: 3 });
    await publishEvent(accountId, `evt_back_${suffix()}`);
    await r.waitForCount(2);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(r.count).toBe(2);
    expect(other.count).toBe(2);
  }, 60_000);

  it('an undecodable subscription snapshot is logged and skipped; the dispatcher goes on', async () => {
    const before = await getJson<{ routing: { skipped: number } }>(`${url}/stats`);
    const badId = `wh_bad_${suffix()}`;
    subscriptions.push(badId);
    await kafka.producer.sendOne(TOPICS.subscriptions, { key: badId, value: '{"v":1,"id":"this is not a snapshot"' });
    await kafka.producer.sendOne(TOPICS.subscriptions, { key: badId, value: JSON.stringify({ v: 1, id: badId, account_id: 'acct_x' }) });
    const accountId = `acct_after_${suffix()}`;
    const r = await receiver();
    await subscribe(accountId, `${r.url}/hook`);
    await publishEvent(accountId, `evt_after_${suffix()}`);
    await r.waitForCount(1);
    const after = await getJson<{ routing: { skipped: number } }>(`${url}/stats`);
    expect(after.routing.skipped - before.routing.skipped).toBe(2);
    expect((await fetch(`${url}/ready`)).status).toBe(200);
  }, 60_000);
});

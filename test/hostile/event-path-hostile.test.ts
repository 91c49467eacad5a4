/**
 * Hostile input and outages on the event path, against the real broker, Postgres and the apps
 * in-process (decision 0006): a poison event never stalls its partition, no webhook body over the cap
 * is produced or sent, and no accepted event or delivery-log row is lost while Kafka or Postgres is
 * frozen with SIGSTOP.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import {
  eventIdFor,
  KAFKA_HEADERS,
  LIMITS,
  SEED_EXAMPLES,
  TOPICS,
  type ValidatedEventMessage,
} from '@odis/contracts';
import type { ReceivedRequest } from '@odis/receiver-kit';
import { startDispatcher } from '../../apps/dispatcher/src/dispatcher.app.js';
import { loadDispatcherConfig } from '../../apps/dispatcher/src/config/dispatcher.config.js';
import { startEventIngest } from '../../apps/event-ingest/src/event-ingest.app.js';
import { loadIngestConfig } from '../../apps/event-ingest/src/config/event-ingest.config.js';
import { startSubscriptionApi, withDataSource } from '../api/subscription-api.harness.js';
import { appEnv, baseUrl, ensurePlatformTopics, suffix, TEST_INGEST_TOKEN, TestKafka, TestScope, waitReady, type TopicTap } from '../dispatch/support.js';
import { waitFor } from '../support/infra.js';
import { pausePostgres, withKafkaPaused } from '../support/process-pause.js';

const eventIds = (requests: ReceivedRequest[]) => new Set(requests.map((r) => String(r.headers['x-odis-event-id'])));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A call.ended whose first action's details nest `depth` levels deep (about 6 bytes a level). */
function deepCallEnded(accountId: string, depth: number): string {
  const event = { ...SEED_EXAMPLES['call.ended'], account_id: accountId, data: { ...SEED_EXAMPLES['call.ended'].data, actions: [{ type: 'note', details: '@' }] } };
  return JSON.stringify(event).replace('"@"', '{"a":'.repeat(depth) + '1' + '}'.repeat(depth));
}

describe('hostile input and outages on the event path (real Kafka and Postgres)', () => {
  const tag = suffix();
  const kafka = new TestKafka();
  let ingest: INestApplication;
  let dispatcher: INestApplication;
  let api: INestApplication;
  let ingestUrl: string;
  let dispatcherUrl: string;
  let telephonyDlq: TopicTap;
  let internalDlq: TopicTap;
  const scope = new TestScope(kafka, 'hostile');
  const receiver = () => scope.receiver();
  const account = () => scope.account();
  const subscribe = (accountId: string, url: string) => scope.subscribe(dispatcherUrl, accountId, url);
  const postEvent = (body: string | Buffer, timeoutMs = 15_000) =>
    fetch(`${ingestUrl}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_INGEST_TOKEN}`, 'content-type': 'application/json' },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });

  beforeAll(async () => {
    await ensurePlatformTopics();
    // Sessions outlive the 10 s broker pause; publishes give up (503) after 2 s.
    const env = appEnv(tag, { KAFKA_SESSION_TIMEOUT_MS: '30000', INGEST_PUBLISH_TIMEOUT_MS: '2000' });
    dispatcher = await startDispatcher(loadDispatcherConfig(env));
    ingest = await startEventIngest(loadIngestConfig(env));
    api = await startSubscriptionApi({ WITH_ATTEMPT_CONSUMER: 'true' });
    dispatcherUrl = baseUrl(dispatcher);
    ingestUrl = baseUrl(ingest);
    await Promise.all([waitReady(dispatcherUrl), waitReady(ingestUrl)]);
    telephonyDlq = await kafka.tap(TOPICS.telephonyDlq, scope.owns);
    // Dead letters of the dispatcher keep the event's key (account); those of the delivery log, the webhook's.
    internalDlq = await kafka.tap(TOPICS.internalDlq, scope.owns);
  }, 120_000);

  afterAll(async () => {
    await scope.close();
    await Promise.allSettled([ingest?.close(), dispatcher?.close(), api?.close()]);
    await kafka.close();
  }, 60_000);

  it('dead-letters a 4,000-deep event within seconds and delivers the valid event behind it on the same key; over HTTP it is a 400', async () => {
    const r = await receiver();
    const accountId = account();
    await subscribe(accountId, `${r.url}/hook`);
    const deep = deepCallEnded(accountId, 4_000);
    expect(Buffer.byteLength(deep)).toBeLessThan(LIMITS.rawEventBytes);

    const started = Date.now();
    await kafka.produceRaw(accountId, deep);
    const sentinel = `after-the-poison-${suffix()}`;
    await kafka.produceRaw(accountId, { ...SEED_EXAMPLES['call.started'], account_id: accountId, id: sentinel });

    await r.waitForCount(1, 10_000);
    await waitFor(() => telephonyDlq.records.some((m) => m.key?.toString() === accountId), { timeoutMs: 10_000, message: 'the dead letter' });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect([...eventIds(r.requests)]).toEqual([eventIdFor({ accountId, producerId: sentinel, rawPosition: '' })]);
    const letter = telephonyDlq.records.find((m) => m.key?.toString() === accountId)!;
    expect(letter.headers[KAFKA_HEADERS.dlqReason]).toMatch(/^too_deep: event is nested more than 32 levels deep/);
    expect(letter.value!.toString()).toBe(deep);
    const stats = (await (await fetch(`${ingestUrl}/stats`)).json()) as { consumer: { deadLettered: number; permanentFailures: number } };
    expect(stats.consumer.deadLettered).toBeGreaterThanOrEqual(1);

    const overHttp = await postEvent(deep);
    expect(overHttp.status).toBe(400);
    expect(await overHttp.json()).toMatchObject({ error: { code: 'too_deep' } });
    const fiftyThousand = await postEvent('['.repeat(50_000) + ']'.repeat(50_000));
    expect(fiftyThousand.status).toBe(400);
  }, 60_000);

  it('never produces or sends a webhook body over the cap: 413 over HTTP, a dead letter on Kafka, and the dispatcher refuses one that got past ingest', async () => {
    const r = await receiver();
    const accountId = account();
    await subscribe(accountId, `${r.url}/hook`);
    const ended = (transcript: string) => ({ ...SEED_EXAMPLES['call.ended'], account_id: accountId, data: { ...SEED_EXAMPLES['call.ended'].data, transcript } });

    // 3 MiB: refused from Content-Length, before the body is read.
    const huge = await postEvent(JSON.stringify(ended('x'.repeat(3 * 1024 * 1024))));
    expect(huge.status).toBe(413);
    // Within every limit, and small (about 60 KB), but pretty-printing indents each of its 19,000
    // deeply nested values by 26+ spaces: the signed body would be about 600 KB.
    const arrays = Object.fromEntries(Array.from({ length: 19 }, (_, i) => [`k${i}`, Array(100).fill(0)]));
    const details = { a: { b: { c: { d: { e: { f: arrays } } } } } };
    const expandingEvent = (extra: object = {}) => ({
      ...SEED_EXAMPLES['call.ended'],
      account_id: accountId,
      ...extra,
      data: { ...SEED_EXAMPLES['call.ended'].data, actions: Array.from({ length: 10 }, () => ({ type: 'telemetry', details })) },
    });
    expect(JSON.stringify(expandingEvent()).length).toBeLessThan(LIMITS.rawEventBytes / 2);
    const expanding = await postEvent(JSON.stringify(expandingEvent()));
    expect(expanding.status).toBe(413);
    expect(await expanding.json()).toMatchObject({ error: { code: 'body_too_large', field: 'data' } });
    await kafka.produceRaw(accountId, expandingEvent({ id: `expanding-${suffix()}` }));
    await waitFor(() => telephonyDlq.records.some((m) => m.key?.toString() === accountId), { timeoutMs: 15_000, message: 'the body_too_large dead letter' });
    expect(telephonyDlq.records.find((m) => m.key?.toString() === accountId)!.headers[KAFKA_HEADERS.dlqReason]).toMatch(/^body_too_large: webhook body is \d+ bytes, more than the limit of 262144/);

    // A validated event produced straight to its topic (a buggy or old producer): the dispatcher
    // dead-letters it instead of signing and sending 300 KB, and goes on with the next event.
    const validated = (id: string, transcript: string): ValidatedEventMessage => ({
      v: 1,
      event_id: id,
      account_id: accountId,
      event: 'call.ended',
      timestamp: '2024-01-15T10:35:00Z',
      data: { ...SEED_EXAMPLES['call.ended'].data, transcript },
      received_at: new Date().toISOString(),
    });
    await kafka.producer.sendOne(TOPICS.callEnded, { key: accountId, value: JSON.stringify(validated(`evt_big_${suffix()}`, 'y'.repeat(300_000))) });
    const small = `evt_small_${suffix()}`;
    await kafka.producer.sendOne(TOPICS.callEnded, { key: accountId, value: JSON.stringify(validated(small, 'fine')) });
    await r.waitForCount(1, 15_000);
    await waitFor(() => internalDlq.records.some((m) => m.key?.toString() === accountId), { timeoutMs: 15_000, message: 'the dispatcher dead letter' });
    expect(internalDlq.records.find((m) => m.key?.toString() === accountId)!.headers[KAFKA_HEADERS.dlqReason]).toMatch(/^body_too_large: webhook body is \d+ bytes/);
    await sleep(500);
    expect([...eventIds(r.requests)]).toEqual([small]);
    for (const req of r.requests) expect(req.body.length).toBeLessThanOrEqual(LIMITS.webhookBodyBytes);
  }, 60_000);

  it('Kafka frozen for 10 s while POST /v1/events is called (one event or a batch): every event gets 202 or 503, and every 202 is delivered', async () => {
    const r = await receiver();
    const accountId = account();
    await subscribe(accountId, `${r.url}/hook`);
    const accepted: string[] = [];
    const statuses: number[] = [];
    let n = 0;
    const event = () => ({ ...SEED_EXAMPLES['call.started'], account_id: accountId, id: `kafka-pause-${n++}` });
    const post = async () => {
      // Every 4th call is the batch form (3 events): each element is 202 or 503 on its own.
      if (n % 4 === 3) {
        const res = await postEvent(JSON.stringify([event(), event(), event()]), 15_000);
        const list = (await res.json()) as { data: Array<{ status: number; event_id?: string }> };
        expect([200, 202]).toContain(res.status);
        for (const item of list.data) {
          statuses.push(item.status);
          if (item.status === 202) accepted.push(item.event_id!);
        }
        return;
      }
      const res = await postEvent(JSON.stringify(event()), 15_000);
      statuses.push(res.status);
      if (res.status === 202) accepted.push(((await res.json()) as { event_id: string }).event_id);
      else await res.arrayBuffer();
    };
    const calls: Promise<void>[] = [];
    const caller = (async () => {
      const until = Date.now() + 13_000;
      while (Date.now() < until) {
        calls.push(post());
        await sleep(200);
      }
    })();
    await sleep(1_000);
    await withKafkaPaused(() => sleep(10_000));
    await caller;
    await Promise.all(calls);

    expect(statuses.length).toBeGreaterThan(40);
    expect(statuses.filter((s) => s !== 202 && s !== 503)).toEqual([]);
    expect(statuses).toContain(503); // the pause was felt: publishes gave up after 2 s
    expect(accepted.length).toBeGreaterThan(5);
    await waitFor(() => accepted.every((id) => eventIds(r.requests).has(id)), { timeoutMs: 60_000, message: `all ${accepted.length} accepted events delivered` });
  }, 120_000);

  it('Postgres frozen for 15 s while events flow: every delivery still happens, and every attempt reaches the delivery log after it resumes', async () => {
    const r = await receiver();
    const accountId = account();
    const subscriptionId = await subscribe(accountId, `${r.url}/hook`);
    const events = 20;
    const producing = (async () => {
      for (let i = 0; i < events; i++) {
        await kafka.produceRaw(accountId, { ...SEED_EXAMPLES['appointment.created'], account_id: accountId, id: `pg-pause-${i}` });
        await sleep(500);
      }
    })();
    // The dispatcher needs no database: every delivery happens while Postgres is frozen.
    await pausePostgres(15_000);
    await producing;
    await r.waitForCount(events, 30_000);
    expect(eventIds(r.requests).size).toBe(events);

    // The delivery-log consumer waited for Postgres (no dead letter, nothing skipped): every attempt is there.
    const logged = () =>
      withDataSource(async (ds) => Number((await ds.query('SELECT count(DISTINCT attempt_id) AS n FROM delivery_attempts WHERE subscription_id = $1', [subscriptionId]))[0].n));
    await waitFor(async () => (await logged()) >= events, { timeoutMs: 60_000, message: `${events} delivery-log rows` });
    expect(await logged()).toBe(events);
    expect(internalDlq.records.filter((m) => m.key?.toString() === subscriptionId)).toEqual([]);
  }, 120_000);
});

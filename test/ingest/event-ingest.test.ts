/** event-ingest alone on the real broker: the raw consumer and `POST /v1/events`. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { eventIdFor, KAFKA_HEADERS, SEED_EXAMPLES, TOPICS, validatedEventMessage, type ValidatedEventMessage } from '@odis/contracts';
import { loadIngestConfig } from '../../apps/event-ingest/src/config/event-ingest.config.js';
import { startEventIngest } from '../../apps/event-ingest/src/event-ingest.app.js';
import { appEnv, baseUrl, ensurePlatformTopics, getJson, suffix, TEST_INGEST_TOKEN, TestKafka, waitReady, type TopicTap } from '../dispatch/support.js';
import { waitFor } from '../support/infra.js';

const MAX = 4096;

describe('event-ingest (real Kafka)', () => {
  const kafka = new TestKafka();
  const accountId = `acct_ingest_${suffix()}`;
  let app: INestApplication;
  let url: string;
  let started: TopicTap;
  let ended: TopicTap;
  let dlq: TopicTap;

  const post = (body: string | object, headers: Record<string, string> = { authorization: `Bearer ${TEST_INGEST_TOKEN}` }) =>
    fetch(`${url}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });

  beforeAll(async () => {
    await ensurePlatformTopics();
    app = await startEventIngest(loadIngestConfig(appEnv(suffix(), { INGEST_MAX_EVENT_BYTES: String(MAX) })));
    url = baseUrl(app);
    await waitReady(url);
    const mine = (m: { key: Buffer | null }) => m.key?.toString() === accountId;
    started = await kafka.tap(TOPICS.callStarted, mine);
    ended = await kafka.tap(TOPICS.callEnded, mine);
    dlq = await kafka.tap(TOPICS.telephonyDlq, mine);
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await kafka.close();
  }, 60_000);

  it('/health and /ready answer', async () => {
    expect(await getJson(`${url}/health`)).toMatchObject({ status: 'ok', service: 'event-ingest' });
    const ready = await getJson<{ status: string; checks: Record<string, { ok: boolean }> }>(`${url}/ready`);
    expect(ready.status).toBe('ready');
    expect(Object.keys(ready.checks).sort()).toEqual(['kafka-producer', 'raw-events-consumer']);
  }, 60_000);

  it("publishes a raw event to its topic with a stable id; a producer's retry (same id) keeps the id; extra fields are dropped and counted", async () => {
    const raw = { ...SEED_EXAMPLES['call.ended'], account_id: accountId, id: `call-ended-${suffix()}`, internal_cost: 3 };
    await kafka.produceRaw(accountId, raw);
    await kafka.produceRaw(accountId, raw);
    await ended.waitForCount(2);
    const [a, b] = ended.json<ValidatedEventMessage>();
    expect(validatedEventMessage.parse(a)).toEqual(a);
    expect(a.event_id).toBe(eventIdFor({ accountId, producerId: raw.id, rawPosition: 'unused' }));
    expect(b.event_id).toBe(a.event_id);
    expect(a.data).toEqual(SEED_EXAMPLES['call.ended'].data);
    expect(JSON.stringify(a)).not.toContain('internal_cost');
    expect(ended.records[0].headers[KAFKA_HEADERS.eventId]).toBe(a.event_id);
    const stats = await getJson<{ dropped_by_field: Record<string, number> }>(`${url}/stats`);
    expect(stats.dropped_by_field.internal_cost).toBeGreaterThanOrEqual(2);
    expect(await (await fetch(`${url}/metrics`)).text()).toMatch(/odis_ingest_dropped_fields_total \d+/);
  }, 60_000);

  it('without a producer id the raw position is the event id', async () => {
    await kafka.produceRaw(accountId, { ...SEED_EXAMPLES['call.started'], account_id: accountId });
    await started.waitForCount(1);
    const record = started.json<ValidatedEventMessage>()[0];
    // The id is derived from `<partition>:<offset>` of the raw record: find that record.
    const raw = await kafka.tap(TOPICS.telephonyRaw, (m) => m.key?.toString() === accountId && !m.value?.toString().includes('"id"'));
    await raw.waitForCount(1);
    expect(record.event_id).toBe(eventIdFor({ accountId, rawPosition: `${raw.records[0].partition}:${raw.records[0].offset}` }));
  }, 60_000);

  it('POST /v1/events: 202 once stored; 400 naming the field; 401 without the token; 413 over the limit', async () => {
    const ok = await post({ ...SEED_EXAMPLES['call.started'], account_id: accountId, id: `http-${suffix()}` });
    expect(ok.status).toBe(202);
    const accepted = (await ok.json()) as { event_id: string; event: string };
    expect(accepted).toMatchObject({ event: 'call.started', event_id: expect.stringMatching(/^evt_/) });
    // 202 means it is already on the topic.
    await waitFor(() => started.json<ValidatedEventMessage>().some((e) => e.event_id === accepted.event_id), { timeoutMs: 10_000 });

    const bad = await post({ ...SEED_EXAMPLES['call.started'], account_id: accountId, data: { ...SEED_EXAMPLES['call.started'].data, direction: 'sideways' } });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: { code: 'invalid_data', field: 'data.direction', message: expect.stringContaining('data.direction') } });

    const unknown = await post({ ...SEED_EXAMPLES['call.started'], account_id: accountId, event: 'call.exploded' });
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toMatchObject({ error: { code: 'unknown_event_type', field: 'event' } });

    const notJson = await post('{"event": nope');
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toMatchObject({ error: { code: 'not_json', field: null } });

    const missing = await post({ event: 'call.started', data: {} });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({ error: { code: 'invalid_envelope', field: 'timestamp' } });

    const noToken = await post({ ...SEED_EXAMPLES['call.started'], account_id: accountId }, {});
    expect(noToken.status).toBe(401);
    expect(await noToken.json()).toMatchObject({ error: { code: 'unauthorized' } });
    expect((await post({}, { authorization: 'Bearer wrong-token-wrong-token' })).status).toBe(401);

    const tooLarge = await post({ ...SEED_EXAMPLES['call.started'], account_id: accountId, padding: 'x'.repeat(MAX) });
    expect(tooLarge.status).toBe(413);
    expect(await tooLarge.json()).toMatchObject({ error: { code: 'too_large' } });
  }, 60_000);

  it('dead-letters an oversized raw event with its original bytes and goes on', async () => {
    const big = Buffer.from(JSON.stringify({ ...SEED_EXAMPLES['call.started'], account_id: accountId, padding: 'y'.repeat(MAX) }));
    await kafka.produceRaw(accountId, big);
    await kafka.produceRaw(accountId, { ...SEED_EXAMPLES['call.started'], account_id: accountId, id: `after-big-${suffix()}` });
    await dlq.waitForCount(1);
    expect(dlq.records[0].value?.equals(big)).toBe(true);
    expect(dlq.records[0].headers[KAFKA_HEADERS.dlqReason]).toMatch(/^too_large: event is \d+ bytes, more than the limit of 4096$/);
    await waitFor(() => started.records.length >= 3, { timeoutMs: 10_000, message: 'the event after the oversized one' });
  }, 60_000);

  describe('POST /v1/events, the batch form (an array of up to 100 events)', () => {
    const batchAccount = `acct_ingest_batch_${suffix()}`;
    let batchStarted: TopicTap;
    let batchEnded: TopicTap;
    type Item = { status: number; event_id?: string; topic?: string; dropped_fields?: string[]; error?: { code: string; field: string | null; message: string } };
    type List = { object: string; data: Item[]; accepted: number; rejected: number };
    const started = (callId: string, extra: object = {}) => ({ ...SEED_EXAMPLES['call.started'], account_id: batchAccount, id: callId, data: { ...SEED_EXAMPLES['call.started'].data, call_id: callId }, ...extra });
    const ended = (callId: string) => ({ ...SEED_EXAMPLES['call.ended'], account_id: batchAccount, id: callId, data: { ...SEED_EXAMPLES['call.ended'].data, call_id: callId } });
    const callIds = (tap: TopicTap) => tap.json<ValidatedEventMessage>().map((e) => (e.data as { call_id: string }).call_id);

    beforeAll(async () => {
      const mine = (m: { key: Buffer | null }) => m.key?.toString() === batchAccount;
      batchStarted = await kafka.tap(TOPICS.callStarted, mine);
      batchEnded = await kafka.tap(TOPICS.callEnded, mine);
    }, 60_000);

    it('202 with every result in order when all are accepted; each is on its topic before the answer', async () => {
      const res = await post([started('call_b1'), ended('call_b2'), started('call_b3', { internal: 1 })]);
      expect(res.status).toBe(202);
      const list = (await res.json()) as List;
      expect(list).toMatchObject({ object: 'list', accepted: 3, rejected: 0 });
      expect(list.data.map((i) => [i.status, i.topic, i.dropped_fields])).toEqual([
        [202, 'events.call.started', []],
        [202, 'events.call.ended', []],
        [202, 'events.call.started', ['internal']],
      ]);
      await batchStarted.waitForCount(2, 10_000);
      await batchEnded.waitForCount(1, 10_000);
      expect(batchStarted.json<ValidatedEventMessage>().map((e) => e.event_id)).toEqual([list.data[0].event_id, list.data[2].event_id]);
      expect(batchEnded.json<ValidatedEventMessage>()[0].event_id).toBe(list.data[1].event_id);
    }, 60_000);

    it('200 with per-event errors naming `[i].field`; only the valid events are stored', async () => {
      const body = `[${JSON.stringify(started('call_b4'))}, ${JSON.stringify(started('call_b5', { data: { call_id: 'nope' } }))}, {not json}, ${JSON.stringify(started('call_b6', { event: 'call.exploded' }))}, ${JSON.stringify(ended('call_b7'))}]`;
      const res = await post(body);
      expect(res.status).toBe(200);
      const list = (await res.json()) as List;
      expect(list).toMatchObject({ object: 'list', accepted: 2, rejected: 3 });
      expect(list.data.map((i) => [i.status, i.error?.code ?? null, i.error?.field ?? null])).toEqual([
        [202, null, null],
        [400, 'invalid_data', '[1].data.call_id'],
        [400, 'not_json', '[2]'],
        [400, 'unknown_event_type', '[3].event'],
        [202, null, null],
      ]);
      await batchEnded.waitForCount(2, 10_000);
      await batchStarted.waitForCount(3, 10_000);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(callIds(batchStarted)).toEqual(['call_b1', 'call_b3', 'call_b4']);
      expect(callIds(batchEnded)).toEqual(['call_b2', 'call_b7']);
    }, 60_000);

    it('400 for the whole request (nothing stored) when the array is empty, too long or holds a non-object; 413 over the batch limit', async () => {
      const cases: Array<[string, string]> = [
        ['[]', 'body'],
        [JSON.stringify(Array.from({ length: 101 }, (_, i) => started(`call_many${i}`))), 'body'],
        [JSON.stringify([started('call_b8'), 3]), '[1]'],
        [`[${JSON.stringify(started('call_b9'))}`, 'body'],
      ];
      for (const [body, field] of cases) {
        const res = await post(body);
        expect(res.status).toBe(400);
        expect(await res.json()).toEqual({ error: { code: 'invalid_batch', field, message: expect.stringContaining(`${field}: `) } });
      }
      // The batch limit here: min(INGEST_MAX_BATCH_BYTES, 100 × INGEST_MAX_EVENT_BYTES) = 100 × 4,096 bytes.
      const tooLarge = await post(JSON.stringify(Array.from({ length: 100 }, (_, i) => started(`call_big${i}`, { padding: 'z'.repeat(MAX) }))));
      expect(tooLarge.status).toBe(413);
      expect(await tooLarge.json()).toMatchObject({ error: { code: 'too_large' } });
      // A marker event after them: once it is on the topic, anything of the refused requests would be too.
      expect((await post([started('call_marker')])).status).toBe(202);
      await waitFor(() => callIds(batchStarted).includes('call_marker'), { timeoutMs: 10_000 });
      expect(callIds(batchStarted)).toEqual(['call_b1', 'call_b3', 'call_b4', 'call_marker']);
    }, 60_000);
  });
});

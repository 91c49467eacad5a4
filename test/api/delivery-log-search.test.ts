/**
 * The searchable delivery log (issue 11 item 5) against the real Kafka and Postgres: attempt records
 * produced to `webhooks.attempts` are projected by the subscription-api's consumer and read back
 * through the API: list filters with the cursor, one delivery with its attempts and status, and the
 * per-hour stats. Account scoping: another account's webhook or delivery is a 404.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { AttemptRecordCodec, TOPICS, type AttemptRecord } from '@odis/contracts';
import { ensurePlatformTopics, suffix, TestKafka } from '../dispatch/support.js';
import { waitFor } from '../support/infra.js';
import { createAccount, startSubscriptionApi, withDataSource } from './subscription-api.harness.js';

const HOUR = 3_600_000;
const LOCAL_URL = 'http://127.0.0.1:9/hook';
const iso = (ms: number) => new Date(ms).toISOString();

type Attempt = { id: string; delivery_id: string; event_id: string; attempt: number; outcome: string; attempted_at: string; next_attempt_at: string | null };

let app: INestApplication;
const kafka = new TestKafka();
const tag = suffix();
let a: { accountId: string; apiKey: string };
let b: { accountId: string; apiKey: string };
let hookA: string;
let hookB: string;
/** The start of the current UTC hour when the records were made. */
let hourStart: number;
const dlv = (n: number) => `dlv_${tag}_${n}`;
const evt = (n: number) => `evt_${tag}_${n}`;

const api = () => request(app.getHttpServer());
const get = (path: string, key = a.apiKey) => api().get(path).set({ Authorization: `Bearer ${key}` });
const ids = (body: { data: Attempt[] }) => body.data.map((d) => d.id).sort();

async function createHook(key: string): Promise<string> {
  const res = await api().post('/v1/webhooks').set({ Authorization: `Bearer ${key}` }).send({ url: LOCAL_URL, events: ['call.started', 'call.ended'] });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

function record(n: string, deliveryN: number, eventN: number, fields: Partial<AttemptRecord> & Pick<AttemptRecord, 'attempt' | 'outcome' | 'attempted_at'>): AttemptRecord {
  const failed = fields.outcome === 'failed';
  return {
    v: 1,
    attempt_id: `att_${tag}_${n}`,
    delivery_id: dlv(deliveryN),
    event_id: evt(eventN),
    event_type: 'call.started',
    account_id: a.accountId,
    subscription_id: hookA,
    url: LOCAL_URL,
    status_code: failed ? 503 : fields.outcome === 'succeeded' ? 200 : null,
    error_class: failed ? 'http_status' : null,
    error_message: failed ? 'HTTP 503' : null,
    duration_ms: 12.34,
    response_excerpt: failed ? 'busy' : null,
    next_attempt_at: null,
    ...fields,
  };
}

beforeAll(async () => {
  await ensurePlatformTopics();
  app = await startSubscriptionApi({ WITH_ATTEMPT_CONSUMER: 'true' });
  a = await createAccount('Search Clinic');
  b = await createAccount('Other Search Clinic');
  hookA = await createHook(a.apiKey);
  hookB = await createHook(b.apiKey);
  hourStart = Math.floor(Date.now() / HOUR) * HOUR;
  const h = (offsetHours: number, minutes = 0) => iso(hourStart + offsetHours * HOUR + minutes * 60_000);
  const records = [
    // d1 (e1): failed, then succeeded on the retry.
    record('1a', 1, 1, { attempt: 1, outcome: 'failed', attempted_at: h(-2, 5), next_attempt_at: hourStart - 2 * HOUR + 6 * 60_000 }),
    record('1b', 1, 1, { attempt: 2, outcome: 'succeeded', attempted_at: h(-2, 10) }),
    // d2 (e2, call.ended): failed, a retry scheduled in the future.
    record('2a', 2, 2, { attempt: 1, outcome: 'failed', attempted_at: h(-1, 1), event_type: 'call.ended', next_attempt_at: Date.now() + HOUR }),
    // d3 (e3): failed, nothing follows.
    record('3a', 3, 3, { attempt: 1, outcome: 'failed', attempted_at: h(-1, 2) }),
    // d4 (e1 again, e.g. a redelivery): skipped, exactly at the start of the current hour.
    record('4a', 4, 1, { attempt: 1, outcome: 'skipped', attempted_at: h(0) }),
    // d5 (e5): three days ago (outside 24h, inside 7d).
    record('5a', 5, 5, { attempt: 1, outcome: 'succeeded', attempted_at: h(-72, 30) }),
  ];
  await kafka.producer.send(TOPICS.attempts, records.map((r) => AttemptRecordCodec.encode(r)));
  await waitFor(async () => (await get(`/v1/webhooks/${hookA}/deliveries?limit=100`)).body.data?.length === records.length, {
    timeoutMs: 30_000,
    message: 'the attempt records projected into the delivery log',
  });
}, 120_000);

afterAll(async () => {
  if (app) {
    await api().delete(`/v1/webhooks/${hookA}`).set({ Authorization: `Bearer ${a.apiKey}` });
    await api().delete(`/v1/webhooks/${hookB}`).set({ Authorization: `Bearer ${b.apiKey}` });
  }
  await kafka.close();
  await app?.close();
}, 60_000);

describe('GET /v1/webhooks/{id}/deliveries filters', () => {
  const list = async (query: string) => {
    const res = await get(`/v1/webhooks/${hookA}/deliveries?${query}`);
    expect(res.status).toBe(200);
    return res.body as { data: Attempt[]; has_more: boolean; next_cursor: string | null };
  };

  it('by event_type, event_id and outcome, composed', async () => {
    expect(ids(await list('event_type=call.ended'))).toEqual([`att_${tag}_2a`]);
    expect(ids(await list(`event_id=${evt(1)}`))).toEqual([`att_${tag}_1a`, `att_${tag}_1b`, `att_${tag}_4a`]);
    expect(ids(await list('outcome=failed&event_type=call.started'))).toEqual([`att_${tag}_1a`, `att_${tag}_3a`]);
    expect(ids(await list(`outcome=succeeded&event_id=${evt(1)}`))).toEqual([`att_${tag}_1b`]);
    expect((await list(`event_id=evt_${tag}_none`)).data).toEqual([]);
  });

  it('since is inclusive, until exclusive, on attempted_at', async () => {
    const since = encodeURIComponent(iso(hourStart - HOUR));
    const until = encodeURIComponent(iso(hourStart));
    expect(ids(await list(`since=${since}&until=${until}`))).toEqual([`att_${tag}_2a`, `att_${tag}_3a`]);
    expect(ids(await list(`since=${until}`))).toEqual([`att_${tag}_4a`]);
    expect(ids(await list(`until=${encodeURIComponent(iso(hourStart - 24 * HOUR))}`))).toEqual([`att_${tag}_5a`]);
  });

  it('pages a filtered list with the cursor, newest first, without a repeat', async () => {
    const first = await list(`event_id=${evt(1)}&limit=2`);
    expect(first.data.map((d) => d.id)).toEqual([`att_${tag}_4a`, `att_${tag}_1b`]);
    expect(first.has_more).toBe(true);
    const second = await list(`event_id=${evt(1)}&limit=2&before=${encodeURIComponent(first.next_cursor!)}`);
    expect(second.data.map((d) => d.id)).toEqual([`att_${tag}_1a`]);
    expect(second.has_more).toBe(false);
    expect(second.next_cursor).toBeNull();
  });

  it('a bad value is a 400 naming the field', async () => {
    for (const [query, field] of [
      ['event_type=call.exploded', 'event_type'],
      ['since=yesterday', 'since'],
      ['until=2026-13-01T00:00:00Z', 'until'],
      [`since=${encodeURIComponent(iso(hourStart))}&until=${encodeURIComponent(iso(hourStart - HOUR))}`, 'since'],
      ['outcome=maybe', 'outcome'],
      ['colour=red', 'colour'],
    ]) {
      const res = await get(`/v1/webhooks/${hookA}/deliveries?${query}`);
      expect({ query, status: res.status, field: res.body.error?.field }).toEqual({ query, status: 400, field });
      expect(['invalid_field', 'unknown_field']).toContain(res.body.error.code);
    }
  });
});

describe('GET /v1/webhooks/{id}/deliveries/{delivery_id}', () => {
  it('one delivery with every attempt, oldest first, as the list presents them; status from the last attempt', async () => {
    const res = await get(`/v1/webhooks/${hookA}/deliveries/${dlv(1)}`);
    expect(res.status).toBe(200);
    const listed = (await get(`/v1/webhooks/${hookA}/deliveries?event_id=${evt(1)}`)).body.data as Attempt[];
    expect(res.body).toEqual({
      object: 'delivery',
      id: dlv(1),
      webhook_id: hookA,
      event_id: evt(1),
      event_type: 'call.started',
      url: LOCAL_URL,
      body: null, // records without a body (as before bodies were kept)
      attempts: [listed.find((x) => x.id === `att_${tag}_1a`), listed.find((x) => x.id === `att_${tag}_1b`)],
      status: 'succeeded',
      next_attempt_at: null,
    });
    expect(res.body.attempts[0]).toMatchObject({ object: 'delivery_attempt', attempt: 1, outcome: 'failed', status_code: 503, duration_ms: 12.3, response_excerpt: 'busy' });
  });

  it('pending with next_attempt_at while a retry is scheduled; failed when none follows; skipped', async () => {
    const pending = await get(`/v1/webhooks/${hookA}/deliveries/${dlv(2)}`);
    expect(pending.body).toMatchObject({ status: 'pending', event_type: 'call.ended', next_attempt_at: pending.body.attempts[0].next_attempt_at });
    expect(Date.parse(pending.body.next_attempt_at)).toBeGreaterThan(Date.now());
    expect((await get(`/v1/webhooks/${hookA}/deliveries/${dlv(3)}`)).body).toMatchObject({ status: 'failed', next_attempt_at: null });
    expect((await get(`/v1/webhooks/${hookA}/deliveries/${dlv(4)}`)).body).toMatchObject({ status: 'skipped', event_id: evt(1) });
  });

  it("404 not_found for an unknown delivery, another webhook's, and another account's", async () => {
    for (const [path, key] of [
      [`/v1/webhooks/${hookA}/deliveries/dlv_${tag}_unknown`, a.apiKey],
      [`/v1/webhooks/${hookA}/deliveries/${dlv(1)}`, b.apiKey],
      [`/v1/webhooks/${hookB}/deliveries/${dlv(1)}`, b.apiKey],
    ]) {
      const res = await get(path, key);
      expect({ path, status: res.status, code: res.body.error?.code }).toEqual({ path, status: 404, code: 'not_found' });
    }
    const badId = await get(`/v1/webhooks/${hookA}/deliveries/not%20an%20id`);
    expect(badId.status).toBe(400);
    expect(badId.body.error.field).toBe('delivery_id');
  });
});

describe('GET /v1/webhooks/{id}/stats', () => {
  type Bucket = { hour: string; succeeded: number; failed: number; skipped: number };
  const zero = { succeeded: 0, failed: 0, skipped: 0 };

  it('24 hourly buckets by default, oldest first, zeros included, the last one the current hour', async () => {
    const res = await get(`/v1/webhooks/${hookA}/stats`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ object: 'webhook_stats', webhook_id: hookA, window: '24h' });
    const buckets = res.body.buckets as Bucket[];
    expect(buckets).toHaveLength(24);
    const nowHour = Math.floor(Date.now() / HOUR) * HOUR;
    expect(buckets.map((x) => x.hour)).toEqual(Array.from({ length: 24 }, (_, i) => iso(nowHour - (23 - i) * HOUR)));
    const at = (ms: number) => buckets.find((x) => x.hour === iso(ms));
    expect(at(hourStart - 2 * HOUR)).toMatchObject({ succeeded: 1, failed: 1, skipped: 0 });
    expect(at(hourStart - HOUR)).toMatchObject({ succeeded: 0, failed: 2, skipped: 0 });
    expect(at(hourStart)).toMatchObject({ succeeded: 0, failed: 0, skipped: 1 });
    expect(buckets.filter((x) => ![hourStart - 2 * HOUR, hourStart - HOUR, hourStart].includes(Date.parse(x.hour)))).toEqual(
      buckets.filter((x) => ![hourStart - 2 * HOUR, hourStart - HOUR, hourStart].includes(Date.parse(x.hour))).map((x) => ({ hour: x.hour, ...zero })),
    );
    expect(res.body.totals).toEqual({ succeeded: 1, failed: 3, skipped: 1 });
  });

  it('7d covers 168 hours (the attempt of three days ago included); another webhook has only zeros', async () => {
    const week = await get(`/v1/webhooks/${hookA}/stats?window=7d`);
    expect(week.status).toBe(200);
    expect(week.body.window).toBe('7d');
    expect(week.body.buckets).toHaveLength(168);
    expect(week.body.totals).toEqual({ succeeded: 2, failed: 3, skipped: 1 });
    const other = await get(`/v1/webhooks/${hookB}/stats?window=2h`, b.apiKey);
    expect(other.body.buckets).toHaveLength(2);
    expect(other.body.totals).toEqual(zero);
  });

  it("400 naming window for a bad one; 404 for another account's webhook", async () => {
    for (const window of ['8d', '0h', 'day', '1.5h']) {
      const res = await get(`/v1/webhooks/${hookA}/stats?window=${window}`);
      expect({ window, status: res.status, field: res.body.error?.field }).toEqual({ window, status: 400, field: 'window' });
    }
    const foreign = await get(`/v1/webhooks/${hookA}/stats`, b.apiKey);
    expect(foreign.status).toBe(404);
    expect(foreign.body.error.code).toBe('not_found');
  });
});

it('the OpenAPI document describes the new routes and filters', async () => {
  const doc = await api().get('/docs/openapi.json');
  expect(doc.status).toBe(200);
  expect(Object.keys(doc.body.paths)).toEqual(
    expect.arrayContaining(['/v1/webhooks/{id}/deliveries', '/v1/webhooks/{id}/deliveries/{delivery_id}', '/v1/webhooks/{id}/stats']),
  );
  const params = (doc.body.paths['/v1/webhooks/{id}/deliveries'].get.parameters as { name: string }[]).map((p) => p.name);
  expect(params).toEqual(expect.arrayContaining(['outcome', 'event_type', 'event_id', 'since', 'until', 'before', 'limit']));
  expect((doc.body.paths['/v1/webhooks/{id}/stats'].get.parameters as { name: string }[]).map((p) => p.name)).toContain('window');
});

it('the event_id search has its index (migration DeliveryLogSearch1764400000005), built and valid', async () => {
  const rows: { indexdef: string; valid: boolean }[] = await withDataSource((ds) =>
    ds.query(
      `SELECT pg_get_indexdef(i.indexrelid) AS indexdef, i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 'delivery_attempts_by_event'`,
    ),
  );
  expect(rows).toHaveLength(1);
  expect(rows[0].valid).toBe(true);
  expect(rows[0].indexdef).toContain('(account_id, subscription_id, event_id, attempted_at DESC)');
});

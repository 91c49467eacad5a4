/**
 * End to end on the real broker: raw telephony events → event-ingest → dispatcher → a local HTTP
 * receiver. Both apps run in-process (Nest apps from their modules, env as in production).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import {
  deliveryIdFor,
  EVENT_TYPES,
  KAFKA_HEADERS,
  SEED_EXAMPLES,
  serializeWebhookPayload,
  TOPICS,
  type AttemptRecord,
  type EventType,
} from '@odis/contracts';
import { verifyOdisSignature, verifyStandardWebhook, type ReceivedRequest } from '@odis/receiver-kit';
import { startDispatcher } from '../../apps/dispatcher/src/dispatcher.app.js';
import { loadDispatcherConfig } from '../../apps/dispatcher/src/config/dispatcher.config.js';
import { startEventIngest } from '../../apps/event-ingest/src/event-ingest.app.js';
import { loadIngestConfig } from '../../apps/event-ingest/src/config/event-ingest.config.js';
import { appEnv, baseUrl, ensurePlatformTopics, suffix, TEST_INGEST_TOKEN, TestKafka, TestScope, waitReady, type TopicTap } from '../dispatch/support.js';
import { waitFor } from '../support/infra.js';

/** The page's own JSON blocks, as printed under "### <event>" in docs/seed/webhooks-page.md. */
function seedPageBlocks(): Record<EventType, string> {
  const page = readFileSync(join(process.cwd(), 'docs/seed/webhooks-page.md'), 'utf8');
  const blocks = {} as Record<EventType, string>;
  for (const type of EVENT_TYPES) {
    const match = new RegExp(`### ${type.replace('.', '\\.')}\\s[\\s\\S]*?\`\`\`json\\n([\\s\\S]*?)\\n\`\`\``).exec(page);
    if (!match) throw new Error(`no JSON block for ${type} in the seed page`);
    blocks[type] = match[1];
  }
  return blocks;
}

/** The seed page's verification function, verbatim (an independent implementation of ours). */
function verifyWebhook(payload: string, signature: string, secret: string): boolean {
  const expected = createHmac('sha256', secret).update(payload).digest('hex');
  return `sha256=${expected}` === signature;
}

/** Standard Webhooks verification written from the spec (standardwebhooks.com), independent of receiver-kit. */
function verifyStandard(body: Buffer, headers: ReceivedRequest['headers'], whsec: string): boolean {
  const key = Buffer.from(whsec.replace(/^whsec_/, ''), 'base64');
  const signed = `${headers['webhook-id']}.${headers['webhook-timestamp']}.${body.toString('utf8')}`;
  const expected = createHmac('sha256', key).update(signed).digest();
  return String(headers['webhook-signature'])
    .split(' ')
    .some((s) => s.startsWith('v1,') && Buffer.from(s.slice(3), 'base64').length === expected.length && timingSafeEqual(Buffer.from(s.slice(3), 'base64'), expected));
}

const distinct = (requests: ReceivedRequest[]) => new Map(requests.map((r) => [String(r.headers['x-odis-delivery-id']), r]));

describe('event-ingest → dispatcher → receiver (real Kafka)', () => {
  const tag = suffix();
  const kafka = new TestKafka();
  let ingest: INestApplication;
  let dispatcher: INestApplication;
  let ingestUrl: string;
  let dispatcherUrl: string;
  let attempts: TopicTap;
  let dlq: TopicTap;
  const scope = new TestScope(kafka, 'e2e');
  const receiver = () => scope.receiver();
  const account = () => scope.account();
  const subscribe = (accountId: string, url: string, secret: string, events: EventType[] = [...EVENT_TYPES]) => scope.subscribe(dispatcherUrl, accountId, url, { secret, events });

  beforeAll(async () => {
    await ensurePlatformTopics();
    const env = appEnv(tag);
    dispatcher = await startDispatcher(loadDispatcherConfig(env));
    ingest = await startEventIngest(loadIngestConfig(env));
    dispatcherUrl = baseUrl(dispatcher);
    ingestUrl = baseUrl(ingest);
    await Promise.all([waitReady(dispatcherUrl), waitReady(ingestUrl)]);
    attempts = await kafka.tap(TOPICS.attempts, scope.owns);
    dlq = await kafka.tap(TOPICS.telephonyDlq, scope.owns);
  }, 120_000);

  afterAll(async () => {
    await scope.close();
    await Promise.allSettled([ingest?.close(), dispatcher?.close()]);
    await kafka.close();
  }, 60_000);

  it('delivers the seed page\'s three sample events byte-for-byte, signed, with every header', async () => {
    const r = await receiver();
    const accountId = account();
    const secret = `whsec_seed_${suffix()}`;
    const subscriptionId = await subscribe(accountId, `${r.url}/webhooks/odis`, secret);

    for (const type of EVENT_TYPES) await kafka.produceRaw(accountId, { ...SEED_EXAMPLES[type], account_id: accountId });
    await waitFor(() => distinct(r.requests).size >= 3, { timeoutMs: 30_000, message: 'three deliveries' });

    const pageBlocks = seedPageBlocks();
    const now = Math.floor(Date.now() / 1000);
    const byType = new Map([...distinct(r.requests).values()].map((req) => [String(req.headers['x-odis-event']), req]));
    for (const type of EVENT_TYPES) {
      const req = byType.get(type);
      if (!req) throw new Error(`no delivery of ${type}`);
      const body = req.body.toString('utf8');
      // Byte for byte: the page's printed block, and the contract's serialisation of the sample.
      expect(body).toBe(pageBlocks[type]);
      expect(req.body.equals(Buffer.from(serializeWebhookPayload(SEED_EXAMPLES[type]), 'utf8'))).toBe(true);
      expect(req.method).toBe('POST');
      expect(req.path).toBe('/webhooks/odis');
      const h = req.headers;
      expect(h['content-type']).toBe('application/json');
      expect(h['user-agent']).toBe('ODIS-Webhooks/1.0');
      expect(h['x-odis-event']).toBe(type);
      expect(h['x-odis-event-id']).toMatch(/^evt_[0-9a-z]{26}$/);
      expect(h['x-odis-delivery-id']).toBe(deliveryIdFor(String(h['x-odis-event-id']), subscriptionId));
      expect(h['x-odis-attempt']).toBe('1');
      expect(h['webhook-id']).toBe(h['x-odis-delivery-id']);
      expect(Math.abs(Number(h['webhook-timestamp']) - now)).toBeLessThan(300);
      expect(h['content-length']).toBe(String(req.body.length));
      // The seed's own verification code accepts the signature …
      expect(verifyWebhook(body, String(h['x-odis-signature']), secret)).toBe(true);
      expect(verifyWebhook(body, String(h['x-odis-signature']), 'wrong-secret')).toBe(false);
      // … and so do receiver-kit and an independent Standard Webhooks check.
      const whsec = `whsec_${Buffer.from(secret).toString('base64')}`;
      expect(verifyOdisSignature(req.body, String(h['x-odis-signature']), secret)).toBe(true);
      expect(verifyStandardWebhook(req.body, h, whsec)).toBe(true);
      expect(verifyStandard(req.body, h, whsec)).toBe(true);
    }

    // Every attempt is recorded.
    await waitFor(() => attempts.json<AttemptRecord>().filter((a) => a.subscription_id === subscriptionId).length >= 3, { timeoutMs: 15_000 });
    const records = attempts.json<AttemptRecord>().filter((a) => a.subscription_id === subscriptionId);
    expect(new Set(records.map((a) => a.outcome))).toEqual(new Set(['succeeded']));
    expect(new Set(records.map((a) => a.delivery_id))).toEqual(new Set([...distinct(r.requests).keys()]));
    for (const a of records) expect(a).toMatchObject({ attempt: 1, status_code: 200, error_class: null, next_attempt_at: null });
  }, 60_000);

  it('dead-letters every kind of invalid input with its reason and original bytes; none reaches a receiver', async () => {
    const r = await receiver();
    const accountId = account();
    await subscribe(accountId, `${r.url}/hook`, `secret_${suffix()}`);
    const valid = { ...SEED_EXAMPLES['call.started'], account_id: accountId };
    const invalid: Array<{ code: string; bytes: Buffer }> = [
      { code: 'not_json', bytes: Buffer.from('{"event": "call.started", oops') },
      { code: 'unknown_event_type', bytes: Buffer.from(JSON.stringify({ ...valid, event: 'call.transferred' })) },
      { code: 'invalid_data', bytes: Buffer.from(JSON.stringify({ ...valid, data: { ...valid.data, from: 'not-a-phone' } })) },
      { code: 'invalid_envelope', bytes: Buffer.from(JSON.stringify({ ...valid, timestamp: 'last tuesday' })) },
      { code: 'too_large', bytes: Buffer.from(JSON.stringify({ ...valid, data: { ...valid.data, padding: 'x'.repeat(300 * 1024) } })) },
    ];
    for (const { bytes } of invalid) await kafka.produceRaw(accountId, bytes);
    await kafka.produceRaw(accountId, { ...valid, id: `sentinel-${suffix()}` });

    await dlq.waitForCount(invalid.length, 30_000, 'dead letters');
    await r.waitForCount(1, 30_000);
    const letters = dlq.records.filter((m) => m.key?.toString() === accountId);
    expect(letters).toHaveLength(invalid.length);
    for (const { code, bytes } of invalid) {
      const letter = letters.find((m) => m.value?.equals(bytes));
      if (!letter) throw new Error(`no dead letter with the original bytes of the ${code} input`);
      expect(letter.headers[KAFKA_HEADERS.dlqReason]).toMatch(new RegExp(`^${code}: `));
      expect(letter.headers[KAFKA_HEADERS.dlqSourceTopic]).toBe(TOPICS.telephonyRaw);
      expect(letter.headers[KAFKA_HEADERS.dlqSourceOffset]).toMatch(/^\d+$/);
    }
    expect(letters.find((m) => m.headers[KAFKA_HEADERS.dlqReason].startsWith('invalid_data'))?.headers[KAFKA_HEADERS.dlqReason]).toContain('data.from');

    // The sentinel (produced after them on the same partition) arrived; give stragglers a moment.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(distinct(r.requests).size).toBe(1);
    expect(JSON.parse(r.requests[0].body.toString()).event).toBe('call.started');
    const stats = (await (await fetch(`${ingestUrl}/stats`)).json()) as { rejected: Record<string, number> };
    for (const { code } of invalid) expect(stats.rejected[code]).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it('POST /v1/events: 202 with the event id once stored, then delivered under that id', async () => {
    const r = await receiver();
    const accountId = account();
    await subscribe(accountId, `${r.url}/hook`, `secret_${suffix()}`, ['appointment.created']);
    const res = await fetch(`${ingestUrl}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_INGEST_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ...SEED_EXAMPLES['appointment.created'], account_id: accountId, id: `crm-${suffix()}` }),
    });
    expect(res.status).toBe(202);
    const { event_id } = (await res.json()) as { event_id: string };
    await r.waitForCount(1, 30_000);
    expect(r.requests[0].headers['x-odis-event-id']).toBe(event_id);
    expect(r.requests[0].body.toString()).toBe(serializeWebhookPayload(SEED_EXAMPLES['appointment.created']));
  }, 60_000);
});

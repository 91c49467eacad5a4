import { describe, expect, it, jest } from '@jest/globals';
import { DeliveryJobCodec, TOPICS } from '@odis/contracts';
import { ApiError } from '@odis/platform';
import type { SubscriptionState, SubscriptionStore } from '@odis/subscriptions';
import type { DeliveryLogRepository } from './delivery-log.repository.js';
import { DELIVERY_JOB_ACK_TIMEOUT_MS, DeliveryJobQueue, type DeliveryJobSink } from './delivery-job.queue.js';
import { RedeliveryService } from './redelivery.service.js';

const webhook = {
  id: 'wh_1',
  accountId: 'acct_1',
  url: 'https://clinic.example/new-hook',
  secretEncrypted: 'sealed-current',
  status: 'active',
  deletedAt: null,
} as unknown as SubscriptionState;
const body = '{"type":"call.started","id":"evt_1","data":{"x":"é"}}';
type Stored = Awaited<ReturnType<DeliveryLogRepository['deliveryBody']>>;
const storedBody: Stored = { kind: 'stored', body, eventId: 'evt_1', eventType: 'call.started' };

function serviceWith(opts: { state?: SubscriptionState | null; stored?: Stored; send?: DeliveryJobSink['send'] } = {}) {
  const sent: { topic: string; value: string; key: string }[] = [];
  const store = { get: async () => (opts.state === undefined ? webhook : opts.state) } as unknown as SubscriptionStore;
  const log = { deliveryBody: async () => opts.stored ?? storedBody } as unknown as DeliveryLogRepository;
  const sink: DeliveryJobSink = {
    send:
      opts.send ??
      (async (topic, messages) => {
        for (const m of messages) sent.push({ topic, value: m.value, key: m.key });
      }),
  };
  return { service: new RedeliveryService(store, log, new DeliveryJobQueue(sink)), sent };
}

async function rejection(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  throw new Error('expected a rejection');
}

describe('RedeliveryService', () => {
  const now = new Date('2026-01-02T03:04:05.000Z');

  it('queues a manual attempt 1 with the same body bytes and event id, a new delivery id, the current url and secret', async () => {
    const { service, sent } = serviceWith();
    const answer = await service.redeliver('acct_1', 'wh_1', 'dlv_orig', now);
    expect(sent).toHaveLength(1);
    expect(sent[0].topic).toBe(TOPICS.deliveries);
    expect(sent[0].key).toBe('wh_1');
    const decoded = DeliveryJobCodec.decode(sent[0].value);
    expect(decoded.ok).toBe(true);
    const job = decoded.ok ? decoded.value : null;
    expect(job).toMatchObject({
      delivery_id: answer.id,
      event_id: 'evt_1',
      event_type: 'call.started',
      account_id: 'acct_1',
      subscription_id: 'wh_1',
      url: 'https://clinic.example/new-hook',
      secret_encrypted: 'sealed-current',
      body,
      attempt: 1,
      due_at: now.getTime(),
      manual: true,
      previous_attempts: [],
    });
    expect(answer).toMatchObject({ object: 'delivery', status: 'queued', event_id: 'evt_1', manual: true, redelivery_of: 'dlv_orig', webhook_id: 'wh_1' });
    expect(answer.id).toMatch(/^dlv_/);
    expect(answer.id).not.toBe('dlv_orig');
    const second = await service.redeliver('acct_1', 'wh_1', 'dlv_orig', now);
    expect(second.id).not.toBe(answer.id);
  });

  it('refuses: unknown or deleted webhook and unknown delivery → 404, disabled webhook → 409, body not stored → 409', async () => {
    expect((await rejection(serviceWith({ state: null }).service.redeliver('acct_1', 'wh_x', 'dlv_1'))).status).toBe(404);
    expect((await rejection(serviceWith({ state: { ...webhook, deletedAt: new Date() } }).service.redeliver('acct_1', 'wh_1', 'dlv_1'))).status).toBe(404);
    const absent = await rejection(serviceWith({ stored: { kind: 'absent' } }).service.redeliver('acct_1', 'wh_1', 'dlv_x'));
    expect(absent).toMatchObject({ status: 404, message: 'no delivery with id dlv_x' });
    const disabled = await rejection(serviceWith({ state: { ...webhook, status: 'disabled' } }).service.redeliver('acct_1', 'wh_1', 'dlv_1'));
    expect(disabled).toMatchObject({ status: 409, code: 'webhook_disabled' });
    const old = await rejection(serviceWith({ stored: { kind: 'not_stored' } }).service.redeliver('acct_1', 'wh_1', 'dlv_1'));
    expect(old).toMatchObject({ status: 409, code: 'body_not_stored' });
    expect(old.message).toContain('not stored');
  });

  it('answers 503 with Retry-After when Kafka refuses or does not acknowledge in time', async () => {
    const refused = serviceWith({ send: async () => Promise.reject(new Error('Connection error: ECONNREFUSED')) });
    expect(await rejection(refused.service.redeliver('acct_1', 'wh_1', 'dlv_1'))).toMatchObject({ status: 503, headers: { 'Retry-After': '2' } });

    jest.useFakeTimers();
    try {
      const hanging = serviceWith({ send: () => new Promise<void>(() => undefined) });
      const pending = rejection(hanging.service.redeliver('acct_1', 'wh_1', 'dlv_1'));
      await jest.advanceTimersByTimeAsync(DELIVERY_JOB_ACK_TIMEOUT_MS + 1);
      expect(await pending).toMatchObject({ status: 503, code: 'service_unavailable' });
    } finally {
      jest.useRealTimers();
    }
  });
});

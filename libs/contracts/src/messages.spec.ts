import { describe, expect, it } from '@jest/globals';
import {
  AttemptRecordCodec,
  DeliveryJobCodec,
  ExhaustedDeliveryCodec,
  SubscriptionSnapshotCodec,
  ValidatedEventCodec,
  type AttemptRecord,
  type DeliveryJob,
  type ExhaustedDelivery,
  type SubscriptionSnapshot,
  type ValidatedEventMessage,
} from './messages.js';

const at = '2024-01-15T10:30:00.000Z';
const ref = {
  delivery_id: 'dlv_1',
  event_id: 'evt_1',
  event_type: 'call.started' as const,
  account_id: 'acc_1',
  subscription_id: 'wh_1',
  url: 'https://example.com/hook',
};
const event: ValidatedEventMessage = { v: 1, event_id: 'evt_1', account_id: 'acc_1', event: 'call.started', timestamp: '2024-01-15T10:30:00Z', data: { call_id: 'c1' }, received_at: at };
const snapshot: SubscriptionSnapshot = { v: 1, id: 'wh_1', account_id: 'acc_1', url: ref.url, events: ['call.started'], status: 'active', secret_encrypted: 'v1.x', version: 3, disabled_reason: null, updated_at: at };
const job: DeliveryJob = { v: 1, ...ref, secret_encrypted: 'v1.x', body: '{"a":1}', attempt: 2, due_at: 1000, created_at: at, previous_attempts: [] };
const summary = { attempt: 1, attempted_at: at, outcome: 'failed' as const, status_code: 503, error_class: 'http_status', error_message: null, duration_ms: 12 };
const record: AttemptRecord = { v: 1, attempt_id: 'att_1', ...ref, attempt: 1, outcome: 'failed', status_code: 503, error_class: 'http_status', error_message: 'HTTP 503', duration_ms: 12, response_excerpt: null, attempted_at: at, next_attempt_at: 61_000 };
const exhausted: ExhaustedDelivery = { v: 1, ...ref, attempts: [summary], exhausted_at: at };

describe('message codecs', () => {
  it('validated event: keyed by account id, schema, event type and event id headers', () => {
    const m = ValidatedEventCodec.encode(event);
    expect(m).toEqual({
      key: 'acc_1',
      value: JSON.stringify(event),
      headers: { 'odis-schema': 'validated-event.v1', 'odis-event-type': 'call.started', 'odis-event-id': 'evt_1' },
    });
    expect(Object.keys(m.headers)).toEqual(['odis-schema', 'odis-event-type', 'odis-event-id']);
    expect(ValidatedEventCodec.decode(Buffer.from(m.value))).toEqual({ ok: true, value: event });
  });

  it('subscription snapshot: keyed by webhook id, no headers (it travels through the outbox), tombstone under the id', () => {
    const m = SubscriptionSnapshotCodec.encode(snapshot);
    expect(m).toEqual({ key: 'wh_1', value: JSON.stringify(snapshot), headers: {} });
    expect(SubscriptionSnapshotCodec.decode(m.value)).toEqual({ ok: true, value: snapshot });
    expect(SubscriptionSnapshotCodec.tombstone('wh_1')).toEqual({ key: 'wh_1', value: null });
    expect(SubscriptionSnapshotCodec.decode(null)).toEqual({ ok: false, reason: 'empty message value' });
  });

  it.each([
    ['delivery job', DeliveryJobCodec, job, 'delivery-job.v1'],
    ['attempt record', AttemptRecordCodec, record, 'attempt-record.v1'],
    ['exhausted delivery', ExhaustedDeliveryCodec, exhausted, 'exhausted-delivery.v1'],
  ] as const)('%s: keyed by subscription id, schema and delivery id headers, round trip', (_name, codec, message, schema) => {
    const m = (codec.encode as (x: unknown) => { key: string; value: string; headers: Record<string, string> })(message);
    expect(m).toEqual({ key: 'wh_1', value: JSON.stringify(message), headers: { 'odis-schema': schema, 'odis-delivery-id': 'dlv_1' } });
    expect(Object.keys(m.headers)).toEqual(['odis-schema', 'odis-delivery-id']);
    expect(codec.schemaName).toBe(schema);
    expect(codec.decode(Buffer.from(m.value))).toEqual({ ok: true, value: message });
  });

  it('decode reports what is wrong instead of throwing', () => {
    const r = DeliveryJobCodec.decode('{"v":1}');
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toContain('delivery_id');
    expect(DeliveryJobCodec.decode('not json').ok).toBe(false);
  });

  it('a delivery job without previous_attempts decodes with the default', () => {
    const { previous_attempts: _p, ...bare } = job;
    expect(DeliveryJobCodec.decode(JSON.stringify(bare))).toEqual({ ok: true, value: job });
  });
});

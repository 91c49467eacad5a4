import { describe, expect, it } from '@jest/globals';
import { SubscriptionSnapshotCodec, type SubscriptionSnapshot } from './messages.js';

const at = '2024-01-15T10:30:00.000Z';
const base: SubscriptionSnapshot = { v: 1, id: 'wh_1', account_id: 'acc_1', url: 'https://example.com/hook', events: ['call.started'], status: 'active', secret_encrypted: 'enc:v1:new', version: 4, disabled_reason: null, updated_at: at };

describe('subscription snapshot: previous secret of a rotation (decision 0010)', () => {
  it('round-trips the previous secret with its expiry', () => {
    const snapshot: SubscriptionSnapshot = { ...base, previous_secret: { secret_encrypted: 'enc:v1:old', expires_at: '2024-01-16T10:30:00.000Z' } };
    const m = SubscriptionSnapshotCodec.encode(snapshot);
    expect(SubscriptionSnapshotCodec.decode(m.value)).toEqual({ ok: true, value: snapshot });
  });
  it('an older snapshot without the field, or with null, still decodes', () => {
    expect(SubscriptionSnapshotCodec.decode(JSON.stringify(base))).toEqual({ ok: true, value: base });
    expect(SubscriptionSnapshotCodec.decode(JSON.stringify({ ...base, previous_secret: null }))).toEqual({ ok: true, value: { ...base, previous_secret: null } });
  });
  it('refuses a previous secret without a valid expiry', () => {
    const bad = SubscriptionSnapshotCodec.decode(JSON.stringify({ ...base, previous_secret: { secret_encrypted: 'enc:v1:old', expires_at: 'tomorrow' } }));
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.reason).toMatch(/previous_secret/);
  });
});

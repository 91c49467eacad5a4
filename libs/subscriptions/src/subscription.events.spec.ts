import { describe, expect, it } from '@jest/globals';
import { applySubscriptionEvent, decideChanges, disableCauseOf, isExhaustionReason, type SubscriptionEvent, type SubscriptionState } from './subscription.events.js';

const at = new Date('2026-01-01T00:00:00Z');
const meta = (version: number) => ({ id: 'wh_1', accountId: 'acct_1', version, at: new Date(at.getTime() + version * 1000) });

function fold(events: SubscriptionEvent[]): SubscriptionState {
  return events.reduce<SubscriptionState | null>((s, e, i) => applySubscriptionEvent(s, e, meta(i + 1)), null)!;
}

const created: SubscriptionEvent = {
  type: 'created',
  data: { url: 'https://a.example/h', events: ['call.started'], description: null, secret_encrypted: 'enc:1', secret_hint: 'cret' },
};

describe('applySubscriptionEvent', () => {
  it('folds a whole lifecycle', () => {
    const s = fold([
      created,
      { type: 'updated', data: { events: ['call.started', 'call.ended'] } },
      { type: 'disabled', data: { reason: '5 failed attempts' } },
      { type: 'enabled', data: {} },
      { type: 'secret_rotated', data: { secret_encrypted: 'enc:2', secret_hint: 'abcd' } },
    ]);
    expect(s).toMatchObject({ version: 5, status: 'active', disabledReason: null, events: ['call.started', 'call.ended'], secretEncrypted: 'enc:2', secretHint: 'abcd' });
    expect(s.createdAt).toEqual(meta(1).at);
    expect(s.updatedAt).toEqual(meta(5).at);
  });

  it('secret_reencrypted replaces only the ciphertext (same secret, same hint), superseding older ciphertexts', () => {
    const s = fold([created, { type: 'secret_reencrypted', data: { secret_encrypted: 'enc:new-key' } }]);
    expect(s).toMatchObject({ version: 2, secretEncrypted: 'enc:new-key', secretHint: 'cret', status: 'active' });
  });

  it('records why and when it was disabled', () => {
    const s = fold([created, { type: 'disabled', data: { reason: 'r' } }]);
    expect(s).toMatchObject({ status: 'disabled', disabledReason: 'r', disabledAt: meta(2).at });
  });

  it('refuses events on a deleted subscription and a second create', () => {
    const s = fold([created, { type: 'deleted', data: {} }]);
    expect(s.deletedAt).toEqual(meta(2).at);
    expect(() => applySubscriptionEvent(s, { type: 'enabled', data: {} }, meta(3))).toThrow(/deleted/);
    expect(() => applySubscriptionEvent(fold([created]), created, meta(2))).toThrow(/already exists/);
  });
});

describe('decideChanges', () => {
  const state = fold([created]);
  it('emits nothing for a no-op PATCH', () => {
    expect(decideChanges(state, { url: state.url, events: ['call.started'], status: 'active' })).toEqual([]);
  });
  it('emits only the changed fields, then status events', () => {
    expect(decideChanges(state, { url: 'https://b.example/h', events: ['call.started'], status: 'disabled' })).toEqual([
      { type: 'updated', data: { url: 'https://b.example/h' } },
      { type: 'disabled', data: { reason: 'disabled by the account', cause: 'owner' } },
    ]);
  });
  it('re-enables a disabled webhook', () => {
    const disabled = fold([created, { type: 'disabled', data: { reason: 'x' } }]);
    expect(decideChanges(disabled, { status: 'active' })).toEqual([{ type: 'enabled', data: {} }]);
  });
  it('rotates the secret', () => {
    expect(decideChanges(state, { secret: { encrypted: 'enc:9', hint: 'wxyz' } })).toEqual([
      { type: 'secret_rotated', data: { secret_encrypted: 'enc:9', secret_hint: 'wxyz' } },
    ]);
  });
});

describe('disableCauseOf', () => {
  it('reads the cause from the data', () => {
    expect(disableCauseOf({ reason: 'disabled by the account', cause: 'owner' })).toBe('owner');
    expect(disableCauseOf({ reason: 'anything', cause: 'exhausted', exhaustion: { delivery_id: 'd', failed_attempts: 5, last_error: 'timeout' } })).toBe('exhausted');
    expect(disableCauseOf({ reason: '5 failed delivery attempts; last error: HTTP 500', cause: 'owner' })).toBe('owner');
  });

  it('reads events written before the cause was data from their text', () => {
    expect(disableCauseOf({ reason: '5 failed delivery attempts; last error: HTTP 500' })).toBe('exhausted');
    expect(disableCauseOf({ reason: 'disabled by the account' })).toBe('owner');
    expect(isExhaustionReason('5 failed delivery attempts; last error: timeout')).toBe(true);
    expect(isExhaustionReason(null)).toBe(false);
  });
});

describe('custom headers (decision 0013)', () => {
  it('are set at create, replaced as a whole by an update, and only a real change is an event', () => {
    const withHeaders: SubscriptionEvent = { type: 'created', data: { ...(created.data as object), headers: { 'X-A': '1' } } as never };
    const s = fold([withHeaders]);
    expect(s.headers).toEqual({ 'X-A': '1' });
    expect(fold([created]).headers).toEqual({});
    expect(decideChanges(s, { headers: { 'X-A': '1' } })).toEqual([]);
    const change = decideChanges(s, { headers: { 'X-B': '2' } });
    expect(change).toEqual([{ type: 'updated', data: { headers: { 'X-B': '2' } } }]);
    expect(fold([withHeaders, ...change]).headers).toEqual({ 'X-B': '2' });
    expect(fold([withHeaders, ...decideChanges(s, { headers: {} })]).headers).toEqual({});
    expect(decideChanges({ ...s, headers: undefined }, { headers: {} })).toEqual([]);
  });
});

describe('rate limit (decision 0013)', () => {
  it('set at create, changed or removed by an update; the same value is no event', () => {
    const limited: SubscriptionEvent = { type: 'created', data: { ...(created.data as object), rate_limit_per_second: 20 } as never };
    const s = fold([limited]);
    expect(s.rateLimitPerSecond).toBe(20);
    expect(fold([created]).rateLimitPerSecond).toBeNull();
    expect(decideChanges(s, { rateLimitPerSecond: 20 })).toEqual([]);
    const removed = decideChanges(s, { rateLimitPerSecond: null });
    expect(removed).toEqual([{ type: 'updated', data: { rate_limit_per_second: null } }]);
    expect(fold([limited, ...removed]).rateLimitPerSecond).toBeNull();
    expect(fold([limited, ...decideChanges(s, { rateLimitPerSecond: 5 })]).rateLimitPerSecond).toBe(5);
    expect(decideChanges({ ...s, rateLimitPerSecond: undefined }, { rateLimitPerSecond: null })).toEqual([]);
  });
});

import { describe, expect, it } from '@jest/globals';
import { applySubscriptionEvent, decideChanges, decideRotation, type SubscriptionEvent, type SubscriptionState } from './subscription.events.js';
import { toSnapshot } from './subscription.store.js';

const t0 = new Date('2026-01-01T00:00:00Z');
const meta = (version: number, at: Date) => ({ id: 'wh_1', accountId: 'acct_1', version, at });
const created: SubscriptionEvent = {
  type: 'created',
  data: { url: 'https://a.example/h', events: ['call.started'], description: null, secret_encrypted: 'enc:old', secret_hint: 'oldd' },
};
const later = (ms: number) => new Date(t0.getTime() + ms);

function rotated(overlapMs: number): SubscriptionState {
  const s1 = applySubscriptionEvent(null, created, meta(1, t0));
  const [event] = decideRotation({ encrypted: 'enc:new', hint: 'neww' }, overlapMs, later(1000));
  return applySubscriptionEvent(s1, event, meta(2, later(1000)));
}

describe('secret rotation events', () => {
  it('a rotation with overlap keeps the replaced ciphertext with its expiry; the snapshot carries both', () => {
    const s = rotated(60_000);
    expect(s).toMatchObject({ secretEncrypted: 'enc:new', secretHint: 'neww', previousSecretEncrypted: 'enc:old', previousSecretExpiresAt: later(61_000) });
    expect(toSnapshot(s)).toMatchObject({ secret_encrypted: 'enc:new', previous_secret: { secret_encrypted: 'enc:old', expires_at: later(61_000).toISOString() } });
  });

  it('overlap 0 (and PATCH secret) replace the secret at once', () => {
    expect(rotated(0)).toMatchObject({ secretEncrypted: 'enc:new', previousSecretEncrypted: null, previousSecretExpiresAt: null });
    expect(toSnapshot(rotated(0)).previous_secret).toBeNull();
    const s = rotated(60_000);
    const [patch] = decideChanges(s, { secret: { encrypted: 'enc:patched', hint: 'ched' } });
    expect(applySubscriptionEvent(s, patch, meta(3, later(2000)))).toMatchObject({ secretEncrypted: 'enc:patched', previousSecretEncrypted: null });
  });

  it('the next change after the overlap drops the previous secret; one during it keeps it', () => {
    const s = rotated(60_000);
    const update: SubscriptionEvent = { type: 'updated', data: { url: 'https://b.example/h' } };
    expect(applySubscriptionEvent(s, update, meta(3, later(30_000)))).toMatchObject({ previousSecretEncrypted: 'enc:old' });
    expect(applySubscriptionEvent(s, update, meta(3, later(61_000)))).toMatchObject({ previousSecretEncrypted: null, previousSecretExpiresAt: null });
  });

  it('a second rotation during the overlap keeps only the latest replaced secret', () => {
    const s = rotated(60_000);
    const [again] = decideRotation({ encrypted: 'enc:newer', hint: 'ewer' }, 3_600_000, later(2000));
    expect(applySubscriptionEvent(s, again, meta(3, later(2000)))).toMatchObject({
      secretEncrypted: 'enc:newer',
      previousSecretEncrypted: 'enc:new',
      previousSecretExpiresAt: later(3_602_000),
    });
  });

  it('secret_reencrypted re-seals the previous secret too, and never resurrects one that is gone', () => {
    const s = rotated(60_000);
    const re: SubscriptionEvent = { type: 'secret_reencrypted', data: { secret_encrypted: 'enc2:new', previous_secret_encrypted: 'enc2:old' } };
    expect(applySubscriptionEvent(s, re, meta(3, later(2000)))).toMatchObject({ secretEncrypted: 'enc2:new', previousSecretEncrypted: 'enc2:old', previousSecretExpiresAt: later(61_000) });
    expect(applySubscriptionEvent(rotated(0), re, meta(3, later(2000)))).toMatchObject({ secretEncrypted: 'enc2:new', previousSecretEncrypted: null });
  });
});

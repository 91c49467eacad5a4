import { describe, expect, it } from '@jest/globals';
import { SecretBox } from '@odis/contracts';
import { snapshot, testBox } from '../testing/fixtures.js';
import { RoutingTable } from './routing-table.js';
import { SubscriptionChangelogApplier } from './subscription-changelog.applier.js';

const box = testBox();
const rec = (key: string | null, value: unknown) => ({
  key: key === null ? null : Buffer.from(key),
  value: value === null ? null : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
});

function setup() {
  const table = new RoutingTable();
  const skipped: string[] = [];
  const applier = new SubscriptionChangelogApplier(table, (s, c) => box.decrypt(s, c), (reason) => skipped.push(reason));
  return { table, applier, skipped };
}

describe('SubscriptionChangelogApplier', () => {
  it('applies a snapshot with its secret decrypted once, and a tombstone deletes', () => {
    const { table, applier } = setup();
    expect(applier.apply(rec('wh_1', snapshot()))).toEqual({ kind: 'upserted' });
    const r = table.get('wh_1')!;
    expect(r.secret).toBe('whsec_plain_1');
    expect(r.endpoint).toBe('https://hooks.example.com');
    expect(table.match('acct_1', 'call.ended')).toEqual([r]);
    expect(applier.apply(rec('wh_1', null))).toEqual({ kind: 'deleted' });
    expect(table.get('wh_1')).toBeUndefined();
    expect(table.isDeleted('wh_1')).toBe(true);
    expect(applier.stats).toMatchObject({ applied: 1, deleted: 1, skipped: 0, undecryptable: 0 });
  });

  it('skips undecodable records without throwing: not JSON, wrong shape, bad secret, id/key mismatch, keyless tombstone', () => {
    const { table, applier, skipped } = setup();
    expect(applier.apply(rec('wh_x', '{nope')).kind).toBe('skipped');
    expect(applier.apply(rec('wh_x', { v: 1, id: 'wh_x' })).kind).toBe('skipped');
    const otherKey = SecretBox.fromBase64(Buffer.alloc(32, 9).toString('base64'));
    expect(applier.apply(rec('wh_2', snapshot({ id: 'wh_2' }, otherKey))).kind).toBe('skipped');
    expect(applier.apply(rec('wh_3', snapshot({ id: 'wh_4' }))).kind).toBe('skipped');
    expect(applier.apply(rec('wh_5', snapshot({ id: 'wh_5', url: 'not a url' }))).kind).toBe('skipped');
    expect(applier.apply(rec(null, null)).kind).toBe('skipped');
    expect(table.size).toBe(0);
    expect(skipped).toHaveLength(6);
    expect(skipped[0]).toMatch(/undecodable snapshot: not JSON/);
    expect(skipped[2]).toMatch(/secret does not decrypt/);
    expect(applier.stats.skipped).toBe(6);
  });

  it('an undecodable update of a known subscription drops it from routing (fail closed) without marking it deleted', () => {
    const { table, applier } = setup();
    applier.apply(rec('wh_1', snapshot()));
    applier.apply(rec('wh_1', '{"garbage": true}'));
    expect(table.get('wh_1')).toBeUndefined();
    expect(table.isDeleted('wh_1')).toBe(false);
    expect(table.match('acct_1', 'call.started')).toEqual([]);
  });

  it('follows disable and re-enable, and ignores a stale version', () => {
    const { table, applier } = setup();
    applier.apply(rec('wh_1', snapshot({ version: 1 })));
    applier.apply(rec('wh_1', snapshot({ version: 2, status: 'disabled', disabled_reason: '5 failed attempts' })));
    expect(table.match('acct_1', 'call.started')).toEqual([]);
    expect(applier.apply(rec('wh_1', snapshot({ version: 1 })))).toEqual({ kind: 'stale' });
    expect(table.match('acct_1', 'call.started')).toEqual([]);
    applier.apply(rec('wh_1', snapshot({ version: 3 })));
    expect(table.match('acct_1', 'call.started')).toHaveLength(1);
  });

  it('counts the webhooks whose secret no configured key decrypts, keeps them unrouted, and clears the count when fixed', () => {
    const { table, applier } = setup();
    const lost = SecretBox.fromBase64(Buffer.alloc(32, 8).toString('base64'));
    applier.apply(rec('wh_1', snapshot({ id: 'wh_1', version: 1 })));
    expect(applier.apply(rec('wh_1', snapshot({ id: 'wh_1', version: 2 }, lost))).kind).toBe('skipped');
    expect(applier.apply(rec('wh_2', snapshot({ id: 'wh_2', version: 1 }, lost))).kind).toBe('skipped');
    expect(applier.stats.undecryptable).toBe(2);
    expect(applier.undecryptable()).toMatchObject({ count: 2, ids: ['wh_1', 'wh_2'], keyIds: [SecretBox.keyId(Buffer.alloc(32, 8))] });
    // Fail closed: not routed, and a queued delivery sees an unreadable state.
    expect(table.match('acct_1', 'call.started')).toEqual([]);
    expect(table.isUnreadable('wh_1')).toBe(true);
    // A stale readable snapshot (older than the unreadable one) does not bring it back.
    expect(applier.apply(rec('wh_1', snapshot({ id: 'wh_1', version: 1 })))).toEqual({ kind: 'stale' });
    expect(applier.stats.undecryptable).toBe(2);
    // Re-encrypted (a newer snapshot under a known key) → routed again; deleted → no longer counted.
    expect(applier.apply(rec('wh_1', snapshot({ id: 'wh_1', version: 3 })))).toEqual({ kind: 'upserted' });
    expect(applier.apply(rec('wh_2', null))).toEqual({ kind: 'deleted' });
    expect(applier.stats.undecryptable).toBe(0);
    expect(table.match('acct_1', 'call.started').map((r) => r.id)).toEqual(['wh_1']);
  });

  it('ignores any snapshot of a deleted webhook (stale relay) without decrypting it', () => {
    const table = new RoutingTable();
    let decrypts = 0;
    const applier = new SubscriptionChangelogApplier(table, (s, c) => (decrypts++, box.decrypt(s, c)));
    applier.apply(rec('wh_1', snapshot({ version: 1 })));
    applier.apply(rec('wh_1', null));
    expect(applier.apply(rec('wh_1', snapshot({ version: 1 })))).toEqual({ kind: 'stale' });
    expect(applier.apply(rec('wh_1', snapshot({ version: 7 })))).toEqual({ kind: 'stale' });
    expect(applier.apply(rec('wh_1', '{"garbage": true}')).kind).toBe('skipped');
    expect(decrypts).toBe(1);
    expect(table.isDeleted('wh_1')).toBe(true);
    expect(table.isUnreadable('wh_1')).toBe(false);
    expect(table.match('acct_1', 'call.started')).toEqual([]);
  });
});

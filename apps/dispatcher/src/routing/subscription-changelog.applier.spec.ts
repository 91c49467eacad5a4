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
    expect(applier.stats).toMatchObject({ applied: 1, deleted: 1, skipped: 0 });
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
});

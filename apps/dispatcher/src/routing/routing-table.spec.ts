import { describe, expect, it } from '@jest/globals';
import { route } from '../testing/fixtures.js';
import { RoutingTable } from './routing-table.js';

describe('RoutingTable', () => {
  it('matches active subscriptions by account and event type', () => {
    const table = new RoutingTable();
    const a = route({ id: 'wh_a', events: ['call.started'] });
    const b = route({ id: 'wh_b', events: ['call.started', 'call.ended'] });
    const other = route({ id: 'wh_c', accountId: 'acct_2', events: ['call.started'] });
    table.upsert(a);
    table.upsert(b);
    table.upsert(other);
    expect(table.match('acct_1', 'call.started')).toEqual([a, b]);
    expect(table.match('acct_1', 'call.ended')).toEqual([b]);
    expect(table.match('acct_1', 'appointment.created')).toEqual([]);
    expect(table.match('acct_2', 'call.started')).toEqual([other]);
    expect(table.match('acct_unknown', 'call.started')).toEqual([]);
    expect(table.size).toBe(3);
  });

  it('a disabled subscription stops matching but stays known', () => {
    const table = new RoutingTable();
    table.upsert(route({ id: 'wh_a' }));
    expect(table.upsert(route({ id: 'wh_a', active: false, version: 2 }))).toBe('updated');
    expect(table.match('acct_1', 'call.started')).toEqual([]);
    expect(table.get('wh_a')?.active).toBe(false);
    expect(table.activeCount).toBe(0);
    table.upsert(route({ id: 'wh_a', active: true, version: 3 }));
    expect(table.match('acct_1', 'call.started').map((r) => r.id)).toEqual(['wh_a']);
  });

  it('an event type removed from a subscription stops matching', () => {
    const table = new RoutingTable();
    table.upsert(route({ id: 'wh_a', events: ['call.started', 'call.ended'] }));
    table.upsert(route({ id: 'wh_a', events: ['call.ended'], version: 2 }));
    expect(table.match('acct_1', 'call.started')).toEqual([]);
    expect(table.match('acct_1', 'call.ended').map((r) => r.id)).toEqual(['wh_a']);
  });

  it('ignores an older version than the one it holds', () => {
    const table = new RoutingTable();
    table.upsert(route({ id: 'wh_a', version: 5, url: 'https://new.example.com/' }));
    expect(table.upsert(route({ id: 'wh_a', version: 4, url: 'https://old.example.com/' }))).toBe('stale');
    expect(table.get('wh_a')?.url).toBe('https://new.example.com/');
  });

  it('deletes are final: no snapshot after a tombstone resurrects the webhook, whatever its version', () => {
    const table = new RoutingTable();
    table.upsert(route({ id: 'wh_a', version: 3 }));
    expect(table.remove('wh_a')).toBe('removed');
    expect(table.match('acct_1', 'call.started')).toEqual([]);
    expect(table.get('wh_a')).toBeUndefined();
    expect(table.isDeleted('wh_a')).toBe(true);
    expect(table.deletedVersion('wh_a')).toBe(3);
    for (const version of [1, 3, 4, 9]) {
      expect(table.accepts('wh_a', version)).toBe(false);
      expect(table.upsert(route({ id: 'wh_a', version }))).toBe('stale');
    }
    expect(table.isDeleted('wh_a')).toBe(true);
    expect(table.get('wh_a')).toBeUndefined();
    expect(table.match('acct_1', 'call.started')).toEqual([]);
    // A tombstone for an id never seen (deleted before this table started) is final too.
    expect(table.remove('wh_zzz')).toBe('unknown');
    expect(table.deletedVersion('wh_zzz')).toBeNull();
    expect(table.upsert(route({ id: 'wh_zzz', version: 1 }))).toBe('stale');
    expect(table.remove('wh_b', { tombstone: false })).toBe('unknown');
    expect(table.isDeleted('wh_b')).toBe(false);
  });

  it('never mutates an array a caller holds (copy on write)', () => {
    const table = new RoutingTable();
    table.upsert(route({ id: 'wh_a' }));
    const held = table.match('acct_1', 'call.started');
    table.upsert(route({ id: 'wh_b' }));
    table.remove('wh_a');
    expect(held.map((r) => r.id)).toEqual(['wh_a']);
    expect(table.match('acct_1', 'call.started').map((r) => r.id)).toEqual(['wh_b']);
  });

  it('holds 100,000 subscriptions and matches in constant time', () => {
    const table = new RoutingTable();
    for (let i = 0; i < 100_000; i++) table.upsert(route({ id: `wh_${i}`, accountId: `acct_${i % 20_000}`, url: `https://h${i}.example.com/x` }));
    expect(table.size).toBe(100_000);
    expect(table.match('acct_7', 'call.ended')).toHaveLength(5);
  });

  it('an unreadable id is not routed, and only a readable snapshot at least as new brings it back', () => {
    const table = new RoutingTable();
    table.upsert(route({ id: 'wh_a', version: 2 }));
    expect(table.remove('wh_a', { tombstone: false, version: 5 })).toBe('removed');
    expect(table.isUnreadable('wh_a')).toBe(true);
    expect(table.isDeleted('wh_a')).toBe(false);
    expect(table.accepts('wh_a', 4)).toBe(false);
    expect(table.upsert(route({ id: 'wh_a', version: 4 }))).toBe('stale');
    expect(table.upsert(route({ id: 'wh_a', version: 5 }))).toBe('added');
    expect(table.isUnreadable('wh_a')).toBe(false);
    expect(table.match('acct_1', 'call.started').map((r) => r.id)).toEqual(['wh_a']);
    // A tombstone of an unreadable id is final and clears the unreadable mark.
    table.remove('wh_b', { tombstone: false, version: 1 });
    table.remove('wh_b');
    expect(table.isUnreadable('wh_b')).toBe(false);
    expect(table.isDeleted('wh_b')).toBe(true);
  });
});

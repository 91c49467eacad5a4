import { describe, expect, it } from '@jest/globals';
import { deliveryIdFor, eventIdFor, newId, stableId } from './ids.js';

describe('ids', () => {
  it('random ids carry their prefix and 26 base32 chars', () => {
    const a = newId('wh');
    expect(a).toMatch(/^wh_[0-9a-hjkmnp-tv-z]{26}$/);
    expect(newId('wh')).not.toBe(a);
  });

  it('stable ids are deterministic and separate their parts', () => {
    expect(stableId('dlv', 'a', 'b')).toBe(stableId('dlv', 'a', 'b'));
    expect(stableId('dlv', 'ab', '')).not.toBe(stableId('dlv', 'a', 'b'));
  });

  it("event ids follow the producer's id within its account, else the raw position", () => {
    const a = eventIdFor({ accountId: 'acct_1', producerId: 'p-1', rawPosition: '0:1' });
    expect(eventIdFor({ accountId: 'acct_1', producerId: 'p-1', rawPosition: '3:99' })).toBe(a);
    expect(eventIdFor({ accountId: 'acct_2', producerId: 'p-1', rawPosition: '0:1' })).not.toBe(a);
    expect(eventIdFor({ accountId: 'acct_1', rawPosition: '0:1' })).toBe(eventIdFor({ accountId: 'acct_1', rawPosition: '0:1' }));
  });

  it('delivery ids are one per (event, subscription)', () => {
    expect(deliveryIdFor('evt_1', 'wh_1')).toBe(deliveryIdFor('evt_1', 'wh_1'));
    expect(deliveryIdFor('evt_1', 'wh_2')).not.toBe(deliveryIdFor('evt_1', 'wh_1'));
  });
});

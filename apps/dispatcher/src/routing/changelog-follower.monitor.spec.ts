import { describe, expect, it } from '@jest/globals';
import { ChangelogFollowerMonitor } from './changelog-follower.monitor.js';

const ends = (...e: [number, number][]) => new Map(e.map(([p, o]) => [p, BigInt(o)]));

describe('ChangelogFollowerMonitor', () => {
  it('is red when the follower is not running', () => {
    const m = new ChangelogFollowerMonitor(1_000);
    expect(m.health(0, false)).toEqual({ ok: false, detail: 'follower is not running' });
    expect(m.health(0, true).ok).toBe(true);
  });

  it('stays green while each end seen is reached within the bound, even if the topic keeps moving', () => {
    const m = new ChangelogFollowerMonitor(1_000);
    m.delivered(0, '9');
    m.observeEnds(ends([0, 10]), 0);
    expect(m.health(0, true)).toEqual({ ok: true, detail: 'following, at the end' });
    for (let t = 1; t <= 10; t++) {
      m.observeEnds(ends([0, 10 + t]), t * 500);
      expect(m.health(t * 500, true)).toMatchObject({ ok: true, detail: 'following, 1 records to apply' });
      m.delivered(0, String(9 + t));
    }
  });

  it('turns red when an end seen is not reached within the bound, and green again once reached', () => {
    const m = new ChangelogFollowerMonitor(1_000);
    m.delivered(0, '4');
    m.observeEnds(ends([0, 5], [1, 8]), 0);
    expect(m.health(900, true).ok).toBe(true);
    m.observeEnds(ends([0, 5], [1, 8]), 900);
    const red = m.health(1_500, true);
    expect(red.ok).toBe(false);
    expect(red.detail).toMatch(/8 records behind/);
    m.delivered(1, '7');
    expect(m.health(1_600, true)).toEqual({ ok: true, detail: 'following, at the end' });
  });

  it('turns red when the end offsets cannot be read for longer than the bound', () => {
    const m = new ChangelogFollowerMonitor(1_000);
    m.observeEnds(ends(), 0);
    m.probeFailed('connect ECONNREFUSED', 500);
    expect(m.health(900, true).ok).toBe(true);
    expect(m.health(1_200, true)).toMatchObject({ ok: false, detail: expect.stringMatching(/cannot read the end offsets.*ECONNREFUSED/) });
    m.observeEnds(ends(), 1_300);
    expect(m.health(1_300, true).ok).toBe(true);
  });
});

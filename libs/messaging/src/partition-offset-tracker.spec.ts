import { describe, expect, it } from '@jest/globals';
import { PartitionOffsetTracker } from './partition-offset-tracker.js';

describe('PartitionOffsetTracker', () => {
  it('has nothing to commit before anything settles', () => {
    const t = new PartitionOffsetTracker();
    expect(t.nextCommitOffset()).toBeNull();
    expect(t.hasUncommitted()).toBe(false);
    t.track('5');
    expect(t.nextCommitOffset()).toBeNull();
    expect(t.firstUnsettled()).toBe('5');
    expect(t.pendingCount).toBe(1);
  });

  it('advances over settled offsets in order', () => {
    const t = new PartitionOffsetTracker();
    for (const o of ['10', '11', '12']) t.track(o);
    expect(t.settle('10')).toBe(true);
    expect(t.nextCommitOffset()).toBe('11');
    expect(t.settle('11')).toBe(true);
    expect(t.settle('12')).toBe(true);
    expect(t.nextCommitOffset()).toBe('13');
    expect(t.lastSettledInPrefix()).toBe('12');
    expect(t.firstUnsettled()).toBeNull();
    expect(t.pendingCount).toBe(0);
  });

  it('holds the prefix at the first unsettled offset when later ones finish first', () => {
    const t = new PartitionOffsetTracker();
    for (const o of ['0', '1', '2', '3', '4']) t.track(o);
    expect(t.settle('3')).toBe(false);
    expect(t.settle('1')).toBe(false);
    expect(t.settle('4')).toBe(false);
    expect(t.nextCommitOffset()).toBeNull();
    expect(t.firstUnsettled()).toBe('0');
    // The head settles: the prefix jumps over everything settled behind it, up to the hole at 2.
    expect(t.settle('0')).toBe(true);
    expect(t.nextCommitOffset()).toBe('2');
    expect(t.firstUnsettled()).toBe('2');
    expect(t.settle('2')).toBe(true);
    expect(t.nextCommitOffset()).toBe('5');
  });

  it('handles offset gaps (compaction, transaction markers)', () => {
    const t = new PartitionOffsetTracker();
    for (const o of ['100', '103', '107']) t.track(o);
    t.settle('103');
    t.settle('100');
    expect(t.nextCommitOffset()).toBe('104');
    expect(t.firstUnsettled()).toBe('107');
  });

  it('a never-settled (deferred/abandoned) offset blocks commits of everything after it', () => {
    const t = new PartitionOffsetTracker();
    for (let i = 0; i < 50; i++) t.track(String(i));
    for (let i = 0; i < 50; i++) if (i !== 20) t.settle(String(i));
    expect(t.nextCommitOffset()).toBe('20');
    expect(t.isPending('20')).toBe(true);
    expect(t.isPending('21')).toBe(false);
    expect(t.pendingCount).toBe(1);
  });

  it('tracks what was committed', () => {
    const t = new PartitionOffsetTracker();
    t.track('0');
    t.track('1');
    t.settle('0');
    expect(t.hasUncommitted()).toBe(true);
    t.markCommitted(t.nextCommitOffset()!);
    expect(t.hasUncommitted()).toBe(false);
    expect(t.committedOffset()).toBe('1');
    t.settle('1');
    expect(t.hasUncommitted()).toBe(true);
    t.markCommitted('2');
    t.markCommitted('1'); // never moves back
    expect(t.committedOffset()).toBe('2');
  });

  it('settling twice is harmless, settling an unknown offset is an error', () => {
    const t = new PartitionOffsetTracker();
    t.track('7');
    t.track('8');
    expect(t.settle('8')).toBe(false);
    expect(t.settle('8')).toBe(false);
    expect(t.settle('7')).toBe(true);
    expect(t.settle('7')).toBe(false); // already popped
    expect(() => t.settle('9')).toThrow(RangeError);
    expect(() => t.settle('3')).not.toThrow(); // below the prefix: already settled
  });

  it('rejects offsets out of order and malformed offsets', () => {
    const t = new PartitionOffsetTracker();
    t.track('5');
    expect(() => t.track('5')).toThrow(RangeError);
    expect(() => t.track('4')).toThrow(RangeError);
    expect(() => t.track('-1')).toThrow(RangeError);
    expect(() => t.track('abc')).toThrow(RangeError);
  });

  it('works with int64 offsets beyond Number.MAX_SAFE_INTEGER', () => {
    const t = new PartitionOffsetTracker();
    const base = 9007199254740993n; // 2^53 + 1
    t.track(base.toString());
    t.track((base + 1n).toString());
    t.settle((base + 1n).toString());
    t.settle(base.toString());
    expect(t.nextCommitOffset()).toBe((base + 2n).toString());
  });

  it('matches a reference model under random completion orders', () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    for (let round = 0; round < 200; round++) {
      const t = new PartitionOffsetTracker();
      const offsets: number[] = [];
      let o = Math.floor(random() * 1000);
      const n = 1 + Math.floor(random() * 60);
      for (let i = 0; i < n; i++) {
        o += 1 + Math.floor(random() * 3);
        offsets.push(o);
        t.track(String(o));
      }
      const order = [...offsets].sort(() => random() - 0.5);
      const settled = new Set<number>();
      for (const x of order.slice(0, Math.floor(random() * (n + 1)))) {
        t.settle(String(x));
        settled.add(x);
        // Reference: the prefix is the longest run of settled offsets from the first tracked one.
        let end: number | null = null;
        for (const y of offsets) {
          if (!settled.has(y)) break;
          end = y;
        }
        expect(t.nextCommitOffset()).toBe(end === null ? null : String(end + 1));
        const first = offsets.find((y) => !settled.has(y));
        expect(t.firstUnsettled()).toBe(first === undefined ? null : String(first));
      }
    }
  });

  it('stays correct across internal compaction of long runs', () => {
    const t = new PartitionOffsetTracker();
    for (let i = 0; i < 5000; i++) t.track(String(i));
    for (let i = 0; i < 4999; i++) t.settle(String(i));
    expect(t.nextCommitOffset()).toBe('4999');
    expect(t.trackedCount).toBe(1);
    t.track('5000');
    t.settle('5000');
    expect(t.nextCommitOffset()).toBe('4999');
    t.settle('4999');
    expect(t.nextCommitOffset()).toBe('5001');
  });
});

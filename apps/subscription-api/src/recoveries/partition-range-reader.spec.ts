import { describe, expect, it } from '@jest/globals';
import { planRanges } from './partition-range-reader.js';
import { partitionFor } from './recovery-plan.js';

/** An admin answering offsets per partition: [low, high) and the first offset at or after a time. */
function fakeAdmin(partitions: number, low: number, high: number, byTime: (ms: number) => number) {
  const calls: number[] = [];
  return {
    calls,
    admin: {
      fetchTopicOffsets: async () => Array.from({ length: partitions }, (_, partition) => ({ partition, offset: String(high), high: String(high), low: String(low) })),
      fetchTopicOffsetsByTimestamp: async (_topic: string, ms?: number) => {
        calls.push(ms ?? -1);
        return Array.from({ length: partitions }, (_, partition) => ({ partition, offset: String(byTime(ms ?? 0)) }));
      },
    },
  };
}

describe('planRanges', () => {
  it("reads only the account's partition of each topic, from offsetsForTimes(since) to offsetsForTimes(until)", async () => {
    const { admin, calls } = fakeAdmin(6, 0, 100, (ms) => (ms === 1_000 ? 10 : 40));
    const ranges = await planRanges(admin, ['events.call.started', 'events.call.ended'], 'acct_a', 1_000, 2_000);
    expect(ranges).toEqual([
      { topic: 'events.call.started', partition: partitionFor('acct_a', 6), fromOffset: 10n, toOffset: 40n },
      { topic: 'events.call.ended', partition: partitionFor('acct_a', 6), fromOffset: 10n, toOffset: 40n },
    ]);
    expect(calls).toEqual([1_000, 2_000, 1_000, 2_000]);
  });

  it('clamps the start to the log start (retention deleted older records) and leaves out empty ranges', async () => {
    expect((await planRanges(fakeAdmin(3, 25, 100, (ms) => (ms === 1_000 ? 10 : 60)).admin, ['t'], 'acct_a', 1_000, 2_000))[0]).toMatchObject({ fromOffset: 25n, toOffset: 60n });
    expect(await planRanges(fakeAdmin(3, 0, 100, () => 100).admin, ['t'], 'acct_a', 1_000, 2_000)).toEqual([]);
    expect(await planRanges(fakeAdmin(3, 50, 50, () => 50).admin, ['t'], 'acct_a', 1_000, 2_000)).toEqual([]);
  });
});

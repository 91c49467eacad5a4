import { randomUUID } from 'node:crypto';
import type { Admin, Consumer, Kafka } from 'kafkajs';
import { toInboundMessage, type InboundMessage } from '@odis/messaging';
import { partitionFor } from './recovery-plan.js';

/** Offsets [fromOffset, toOffset) of one partition of one topic. */
export interface PartitionRange {
  topic: string;
  partition: number;
  fromOffset: bigint;
  toOffset: bigint;
}

/**
 * The account's partition of each topic, from the first offset at or after `sinceMs` to the first
 * at or after `untilMs` (Kafka's offsetsForTimes via kafkajs `fetchTopicOffsetsByTimestamp`; the
 * high watermark when no record is that late). Ranges with nothing in them are left out. Records
 * are still filtered on their timestamp afterwards (CreateTime is not strictly ordered by offset).
 */
export async function planRanges(admin: Pick<Admin, 'fetchTopicOffsets' | 'fetchTopicOffsetsByTimestamp'>, topics: readonly string[], accountId: string, sinceMs: number, untilMs: number): Promise<PartitionRange[]> {
  const ranges: PartitionRange[] = [];
  for (const topic of topics) {
    const offsets = await admin.fetchTopicOffsets(topic);
    const partition = partitionFor(accountId, offsets.length, topic);
    const current = offsets.find((o) => o.partition === partition);
    if (!current) continue;
    const low = BigInt(current.low);
    const high = BigInt(current.high);
    const at = async (ms: number) => {
      const found = (await admin.fetchTopicOffsetsByTimestamp(topic, ms)).find((o) => o.partition === partition);
      return found ? BigInt(found.offset) : high;
    };
    const from = [await at(sinceMs), low].reduce((a, b) => (a > b ? a : b));
    const until = await at(untilMs);
    const to = until < high ? until : high;
    if (from < to) ranges.push({ topic, partition, fromOffset: from, toOffset: to });
  }
  return ranges;
}

export interface ReadRangesOptions {
  /** Prefix of the throw-away consumer group (random suffix, never committed). */
  groupIdPrefix: string;
  /** Aborting it ends the read (the promise rejects with the abort reason). */
  signal?: AbortSignal;
  /** Called every few seconds while the read runs (lease renewal); a throw ends the read. */
  onTick?: () => Promise<void>;
}

/**
 * Reads each range record by record (bounded memory: one fetch batch at a time) and hands every record
 * to `onRecord` in offset order per partition; resolves once every range has been read to its end.
 * One consumer of a fresh group serves all ranges: it seeks each range's partition to its start and
 * pauses the topics' other partitions, so nothing else is fetched.
 */
export async function readRanges(kafka: Pick<Kafka, 'consumer'>, ranges: readonly PartitionRange[], onRecord: (record: InboundMessage) => Promise<void>, options: ReadRangesOptions): Promise<void> {
  if (ranges.length === 0) return;
  const byKey = new Map(ranges.map((r) => [`${r.topic}/${r.partition}`, { range: r, next: r.fromOffset }]));
  const pending = () => [...byKey.values()].filter((s) => s.next < s.range.toOffset).length;
  const consumer: Consumer = kafka.consumer({
    groupId: `${options.groupIdPrefix}-${randomUUID()}`,
    maxWaitTimeInMs: 500,
    allowAutoTopicCreation: false,
    retry: { initialRetryTime: 300, maxRetryTime: 10_000, retries: 8 },
  });
  let finish!: () => void;
  let fail!: (e: unknown) => void;
  const finished = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  const advance = (topic: string, partition: number, next: bigint) => {
    const state = byKey.get(`${topic}/${partition}`);
    if (state && next > state.next) state.next = next;
    if (pending() === 0) finish();
  };
  const onAbort = () => fail(options.signal?.reason ?? new Error('recovery read aborted'));
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const ticker = options.onTick
    ? setInterval(() => {
        options.onTick!().catch(fail);
      }, 5_000)
    : null;
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (!payload.restart) fail(payload.error);
  });
  try {
    await consumer.connect();
    const topics = [...new Set(ranges.map((r) => r.topic))];
    await consumer.subscribe({ topics, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      // kafkajs fetches a partition from its last *resolved* offset (the seek, until something is
      // resolved): each handled record is resolved, or the next fetch would return the same batch again
      // and a range longer than one fetch would never end. Nothing is committed (autoCommit off).
      eachBatch: async ({ batch, heartbeat, isRunning, isStale, resolveOffset }) => {
        const state = byKey.get(`${batch.topic}/${batch.partition}`);
        if (!state) return;
        for (const message of batch.messages) {
          if (!isRunning() || isStale() || options.signal?.aborted) return;
          const offset = BigInt(message.offset);
          if (offset < state.next) continue;
          if (offset >= state.range.toOffset) break;
          try {
            await onRecord(toInboundMessage(batch.topic, batch.partition, message));
          } catch (error) {
            fail(error);
            return;
          }
          resolveOffset(message.offset);
          advance(batch.topic, batch.partition, offset + 1n);
        }
        resolveOffset(batch.lastOffset());
        advance(batch.topic, batch.partition, BigInt(batch.lastOffset()) + 1n);
        await heartbeat();
      },
    });
    // Only the ranges' partitions are fetched: pause every partition, resume the wanted ones.
    consumer.pause(topics.map((topic) => ({ topic })));
    for (const topic of topics) {
      const wanted = ranges.filter((r) => r.topic === topic);
      consumer.resume([{ topic, partitions: wanted.map((r) => r.partition) }]);
      for (const r of wanted) consumer.seek({ topic, partition: r.partition, offset: r.fromOffset.toString() });
    }
    await finished;
  } finally {
    if (ticker) clearInterval(ticker);
    options.signal?.removeEventListener('abort', onAbort);
    await consumer.disconnect().catch(() => undefined);
  }
}

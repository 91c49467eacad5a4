import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { readTopicToEnd, type InboundMessage } from '@odis/messaging';
import { connection, createTopic, rawProducer, unique, waitFor } from './kafka-kit.js';

// A real broker, rebalances and retries take seconds; the suite-level default (5 s) is too short.
jest.setTimeout(120_000);

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

const COMPACTED = { 'cleanup.policy': 'compact', 'min.compaction.lag.ms': '0' };

describe('readTopicToEnd', () => {
  it('reads a compacted topic to its end, tombstones included, then follows it', async () => {
    const conn = connection();
    const topic = unique('it.changelog');
    await createTopic(conn.kafka, topic, 2, COMPACTED);
    const raw = await rawProducer(conn.kafka);
    cleanups.push(() => raw.disconnect());
    await raw.send({
      topic,
      messages: [
        { partition: 0, key: 'sub-1', value: '{"v":1}' },
        { partition: 1, key: 'sub-2', value: '{"v":1}' },
        { partition: 0, key: 'sub-1', value: '{"v":2}' },
        { partition: 1, key: 'sub-2', value: null }, // deleted
        { partition: 0, key: 'sub-3', value: '{"v":1}' },
      ],
    });

    const seen: InboundMessage[] = [];
    const state = new Map<string, string>();
    const reader = await readTopicToEnd(conn, {
      topic,
      follow: true,
      onMessage: (m) => {
        seen.push(m);
        const key = m.key!.toString();
        if (m.value === null) state.delete(key);
        else state.set(key, m.value.toString());
      },
    });
    cleanups.push(() => reader.stop());
    // Resolved only once everything that existed at the call was delivered.
    expect(seen).toHaveLength(5);
    expect(reader.delivered).toBe(5);
    expect(Object.fromEntries(state)).toEqual({ 'sub-1': '{"v":2}', 'sub-3': '{"v":1}' });
    const tombstone = seen.find((m) => m.partition === 1 && m.offset === '1')!;
    expect(tombstone.value).toBeNull();
    expect(tombstone.key!.toString()).toBe('sub-2');
    // Per partition, in offset order.
    expect(seen.filter((m) => m.partition === 0).map((m) => m.offset)).toEqual(['0', '1', '2']);

    // Follow mode: later records arrive too.
    await raw.send({ topic, messages: [{ partition: 1, key: 'sub-4', value: '{"v":1}' }] });
    await waitFor(() => state.has('sub-4'), 15_000, 'the followed record');
    expect(reader.following).toBe(true);
    await reader.stop();
    expect(reader.following).toBe(false);
  });

  it('resolves at once for an empty topic, and can follow it', async () => {
    const conn = connection();
    const topic = unique('it.empty');
    await createTopic(conn.kafka, topic, 3, COMPACTED);
    const once = await readTopicToEnd(conn, { topic, onMessage: () => undefined });
    expect(once.delivered).toBe(0);
    expect(once.following).toBe(false);

    const seen: string[] = [];
    const follower = await readTopicToEnd(conn, { topic, follow: true, onMessage: (m) => void seen.push(m.value!.toString()) });
    cleanups.push(() => follower.stop());
    const raw = await rawProducer(conn.kafka);
    cleanups.push(() => raw.disconnect());
    await raw.send({ topic, messages: [{ partition: 2, key: 'k', value: 'late' }] });
    await waitFor(() => seen.length === 1, 15_000, 'the late record');
    expect(seen).toEqual(['late']);
  });

  it('without follow, stops after the catch-up point', async () => {
    const conn = connection();
    const topic = unique('it.once');
    await createTopic(conn.kafka, topic, 1);
    const raw = await rawProducer(conn.kafka);
    cleanups.push(() => raw.disconnect());
    await raw.send({ topic, messages: [{ value: 'a' }, { value: 'b' }] });
    const seen: string[] = [];
    const reader = await readTopicToEnd(conn, { topic, onMessage: async (m) => void seen.push(m.value!.toString()) });
    expect(seen).toEqual(['a', 'b']);
    expect(reader.following).toBe(false);
  });

  it('retries a failing callback instead of skipping the record', async () => {
    const conn = connection();
    const topic = unique('it.reader-retry');
    await createTopic(conn.kafka, topic, 1);
    const raw = await rawProducer(conn.kafka);
    cleanups.push(() => raw.disconnect());
    await raw.send({ topic, messages: [{ value: 'a' }, { value: 'b' }] });
    const seen: string[] = [];
    let failures = 0;
    await readTopicToEnd(conn, {
      topic,
      onMessage: (m) => {
        if (m.value!.toString() === 'a' && failures++ < 2) throw new Error('not yet');
        seen.push(m.value!.toString());
      },
    });
    expect(seen).toEqual(['a', 'b']);
    expect(failures).toBe(3);
  });
});

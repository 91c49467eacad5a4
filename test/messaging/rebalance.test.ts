import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { ConsumerRunner, Outcome, type InboundMessage } from '@odis/messaging';
import { committed, connection, createTopic, delay, rawProducer, unique, waitFor } from './kafka-kit.js';

// A real broker, rebalances and retries take seconds; the suite-level default (5 s) is too short.
jest.setTimeout(120_000);

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

describe('ConsumerRunner across rebalances', () => {
  it('drops the deferral of a partition it loses; the new owner processes it; the kept one stays deferred', async () => {
    const conn = connection();
    const topic = unique('it.rebalance-defer');
    const groupId = unique('g');
    await createTopic(conn.kafka, topic, 2);
    const raw = await rawProducer(conn.kafka);
    cleanups.push(() => raw.disconnect());
    await raw.send({ topic, messages: [{ partition: 0, value: 'p0' }, { partition: 1, value: 'p1' }] });

    const far = Date.now() + 10 * 60_000;
    const a = new ConsumerRunner(conn, { groupId, topics: [topic], handler: async () => Outcome.deferUntil(far) });
    cleanups.push(() => a.stop());
    await a.start();
    await waitFor(() => a.deferredPartitions().length === 2, 30_000, 'both partitions deferred by A');

    const seenByB: InboundMessage[] = [];
    const b = new ConsumerRunner(conn, { groupId, topics: [topic], waitForAssignment: true, handler: async (m) => void seenByB.push(m) });
    cleanups.push(() => b.stop());
    await b.start();

    await waitFor(() => a.assignedPartitions().length === 1 && seenByB.length === 1, 30_000, 'a rebalance giving B one partition');
    const lost = seenByB[0].partition;
    const kept = 1 - lost;
    expect(a.assignedPartitions()).toEqual([`${topic}|${kept}`]);
    expect(a.deferredPartitions()).toEqual([{ topic, partition: kept, offset: '0', untilMs: far }]);
    await waitFor(async () => (await committed(conn.kafka, groupId, topic))[lost] === '1', 15_000, 'B commits its partition');
    expect((await committed(conn.kafka, groupId, topic))[kept]).toBe('-1');
  });

  it('loses no message while members join and leave under load', async () => {
    const conn = connection();
    const topic = unique('it.rebalance-load');
    const groupId = unique('g');
    await createTopic(conn.kafka, topic, 4);
    const raw = await rawProducer(conn.kafka);
    cleanups.push(() => raw.disconnect());
    const TOTAL = 200;
    const handled = new Map<string, number>();
    const handler = async (m: InboundMessage) => {
      await delay(10);
      const v = m.value!.toString();
      handled.set(v, (handled.get(v) ?? 0) + 1);
      return Outcome.done();
    };
    const a = new ConsumerRunner(conn, { groupId, topics: [topic], partitionConcurrency: 4, handler });
    cleanups.push(() => a.stop());
    await a.start();
    const produce = (async () => {
      for (let i = 0; i < TOTAL; i += 10) {
        await raw.send({ topic, messages: Array.from({ length: 10 }, (_, j) => ({ partition: (i + j) % 4, value: String(i + j) })) });
        await delay(50);
      }
    })();
    await delay(500);
    const b = new ConsumerRunner(conn, { groupId, topics: [topic], partitionConcurrency: 4, handler });
    cleanups.push(() => b.stop());
    await b.start();
    await delay(1_500);
    await a.stop();
    await produce;
    await waitFor(() => handled.size === TOTAL, 60_000, 'every message handled');
    await waitFor(
      async () => Object.values(await committed(conn.kafka, groupId, topic)).reduce((s, o) => s + Number(o), 0) === TOTAL,
      30_000,
      'commits covering every message',
    );
    expect([...handled.values()].every((n) => n >= 1)).toBe(true);
  });
});

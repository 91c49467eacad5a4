import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { MessageProducer, readTopicToEnd, type InboundMessage } from '@odis/messaging';
import { connection, createTopic, unique } from './kafka-kit.js';

// A real broker, rebalances and retries take seconds; the suite-level default (5 s) is too short.
jest.setTimeout(120_000);

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

describe('MessageProducer against a real broker', () => {
  it('writes every record of many concurrent callers, keys, values and headers intact, per-key order kept', async () => {
    const conn = connection();
    const a = unique('it.prod-a');
    const b = unique('it.prod-b');
    await createTopic(conn.kafka, a, 3);
    await createTopic(conn.kafka, b, 1);
    const producer = new MessageProducer(conn);
    cleanups.push(() => producer.disconnect());
    await Promise.all([
      ...Array.from({ length: 300 }, (_, i) => producer.sendOne(a, { key: `k${i % 5}`, value: String(i), headers: { n: String(i) } })),
      producer.send(b, [{ value: 'x' }, { value: null, key: 'tomb' }]),
    ]);
    const read = async (topic: string) => {
      const out: InboundMessage[] = [];
      await readTopicToEnd(conn, { topic, onMessage: (m) => void out.push(m) });
      return out;
    };
    const inA = await read(a);
    expect(inA).toHaveLength(300);
    for (const m of inA) expect(m.headers.n).toBe(m.value!.toString());
    for (let k = 0; k < 5; k++) {
      const values = inA.filter((m) => m.key!.toString() === `k${k}`).map((m) => Number(m.value!.toString()));
      expect(values).toEqual([...values].sort((x, y) => x - y));
      expect(new Set(inA.filter((m) => m.key!.toString() === `k${k}`).map((m) => m.partition)).size).toBe(1);
    }
    const inB = await read(b);
    expect(inB.map((m) => m.value?.toString() ?? null)).toEqual(['x', null]);
  });

  it('rejects a send to a topic that does not exist (after its bounded retries), and keeps working', async () => {
    const conn = connection();
    const topic = unique('it.prod-ok');
    await createTopic(conn.kafka, topic, 1);
    const producer = new MessageProducer(conn, { retry: { retries: 1, initialRetryTime: 50, maxRetryTime: 200 } });
    cleanups.push(() => producer.disconnect());
    await expect(producer.sendOne(unique('it.missing'), { value: 'lost' })).rejects.toThrow();
    expect(producer.health().lastError).toBeDefined();
    await producer.sendOne(topic, { value: 'fine' });
    expect(producer.health()).toEqual({ connected: true });
  });
});

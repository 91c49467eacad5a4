import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { ConsumerRunner, Outcome, type KafkaConnection } from '@odis/messaging';
import { committed, connection, createTopic, deferred, rawProducer, unique, waitFor } from './kafka-kit.js';

// A real broker, rebalances and retries take seconds; the suite-level default (5 s) is too short.
jest.setTimeout(120_000);

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

function runner(conn: KafkaConnection, options: ConstructorParameters<typeof ConsumerRunner>[1]): ConsumerRunner {
  const r = new ConsumerRunner(conn, { pipelined: true, retryBackoffMs: { initial: 20, max: 100 }, ...options });
  cleanups.push(() => r.stop());
  return r;
}

describe('ConsumerRunner, pipelined mode, against a real broker', () => {
  it('a hanging message holds back only its own commit: its partition and the others keep flowing', async () => {
    const conn = connection();
    const topic = unique('it.pipe-slow');
    const groupId = unique('g');
    await createTopic(conn.kafka, topic, 2);
    const raw = await rawProducer(conn.kafka);
    cleanups.push(() => raw.disconnect());
    const hang = deferred();
    const done: string[] = [];
    const r = runner(conn, {
      groupId,
      topics: [topic],
      partitionConcurrency: 8,
      commitIntervalMs: 200,
      handler: async (m) => {
        const v = m.value!.toString();
        if (v === 'hang') await hang.promise;
        done.push(v);
        return Outcome.done();
      },
    });
    await r.start();
    await raw.send({ topic, messages: [{ partition: 0, value: 'hang' }, { partition: 0, value: 'p0-next' }] });
    await waitFor(() => done.includes('p0-next'), 15_000, 'the message behind the hanging one');
    // Later fetches still happen while the first message hangs.
    for (let i = 0; i < 3; i++) await raw.send({ topic, messages: [{ partition: 1, value: `p1-${i}` }, { partition: 0, value: `p0-${i}` }] });
    await waitFor(() => ['p1-0', 'p1-1', 'p1-2', 'p0-0', 'p0-1', 'p0-2'].every((v) => done.includes(v)), 15_000, 'later messages');
    await waitFor(async () => (await committed(conn.kafka, groupId, topic))[1] === '3', 15_000, 'partition 1 committed');
    expect((await committed(conn.kafka, groupId, topic))[0]).toBe('-1');
    hang.resolve();
    await waitFor(async () => (await committed(conn.kafka, groupId, topic))[0] === '5', 15_000, 'partition 0 committed after the release');
  });

  it('defer: pauses the partition and hands the message over again at untilMs', async () => {
    const conn = connection();
    const topic = unique('it.pipe-defer');
    const groupId = unique('g');
    await createTopic(conn.kafka, topic, 1);
    const raw = await rawProducer(conn.kafka);
    cleanups.push(() => raw.disconnect());
    await raw.send({ topic, messages: [{ value: 'head' }, { value: 'next' }] });
    let untilMs = 0;
    const deliveries: Array<{ value: string; at: number }> = [];
    const r = runner(conn, {
      groupId,
      topics: [topic],
      partitionConcurrency: 4,
      handler: async (m) => {
        const value = m.value!.toString();
        deliveries.push({ value, at: Date.now() });
        if (value === 'head' && untilMs === 0) {
          untilMs = Date.now() + 2_000;
          return Outcome.deferUntil(untilMs);
        }
        return Outcome.done();
      },
    });
    await r.start();
    await waitFor(() => deliveries.filter((d) => d.value === 'head').length === 2, 20_000, 'redelivery of the head');
    const again = deliveries.filter((d) => d.value === 'head')[1].at;
    expect(again).toBeGreaterThanOrEqual(untilMs);
    expect(again).toBeLessThan(untilMs + 5_000);
    await waitFor(async () => (await committed(conn.kafka, groupId, topic))[0] === '2', 15_000, 'both committed');
  });
});

import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { ConsumerRunner, MessageProducer, Outcome } from '@odis/messaging';
import { committed, connection, createTopic, unique, waitFor } from './kafka-kit.js';

// A real broker, rebalances and retries take seconds; the suite-level default (5 s) is too short.
jest.setTimeout(120_000);

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

/**
 * The dispatcher's shape: every consumed message produces one record (its attempt event) before it
 * is done. The rate is logged; the assertion is deliberately loose (shared, noisy machines), the
 * design target being ≥ 2 000 deliveries/s on 2 cores.
 */
describe('throughput', () => {
  it.each([
    ['batch-at-a-time', false],
    ['pipelined', true],
  ])('consumes and produces thousands of messages per second with coalesced sends (%s)', async (_mode, pipelined) => {
    const conn = connection();
    const input = unique('it.tp-in');
    const output = unique('it.tp-out');
    const groupId = unique('g');
    await createTopic(conn.kafka, input, 6);
    await createTopic(conn.kafka, output, 6);
    const producer = new MessageProducer(conn);
    cleanups.push(() => producer.disconnect());
    const N = 6_000;
    const t0 = Date.now();
    await Promise.all(Array.from({ length: N }, (_, i) => producer.sendOne(input, { key: `acc-${i % 97}`, value: JSON.stringify({ i, pad: 'x'.repeat(300) }) })));
    const produceMs = Date.now() - t0;

    let handled = 0;
    const runner = new ConsumerRunner(
      conn,
      {
        groupId,
        topics: [input],
        partitionConcurrency: 32,
        partitionsConsumedConcurrently: 6,
        pipelined,
        handler: async (m) => {
          await producer.sendOne(output, { key: m.key, value: m.value, headers: { 'odis-delivery-id': `${m.partition}-${m.offset}` } });
          handled++;
          return Outcome.done();
        },
      },
      { producer },
    );
    cleanups.push(() => runner.stop());
    const t1 = Date.now();
    await runner.start();
    await waitFor(() => handled >= N, 90_000, `${N} messages handled`);
    const consumeMs = Date.now() - t1;
    await waitFor(
      async () => Object.values(await committed(conn.kafka, groupId, input)).reduce((s, o) => s + Math.max(0, Number(o)), 0) === N,
      30_000,
      'commits of every message',
    );
    const produceRate = Math.round((N / produceMs) * 1000);
    const consumeRate = Math.round((N / consumeMs) * 1000);
    process.stderr.write(`[throughput ${_mode}] produce ${produceRate}/s (${N} in ${produceMs} ms); consume+produce ${consumeRate}/s (${N} in ${consumeMs} ms, incl. group join)\n`);
    expect(handled).toBe(N);
    expect(consumeRate).toBeGreaterThan(300);
  });
});

import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { KAFKA_HEADERS } from '@odis/contracts';
import { ConsumerRunner, KafkaConnection, MessageProducer, Outcome, type InboundMessage, type MessageOutcome } from '@odis/messaging';
import { kafkajsConsumerGroupClass } from '../../libs/messaging/src/kafkajs-patches.js';
import { collect, committed, connection, createTopic, deferred, delay, rawProducer, unique, waitFor } from './kafka-kit.js';

// A real broker, rebalances and retries take seconds; the suite-level default (5 s) is too short.
jest.setTimeout(120_000);

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

function runner(conn: KafkaConnection, options: ConstructorParameters<typeof ConsumerRunner>[1]): ConsumerRunner {
  const r = new ConsumerRunner(conn, { retryBackoffMs: { initial: 20, max: 100 }, ...options });
  cleanups.push(() => r.stop());
  return r;
}

function producerOf(conn: KafkaConnection): MessageProducer {
  const p = new MessageProducer(conn);
  cleanups.push(() => p.disconnect());
  return p;
}

/** A connection, a fresh topic with `partitions` partitions, and a fresh group id. */
async function freshTopic(prefix: string, partitions = 1): Promise<{ conn: KafkaConnection; topic: string; groupId: string }> {
  const conn = connection();
  const topic = unique(prefix);
  await createTopic(conn.kafka, topic, partitions);
  return { conn, topic, groupId: unique('g') };
}

describe('ConsumerRunner against a real broker', () => {
  it('consumes what was produced, in order, and commits it', async () => {
    const { conn, topic, groupId } = await freshTopic('it.consume');
    const producer = producerOf(conn);
    await producer.send(topic, [
      { key: 'a', value: 'one', headers: { h: '1' } },
      { key: 'a', value: 'two' },
    ]);
    const seen: InboundMessage[] = [];
    const r = runner(conn, { groupId, topics: [topic], handler: async (m) => void seen.push(m) });
    await r.start();
    expect(r.health().connected).toBe(true);
    await producer.sendOne(topic, { key: 'a', value: 'three' });
    await waitFor(() => seen.length === 3, 30_000, 'three messages');
    expect(seen.map((m) => m.value?.toString())).toEqual(['one', 'two', 'three']);
    expect(seen[0]).toMatchObject({ topic, partition: 0, offset: '0', headers: { h: '1' } });
    expect(seen[0].key?.toString()).toBe('a');
    expect(seen[0].timestamp).toBeGreaterThan(Date.now() - 120_000);
    await waitFor(async () => (await committed(conn.kafka, groupId, topic))[0] === '3', 15_000, 'commit of offset 3');
  });

  it('does not commit an offset whose handler keeps failing', async () => {
    const { conn, topic, groupId } = await freshTopic('it.fail');
    await producerOf(conn).sendOne(topic, { value: 'x' });
    let calls = 0;
    const r = runner(conn, {
      groupId,
      topics: [topic],
      maxRetries: 1_000,
      retryBackoffMs: { initial: 10, max: 50 },
      handler: async () => {
        calls++;
        throw new Error('database down');
      },
    });
    await r.start();
    await waitFor(() => calls >= 5, 30_000, 'retries');
    expect((await committed(conn.kafka, groupId, topic))[0]).toBe('-1');
    await r.stop();
    expect((await committed(conn.kafka, groupId, topic))[0]).toBe('-1');
  });

  it('retries a failing handler and commits once it succeeds', async () => {
    const { conn, topic, groupId } = await freshTopic('it.retry');
    await producerOf(conn).sendOne(topic, { value: 'x' });
    let calls = 0;
    const r = runner(conn, {
      groupId,
      topics: [topic],
      handler: async () => {
        if (++calls < 3) throw new Error('transient');
        return Outcome.done();
      },
    });
    await r.start();
    await waitFor(async () => (await committed(conn.kafka, groupId, topic))[0] === '1', 30_000, 'commit');
    expect(calls).toBe(3);
  });

  it('dead-letters a poison message with its reason and processes the messages behind it', async () => {
    const conn = connection();
    const topic = unique('it.poison');
    const dlq = unique('it.dlq');
    const groupId = unique('g');
    await createTopic(conn.kafka, topic, 1);
    await createTopic(conn.kafka, dlq, 1);
    const producer = producerOf(conn);
    await producer.send(topic, [
      { key: 'k0', value: 'poison', headers: { 'odis-event-id': 'e0' } },
      { key: 'k1', value: 'fine-1' },
      { key: 'k2', value: 'reject-me' },
      { key: 'k3', value: 'fine-3' },
    ]);
    const processed: string[] = [];
    let poisonCalls = 0;
    const r = runner(conn, {
      groupId,
      topics: [topic],
      deadLetterTopic: dlq,
      maxRetries: 2,
      handler: async (m): Promise<MessageOutcome> => {
        const v = m.value!.toString();
        if (v === 'poison') {
          poisonCalls++;
          throw new Error('cannot parse payload');
        }
        if (v === 'reject-me') return Outcome.deadLetter('unknown event type');
        processed.push(v);
        return Outcome.done();
      },
    });
    const dead = await collect(conn, dlq);
    cleanups.push(() => dead.reader.stop());
    await r.start();
    await waitFor(() => dead.records.length === 2 && processed.length === 2, 30_000, 'dead letters and the rest');
    expect(processed).toEqual(['fine-1', 'fine-3']);
    expect(poisonCalls).toBe(3); // 1 + maxRetries
    const [poison, rejected] = dead.records;
    expect(poison.key?.toString()).toBe('k0');
    expect(poison.value?.toString()).toBe('poison');
    expect(poison.headers).toMatchObject({
      'odis-event-id': 'e0',
      [KAFKA_HEADERS.dlqReason]: 'cannot parse payload',
      [KAFKA_HEADERS.dlqSourceTopic]: topic,
      [KAFKA_HEADERS.dlqSourcePartition]: '0',
      [KAFKA_HEADERS.dlqSourceOffset]: '0',
    });
    expect(Date.parse(poison.headers[KAFKA_HEADERS.dlqFailedAt])).toBeGreaterThan(Date.now() - 120_000);
    expect(rejected.headers).toMatchObject({ [KAFKA_HEADERS.dlqReason]: 'unknown event type', [KAFKA_HEADERS.dlqSourceOffset]: '2' });
    await waitFor(async () => (await committed(conn.kafka, groupId, topic))[0] === '4', 15_000, 'commit past the poison message');
    expect(r.health().connected).toBe(true);
  });

  it('pauses a deferred partition and hands the same message over again at untilMs while other partitions flow', async () => {
    const { conn, topic, groupId } = await freshTopic('it.defer', 2);
    const raw = await rawProducer(conn.kafka);
    cleanups.push(() => raw.disconnect());
    await raw.send({ topic, messages: [{ partition: 0, value: 'head' }, { partition: 0, value: 'behind-head' }] });

    const DEFER_MS = 3_000;
    let untilMs = 0;
    const deliveries: Array<{ value: string; partition: number; at: number }> = [];
    const r = runner(conn, {
      groupId,
      topics: [topic],
      handler: async (m) => {
        const value = m.value!.toString();
        deliveries.push({ value, partition: m.partition, at: Date.now() });
        if (value === 'head' && untilMs === 0) {
          untilMs = Date.now() + DEFER_MS;
          return Outcome.deferUntil(untilMs);
        }
        return Outcome.done();
      },
    });
    await r.start();
    await waitFor(() => untilMs > 0, 30_000, 'first delivery of the head');
    // While partition 0 waits, partition 1 keeps flowing.
    for (let i = 0; i < 3; i++) {
      await raw.send({ topic, messages: [{ partition: 1, value: `p1-${i}` }] });
      await delay(300);
    }
    await waitFor(() => deliveries.filter((d) => d.partition === 1).length === 3, 10_000, 'partition 1 messages');
    const p1Done = Math.max(...deliveries.filter((d) => d.partition === 1).map((d) => d.at));
    expect(p1Done).toBeLessThan(untilMs);
    expect(r.deferredPartitions()).toEqual([{ topic, partition: 0, offset: '0', untilMs }]);
    // Nothing of partition 0 is committed while it waits.
    expect((await committed(conn.kafka, groupId, topic))[0]).toBe('-1');
    expect(deliveries.filter((d) => d.partition === 0).map((d) => d.value)).toEqual(['head']);

    await waitFor(() => deliveries.filter((d) => d.value === 'head').length === 2, 20_000, 'redelivery of the head');
    const redelivered = deliveries.filter((d) => d.value === 'head')[1].at;
    expect(redelivered).toBeGreaterThanOrEqual(untilMs);
    expect(redelivered).toBeLessThan(untilMs + 5_000);
    await waitFor(() => deliveries.some((d) => d.value === 'behind-head'), 10_000, 'the message behind the head');
    await waitFor(async () => (await committed(conn.kafka, groupId, topic))[0] === '2', 15_000, 'partition 0 committed');
    expect((await committed(conn.kafka, groupId, topic))[1]).toBe('3');
    expect(r.deferredPartitions()).toEqual([]);
  });

  it('fetches with the long idle wait at rest and the short one while a partition is deferred, so a resume is not late', async () => {
    const { conn, topic, groupId } = await freshTopic('it.waits', 2);
    const fetches: Array<{ wait: number; at: number }> = [];
    const proto = kafkajsConsumerGroupClass().prototype;
    const patched = proto.fetch;
    proto.fetch = function recordWait(this: { groupId: string; maxWaitTime: number }, nodeId: number) {
      const result = patched.call(this, nodeId); // chooses the wait synchronously, before its first await
      if (this.groupId === groupId) fetches.push({ wait: this.maxWaitTime, at: Date.now() });
      return result;
    };
    cleanups.push(async () => {
      proto.fetch = patched;
    });
    const IDLE_MS = 8_000;
    const BUSY_MS = 100;
    let untilMs = 0;
    const heads: number[] = [];
    const r = runner(conn, {
      groupId,
      topics: [topic],
      maxWaitTimeMs: BUSY_MS,
      idleMaxWaitTimeMs: IDLE_MS,
      handler: async (m) => {
        if (m.value!.toString() !== 'head') return Outcome.done();
        heads.push(Date.now());
        if (untilMs === 0) {
          untilMs = Date.now() + 1_500;
          return Outcome.deferUntil(untilMs);
        }
        return Outcome.done();
      },
    });
    await r.start();
    // At rest: a fetch every IDLE_MS at most (with BUSY_MS it would be dozens in these 5 s).
    const restStart = Date.now();
    await delay(5_000);
    const atRest = fetches.filter((f) => f.at >= restStart);
    expect(atRest.length).toBeLessThanOrEqual(2);
    expect(atRest.every((f) => f.wait === IDLE_MS)).toBe(true);

    // A record ends the long fetch at once; its deferral pauses partition 0: short fetches until it resumes.
    const raw = await rawProducer(conn.kafka);
    cleanups.push(() => raw.disconnect());
    const sentAt = Date.now();
    await raw.send({ topic, messages: [{ partition: 0, value: 'head' }] });
    await waitFor(() => heads.length === 2, 20_000, 'the deferred head, handed over again');
    expect(heads[0] - sentAt).toBeLessThan(IDLE_MS / 2);
    expect(heads[1]).toBeGreaterThanOrEqual(untilMs);
    expect(heads[1] - untilMs).toBeLessThan(IDLE_MS / 2); // not held by a long fetch in flight
    expect(fetches.some((f) => f.wait === BUSY_MS && f.at > heads[0] && f.at < untilMs)).toBe(true);
  });

  it('with partitionConcurrency > 1 commits only the contiguous settled prefix', async () => {
    const { conn, topic, groupId } = await freshTopic('it.concurrency');
    await producerOf(conn).send(topic, Array.from({ length: 10 }, (_, i) => ({ value: String(i) })));
    const gate = deferred();
    const finished = new Set<number>();
    let inFlight = 0;
    let maxInFlight = 0;
    const r = runner(conn, {
      groupId,
      topics: [topic],
      partitionConcurrency: 4,
      handler: async (m) => {
        const n = Number(m.value!.toString());
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        try {
          if (n === 2) await gate.promise;
          else await delay(50);
        } finally {
          inFlight--;
        }
        finished.add(n);
        return Outcome.done();
      },
    });
    await r.start();
    // Everything but message 2 finishes; the commit stays right before it.
    await waitFor(() => finished.size === 9, 30_000, 'nine messages');
    await waitFor(async () => (await committed(conn.kafka, groupId, topic))[0] === '2', 15_000, 'commit of the prefix 0..1');
    await delay(1_500);
    expect((await committed(conn.kafka, groupId, topic))[0]).toBe('2');
    expect(maxInFlight).toBeGreaterThan(1);
    expect(maxInFlight).toBeLessThanOrEqual(4);
    gate.resolve();
    await waitFor(async () => (await committed(conn.kafka, groupId, topic))[0] === '10', 15_000, 'commit of all ten');
  });

  it('stop() lets in-flight handlers finish and commits them', async () => {
    const { conn, topic, groupId } = await freshTopic('it.stop');
    await producerOf(conn).sendOne(topic, { value: 'slow' });
    const started = deferred();
    let finished = false;
    const r = runner(conn, {
      groupId,
      topics: [topic],
      handler: async () => {
        started.resolve();
        await delay(1_000);
        finished = true;
        return Outcome.done();
      },
    });
    await r.start();
    await started.promise;
    await r.stop();
    expect(finished).toBe(true);
    expect(r.health().connected).toBe(false);
    expect((await committed(conn.kafka, groupId, topic))[0]).toBe('1');
  });

  it('keeps retrying to start while a topic is missing, then consumes once it exists', async () => {
    const conn = connection();
    const topic = unique('it.late-topic');
    const groupId = unique('g');
    const seen: string[] = [];
    const r = runner(conn, {
      groupId,
      topics: [topic],
      connectBackoffMs: { initial: 200, max: 500 },
      handler: async (m) => void seen.push(m.value!.toString()),
    });
    const starting = r.start();
    await waitFor(() => r.health().lastError, 20_000, 'a start error');
    expect(r.health().connected).toBe(false);
    await createTopic(conn.kafka, topic, 1);
    await starting;
    await producerOf(conn).sendOne(topic, { value: 'hello' });
    await waitFor(() => seen.length === 1, 30_000, 'the message');
    expect(r.health()).toEqual({ connected: true });
  });

  it('is not crashed by an unreachable cluster: start() keeps retrying, health() says why, stop() ends it', async () => {
    const conn = new KafkaConnection({ brokers: ['127.0.0.1:1'], clientId: unique('it-down'), logLevel: 'nothing', retry: { retries: 0, initialRetryTime: 50 } });
    const r = new ConsumerRunner(conn, {
      groupId: unique('g'),
      topics: ['anything'],
      connectBackoffMs: { initial: 50, max: 100 },
      handler: async () => Outcome.done(),
    });
    const starting = r.start();
    starting.catch(() => undefined);
    await waitFor(() => r.health().lastError, 20_000, 'a connection error');
    expect(r.health().connected).toBe(false);
    await r.stop();
    await expect(starting).rejects.toThrow(/stopped/);
  });
});

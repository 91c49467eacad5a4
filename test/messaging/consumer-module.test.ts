import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Injectable, Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { KAFKA_HEADERS } from '@odis/contracts';
import {
  ConsumerModule,
  consumerToken,
  KafkaConnection,
  KafkaConsumersTransport,
  MessageProducer,
  MessagingModule,
  Outcome,
  runnerReadiness,
  startAfter,
  startKafkaConsumers,
  type ConsumerHandler,
  type ConsumerRunner,
  type InboundMessage,
  type MessageOutcome,
} from '@odis/messaging';
import { HealthModule, ReadinessRegistry } from '@odis/platform';
import { brokers, collect, committed, createTopic, unique, waitFor } from './kafka-kit.js';

// A real broker, rebalances and retries take seconds; the suite-level default (5 s) is too short.
jest.setTimeout(120_000);

const TOPIC_A = unique('it.nest-a');
const TOPIC_B = unique('it.nest-b');
const TOPIC_C = unique('it.nest-c');
const DLQ = unique('it.nest-dlq');
const GROUP_A = unique('it-nest-group-a');
const GROUP_DEFAULT = unique('it-nest-group-default');

@Injectable()
class Seen {
  readonly messages: Array<{ topic: string; value: string; group: string }> = [];
}

/** Opens the second consumer's start gate when the test says so. */
@Injectable()
class Gate {
  open!: () => void;
  readonly opened = new Promise<void>((resolve) => (this.open = resolve));
}

@Injectable()
class HandlerA implements ConsumerHandler {
  constructor(private readonly seen: Seen) {}
  async handle(message: InboundMessage): Promise<MessageOutcome> {
    this.seen.messages.push({ topic: message.topic, value: message.value!.toString(), group: GROUP_A });
    return Outcome.done();
  }
}

@Injectable()
class HandlerBC implements ConsumerHandler {
  constructor(private readonly seen: Seen) {}
  async handle(message: InboundMessage): Promise<MessageOutcome> {
    if (message.value!.toString() === 'bad') return Outcome.deadLetter('payload is not an event');
    this.seen.messages.push({ topic: message.topic, value: message.value!.toString(), group: 'default' });
    return Outcome.done();
  }
}

const defaults = { maxRetries: 1, retryBackoffMs: { initial: 10, max: 20 }, deadLetterTopic: DLQ };

@Module({
  imports: [
    HealthModule.forRoot('it-nest'),
    MessagingModule.forRoot({ clientId: 'it-nest', brokers: brokers(), logLevel: 'error' }),
    ConsumerModule.register({ ...defaults, name: 'a-consumer', groupId: GROUP_A, topics: [TOPIC_A], handler: HandlerA, partitionConcurrency: 2 }),
    ConsumerModule.register({
      ...defaults,
      name: 'bc-consumer',
      groupId: GROUP_DEFAULT,
      topics: [TOPIC_B, TOPIC_C],
      handler: HandlerBC,
      startAfter: startAfter(Gate, (g) => g.opened, 'the test'),
    }),
  ],
  providers: [Seen, Gate, HandlerA, HandlerBC],
})
class TestAppModule {}

describe('ConsumerModule + MessagingModule in a Nest app', () => {
  let app: INestApplication;
  let conn: KafkaConnection;

  beforeAll(async () => {
    conn = new KafkaConnection({ brokers: brokers(), clientId: 'it-nest-admin', logLevel: 'error' });
    for (const t of [TOPIC_A, TOPIC_B, TOPIC_C, DLQ]) await createTopic(conn.kafka, t, 2);
    app = await NestFactory.create(TestAppModule, { logger: ['error', 'warn'] });
    await app.init();
  });

  afterAll(async () => {
    await app?.close();
  });

  it('runs one consumer group per registration, waits for its start gate, hands handlers the message and honours their outcomes', async () => {
    const runnerA = app.get<ConsumerRunner>(consumerToken('a-consumer'));
    const runnerBC = app.get<ConsumerRunner>(consumerToken('bc-consumer'));
    const registry = app.get(ReadinessRegistry);
    // Nothing consumes until the app starts its Kafka consumers microservice (@nestjs/microservices).
    expect((await registry.evaluate()).checks['a-consumer']).toEqual({ ok: false, detail: expect.stringMatching(/^waiting for the Kafka consumers microservice/) });
    expect(runnerA.assignedPartitions()).toEqual([]);
    await startKafkaConsumers(app);
    expect(app.get(KafkaConsumersTransport).isListening()).toBe(true);
    expect((await registry.evaluate()).checks['bc-consumer']).toEqual({ ok: false, detail: 'waiting for the test' });
    app.get(Gate).open();
    await Promise.all([runnerA.start(), runnerBC.start()]);
    expect([runnerA.groupId, runnerBC.groupId].sort()).toEqual([GROUP_A, GROUP_DEFAULT].sort());
    expect(runnerReadiness(runnerA)).toEqual({ ok: true });
    expect(runnerReadiness(runnerBC)).toEqual({ ok: true });
    await waitFor(async () => (await registry.evaluate()).ready, 15_000, '/ready (both consumers and the producer)');
    const dead = await collect(conn, DLQ);
    try {
      const producer = app.get(MessageProducer);
      await Promise.all([
        producer.sendOne(TOPIC_A, { key: 'x', value: 'a1' }),
        producer.sendOne(TOPIC_B, { key: 'y', value: 'bad' }),
        producer.sendOne(TOPIC_B, { key: 'y', value: 'b1' }),
        producer.sendOne(TOPIC_C, { key: 'z', value: 'c1' }),
      ]);
      const seen = app.get(Seen).messages;
      await waitFor(() => seen.length === 3 && dead.records.length === 1, 30_000, 'handlers and the dead letter');
      expect(seen).toEqual(
        expect.arrayContaining([
          { topic: TOPIC_A, value: 'a1', group: GROUP_A },
          { topic: TOPIC_B, value: 'b1', group: 'default' },
          { topic: TOPIC_C, value: 'c1', group: 'default' },
        ]),
      );
      expect(dead.records[0].value!.toString()).toBe('bad');
      expect(dead.records[0].headers[KAFKA_HEADERS.dlqReason]).toBe('payload is not an event');
      expect(dead.records[0].headers[KAFKA_HEADERS.dlqSourceTopic]).toBe(TOPIC_B);
      const offsetsB = async () => Object.values(await committed(conn.kafka, GROUP_DEFAULT, TOPIC_B)).map(Number).filter((n) => n > 0);
      await waitFor(async () => (await offsetsB()).reduce((a, b) => a + b, 0) === 2, 15_000, 'commits of topic B');
      // Topic A belongs to its own group only.
      expect(Object.values(await committed(conn.kafka, GROUP_DEFAULT, TOPIC_A)).every((o) => o === '-1')).toBe(true);
    } finally {
      await dead.reader.stop();
    }
  });
});

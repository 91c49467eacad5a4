import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Controller, Injectable, Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, EventPattern, Payload, RpcException } from '@nestjs/microservices';
import { KAFKA_HEADERS } from '@odis/contracts';
import {
  KafkaConnection,
  KafkaRunnerContext,
  KafkaRunnerTransport,
  MessageProducer,
  MessagingModule,
  Outcome,
  type InboundMessage,
  type MessageOutcome,
} from '@odis/messaging';
import { of } from 'rxjs';
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

@Controller()
class TestHandlers {
  constructor(private readonly seen: Seen) {}

  @EventPattern<string>(TOPIC_A, { groupId: GROUP_A, partitionConcurrency: 2 })
  async onA(@Payload() message: InboundMessage, @Ctx() ctx: KafkaRunnerContext): Promise<MessageOutcome> {
    this.seen.messages.push({ topic: ctx.getTopic(), value: message.value!.toString(), group: ctx.getGroupId() });
    return Outcome.done();
  }

  @EventPattern<string>(TOPIC_B)
  onB(@Payload() message: InboundMessage): MessageOutcome {
    if (message.value!.toString() === 'bad') throw new RpcException('payload is not an event');
    this.seen.messages.push({ topic: message.topic, value: message.value!.toString(), group: 'default' });
    return Outcome.done();
  }

  @EventPattern<string>(TOPIC_C)
  onC(@Payload() message: InboundMessage) {
    this.seen.messages.push({ topic: message.topic, value: message.value!.toString(), group: 'default' });
    return of(Outcome.done());
  }
}

@Module({
  imports: [MessagingModule.forRoot({ clientId: 'it-nest', brokers: brokers(), logLevel: 'error' })],
  controllers: [TestHandlers],
  providers: [Seen],
})
class TestAppModule {}

describe('KafkaRunnerTransport + MessagingModule in a Nest app', () => {
  let app: INestApplication;
  let transport: KafkaRunnerTransport;
  let conn: KafkaConnection;

  beforeAll(async () => {
    conn = new KafkaConnection({ brokers: brokers(), clientId: 'it-nest-admin', logLevel: 'error' });
    for (const t of [TOPIC_A, TOPIC_B, TOPIC_C, DLQ]) await createTopic(conn.kafka, t, 2);
    app = await NestFactory.create(TestAppModule, { logger: ['error', 'warn'] });
    transport = new KafkaRunnerTransport({
      connection: app.get(KafkaConnection),
      groupId: GROUP_DEFAULT,
      defaults: { maxRetries: 1, retryBackoffMs: { initial: 10, max: 20 }, deadLetterTopic: DLQ },
    });
    app.connectMicroservice({ strategy: transport });
    await app.startAllMicroservices();
    await app.init();
  });

  afterAll(async () => {
    await app?.close();
  });

  it('runs one consumer group per groupId, hands handlers the message and honours their outcomes', async () => {
    expect(Object.keys(transport.health()).sort()).toEqual([GROUP_A, GROUP_DEFAULT].sort());
    expect(transport.readiness()).toEqual({ ok: true });
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

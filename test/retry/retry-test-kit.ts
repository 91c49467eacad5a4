/** Helpers of the retry-scheduler and notifier integration tests (real broker from KAFKA_BROKERS). */
import { randomBytes } from 'node:crypto';
import kafkajs from 'kafkajs';
import type { Admin, Producer } from 'kafkajs';
import { deliveryJobFixture } from '@odis/testing';
import { Logger } from '@nestjs/common';
import { topicSpecs, type DeliveryJob, type TopicSpec } from '@odis/contracts';
import { ConsumerRunner, ensureTopics, KafkaConnection, Outcome, type InboundMessage } from '@odis/messaging';
import { requireEnv } from '../support/infra.js';

const { Partitioners } = kafkajs;

export function brokers(): string[] {
  return requireEnv('KAFKA_BROKERS').split(',');
}

export function unique(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

export function connection(clientId = unique('it')): KafkaConnection {
  return new KafkaConnection({ brokers: brokers(), clientId, logLevel: 'nothing' });
}

export async function withAdmin<T>(conn: KafkaConnection, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = conn.kafka.admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}

/** Every platform topic (idempotent; safe when another test file already created them). */
export async function ensurePlatformTopics(conn: KafkaConnection, specs: TopicSpec[] = topicSpecs()): Promise<void> {
  const quiet = { log: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined, verbose: () => undefined };
  for (let attempt = 1; ; attempt++) {
    try {
      await ensureTopics(conn, specs, { logger: quiet });
      return;
    } catch (err) {
      if (attempt >= 5) throw err;
      await new Promise((r) => setTimeout(r, 500 * attempt));
    }
  }
}

/**
 * Commits a brand-new group's offsets at the current end of `topics`, so a consumer of that group
 * starts exactly there: it neither replays what earlier tests left in shared topics nor misses what
 * this test produces after it started.
 */
export async function seedGroupAtEnd(conn: KafkaConnection, groupId: string, topics: readonly string[]): Promise<void> {
  await withAdmin(conn, async (admin) => {
    for (const topic of topics) {
      // Just-created topics may not have a leader in the client's metadata yet: retry a few times.
      for (let attempt = 1; ; attempt++) {
        try {
          const offsets = await admin.fetchTopicOffsets(topic);
          await admin.setOffsets({ groupId, topic, partitions: offsets.map((o) => ({ partition: o.partition, offset: o.high })) });
          break;
        } catch (err) {
          if (attempt >= 10) throw err;
          await new Promise((r) => setTimeout(r, 300 * attempt));
        }
      }
    }
  });
}

export async function rawProducer(conn: KafkaConnection): Promise<Producer> {
  const producer = conn.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  return producer;
}

export function makeJob(overrides: Partial<DeliveryJob> & Pick<DeliveryJob, 'attempt' | 'due_at'>): DeliveryJob {
  const id = randomBytes(6).toString('hex');
  return deliveryJobFixture({
    delivery_id: `dlv_${id}`,
    event_id: `evt_${id}`,
    account_id: 'acct_it',
    subscription_id: `wh_${id}`,
    url: 'https://clinic.example.com/hook',
    secret_encrypted: 'v1.test',
    body: JSON.stringify({ event: 'call.started', timestamp: '2024-01-15T10:30:00Z', data: { call_id: `call_${id}` } }),
    created_at: new Date().toISOString(),
    ...overrides,
  });
}

export interface Arrival {
  at: number;
  message: InboundMessage;
  job: DeliveryJob;
}

/**
 * Records every record arriving on `topic` from now on (own group, seeded at the end), with the
 * wall-clock time it was handed to us.
 */
export async function collectTopic(conn: KafkaConnection, topic: string, onArrival?: (a: Arrival) => void): Promise<{ arrivals: Arrival[]; stop: () => Promise<void> }> {
  const groupId = unique('it-collector');
  await seedGroupAtEnd(conn, groupId, [topic]);
  const arrivals: Arrival[] = [];
  const runner = new ConsumerRunner(conn, {
    groupId,
    topics: [topic],
    partitionsConsumedConcurrently: 8,
    maxWaitTimeMs: 100,
    waitForAssignment: true,
    handler: async (message) => {
      const at = Date.now();
      let job: DeliveryJob;
      try {
        job = JSON.parse(message.value!.toString('utf8')) as DeliveryJob;
      } catch {
        return Outcome.done();
      }
      const arrival = { at, message, job };
      arrivals.push(arrival);
      onArrival?.(arrival);
      return Outcome.done();
    },
    logger: new Logger('it-collector'),
  });
  await runner.start();
  return { arrivals, stop: () => runner.stop() };
}

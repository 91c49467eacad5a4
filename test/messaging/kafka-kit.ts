/** Helpers of the messaging integration tests (real broker from KAFKA_BROKERS). */
import { waitFor as sharedWaitFor } from '../support/infra.js';
import { randomBytes } from 'node:crypto';
import kafkajs from 'kafkajs';
import type { Admin, Kafka, Producer } from 'kafkajs';
import { KafkaConnection, readTopicToEnd, type InboundMessage, type TopicReader } from '@odis/messaging';

const { Partitioners } = kafkajs;

export function brokers(): string[] {
  const raw = process.env.KAFKA_BROKERS;
  if (!raw) {
    throw new Error(
      'KAFKA_BROKERS is not set: run the messaging integration tests through jest\'s integration project (its globalSetup starts Kafka) or export KAFKA_BROKERS=host:port',
    );
  }
  return raw.split(',').map((b) => b.trim()).filter(Boolean);
}

export function unique(prefix: string): string {
  return `${prefix}.${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

export function connection(clientId = unique('it-client')): KafkaConnection {
  return new KafkaConnection({ brokers: brokers(), clientId, logLevel: 'error' });
}

export async function withAdmin<T>(kafka: Kafka, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}

export async function createTopic(kafka: Kafka, topic: string, partitions = 1, config: Record<string, string> = {}): Promise<void> {
  await withAdmin(kafka, (admin) =>
    admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic, numPartitions: partitions, replicationFactor: 1, configEntries: Object.entries(config).map(([name, value]) => ({ name, value })) }],
    }),
  );
}

/** Committed offset of each partition of `topic` for `groupId` ('-1' = nothing committed). */
export async function committed(kafka: Kafka, groupId: string, topic: string): Promise<Record<number, string>> {
  return withAdmin(kafka, async (admin) => {
    const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return Object.fromEntries(entry.partitions.map((p) => [p.partition, p.offset]));
  });
}

/** A plain kafkajs producer, so tests can pick partitions. */
export async function rawProducer(kafka: Kafka): Promise<Producer> {
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  await producer.connect();
  return producer;
}

/** Follows a topic from its beginning, collecting every record. */
export async function collect(conn: KafkaConnection, topic: string): Promise<{ records: InboundMessage[]; reader: TopicReader }> {
  const records: InboundMessage[] = [];
  const reader = await readTopicToEnd(conn, { topic, follow: true, onMessage: (m) => void records.push(m) });
  return { records, reader };
}

/** The shared poller of test/support/infra.ts, with this kit's (timeout, what) signature. */
export function waitFor<T>(predicate: () => T | Promise<T>, timeoutMs = 30_000, what = 'condition'): Promise<NonNullable<T>> {
  return sharedWaitFor(predicate, { timeoutMs, message: what });
}

export const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

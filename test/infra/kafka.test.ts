import { describe, it, expect, afterAll } from '@jest/globals';
import kafkajs from 'kafkajs';
import { requireEnv, uniqueTopic, waitFor } from '../support/infra.js';

const { Kafka, logLevel, Partitioners } = kafkajs;

describe('local Kafka broker', () => {
  const kafka = new Kafka({ clientId: 'infra-test', brokers: requireEnv('KAFKA_BROKERS').split(','), logLevel: logLevel.WARN });
  const admin = kafka.admin();
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  const consumer = kafka.consumer({ groupId: uniqueTopic('infra-test-group') });

  afterAll(async () => {
    await Promise.allSettled([consumer.disconnect(), producer.disconnect(), admin.disconnect()]);
  });

  it('is a single KRaft node that does not auto-create topics', async () => {
    await admin.connect();
    const cluster = await admin.describeCluster();
    expect(cluster.brokers).toHaveLength(1);
    const config = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: 4 /* BROKER */, name: String(cluster.brokers[0]!.nodeId), configNames: ['auto.create.topics.enable', 'num.partitions'] }],
    });
    const entries = Object.fromEntries(config.resources[0]!.configEntries.map((e) => [e.configName, e.configValue]));
    expect(entries).toEqual({ 'auto.create.topics.enable': 'false', 'num.partitions': '3' });
  });

  it('accepts a produce and delivers it to a consumer group', async () => {
    const topic = uniqueTopic('infra.kafka');
    await admin.connect();
    expect(await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 1 }], waitForLeaders: true })).toBe(true);

    await producer.connect();
    const sent = Array.from({ length: 6 }, (_, i) => ({ key: `acct-${i % 2}`, value: JSON.stringify({ n: i }) }));
    await producer.send({ topic, messages: sent });

    const received: { key: string; value: string; partition: number }[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message, partition }) => {
        received.push({ key: message.key!.toString(), value: message.value!.toString(), partition });
      },
    });
    await waitFor(() => received.length === sent.length, { timeoutMs: 30_000, message: `${received.length}/${sent.length} messages consumed` });
    expect(received.map((m) => m.value).sort()).toEqual(sent.map((m) => m.value).sort());
    // same key → same partition
    for (const key of ['acct-0', 'acct-1']) expect(new Set(received.filter((m) => m.key === key).map((m) => m.partition)).size).toBe(1);
  });
});

/**
 * Creates every topic of the platform (`topicSpecs()` from @odis/contracts) on the cluster named by
 * KAFKA_BROKERS, waiting for the cluster first. Run before the apps start:
 *
 *   KAFKA_BROKERS=host:9092 node dist/libs/messaging/src/cli/ensure-topics.js
 *
 * Settings: `ensureTopicsSettings` (KAFKA_BROKERS, KAFKA_PARTITIONS, KAFKA_REPLICATION_FACTOR,
 * KAFKA_WAIT_TIMEOUT_MS, EVENT_RETENTION_DAYS, …). Exit code 0 on success, 1 on failure.
 */
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { kafkaSecurityOf } from '@odis/config';
import { topicSpecs } from '@odis/contracts';
import { ensureTopics, MissingTopicsError, waitForKafka } from '../ensure-topics.js';
import { KafkaConnection } from '../kafka-connection.js';
import { ensureTopicsSettings } from './ensure-topics.settings.js';

async function main(): Promise<void> {
  const logger = new Logger('ensure-topics');
  const config = ensureTopicsSettings.load();
  const connection = new KafkaConnection({
    clientId: config.KAFKA_CLIENT_ID,
    brokers: config.KAFKA_BROKERS,
    logLevel: config.KAFKA_LOG_LEVEL,
    security: kafkaSecurityOf(config),
  });
  const timeoutMs = config.KAFKA_WAIT_TIMEOUT_MS;
  logger.log(`waiting for Kafka at ${connection.options.brokers.join(',')}`);
  await waitForKafka(connection, { timeoutMs, logger });
  const specs = topicSpecs(config.KAFKA_PARTITIONS, { eventRetentionDays: config.EVENT_RETENTION_DAYS });
  const report = await ensureTopics(connection, specs, { logger, replicationFactor: config.KAFKA_REPLICATION_FACTOR });
  logger.log(
    `topics ready: ${specs.length} (created ${report.created.length}, updated ${report.updated.length}, unchanged ${report.unchanged.length})` +
      (report.restricted ? `; ${report.restricted}` : ''),
  );
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    // What is missing is the whole message; a stack would only bury it.
    const text = error instanceof MissingTopicsError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error);
    new Logger('ensure-topics').error(text);
    process.exit(1);
  },
);

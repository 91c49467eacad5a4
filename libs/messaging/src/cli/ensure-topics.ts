/**
 * Creates every topic of the platform (`topicSpecs()` from @odis/contracts) on the cluster named by
 * KAFKA_BROKERS, waiting for the cluster first. Run before the apps start:
 *
 *   KAFKA_BROKERS=host:9092 node dist/libs/messaging/src/cli/ensure-topics.js
 *
 * Env: KAFKA_BROKERS (required), KAFKA_PARTITIONS (default 6), KAFKA_REPLICATION_FACTOR (default:
 * broker default), KAFKA_WAIT_TIMEOUT_MS (default 120000). Exit code 0 on success, 1 on failure.
 */
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { topicSpecs } from '@odis/contracts';
import { ensureTopics, waitForKafka } from '../ensure-topics.js';
import { KafkaConnection } from '../kafka-connection.js';

async function main(): Promise<void> {
  const logger = new Logger('ensure-topics');
  const connection = KafkaConnection.fromEnv(process.env.KAFKA_CLIENT_ID ?? 'odis-ensure-topics');
  const timeoutMs = Number(process.env.KAFKA_WAIT_TIMEOUT_MS ?? 120_000);
  logger.log(`waiting for Kafka at ${connection.options.brokers.join(',')}`);
  await waitForKafka(connection, { timeoutMs: Number.isFinite(timeoutMs) ? timeoutMs : 120_000, logger });
  const specs = topicSpecs();
  const report = await ensureTopics(connection, specs, { logger });
  logger.log(
    `topics ready: ${specs.length} (created ${report.created.length}, updated ${report.updated.length}, unchanged ${report.unchanged.length})`,
  );
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    new Logger('ensure-topics').error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);

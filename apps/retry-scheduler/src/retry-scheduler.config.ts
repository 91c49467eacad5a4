import { loadConfig, settings } from '@odis/config';
import { z } from 'zod';

/** Every setting of the retry-scheduler, validated once at start (a bad one stops it with exit code 78). */
export const retrySchedulerSettings = {
  PORT: settings.port(3003),
  KAFKA_BROKERS: settings.kafkaBrokers,
  /** Delays before attempts 1..n (`0,1m,5m,30m,2h`, the public page's table, by default). Tier n holds attempt n for delay n. */
  WEBHOOK_RETRY_SCHEDULE: settings.retrySchedule,
  /** Consumer group of the tier topics: every replica uses the same one and gets its share of the partitions. */
  RETRY_SCHEDULER_GROUP: z.string().optional().default('retry-scheduler'),
  /**
   * Records of one partition handed to the handler at once. Still head-of-line: a partition is in
   * due order, so when one record is not due none after it is, and the partition is paused at the
   * earliest record that deferred. More than 1 lets the due records of a partition be published in
   * one producer batch instead of one acknowledgement after another.
   */
  RETRY_SCHEDULER_PARTITION_CONCURRENCY: settings.int(32, 1, 1_000),
  /** Partitions worked on at once (each partition only ever at its head). */
  RETRY_SCHEDULER_PARTITIONS_CONCURRENTLY: settings.int(32, 1, 1_000),
  /** Longest fetch wait, ms: also bounds how late a resumed partition is fetched again. */
  RETRY_SCHEDULER_MAX_WAIT_MS: settings.int(200, 10, 5_000),
  /** Consumer session timeout, ms: after a crash, how long until its partitions move to another replica. */
  KAFKA_SESSION_TIMEOUT_MS: settings.int(30_000, 6_000, 300_000),
  LOG_LEVEL: settings.logLevel,
};

export type RetrySchedulerConfig = ReturnType<typeof loadRetrySchedulerConfig>;
export const RETRY_SCHEDULER_CONFIG = Symbol('RETRY_SCHEDULER_CONFIG');

export function loadRetrySchedulerConfig(env: NodeJS.ProcessEnv = process.env) {
  return loadConfig(retrySchedulerSettings, env);
}

import { defineSettings, httpAppSettings, kafkaConsumerSettings, retryScheduleSettings, settings, type SettingsOf } from '@odis/config';
import { z } from 'zod';

/** Every setting of the retry-scheduler, validated once at start (a bad one stops it with exit code 78). Tier n holds attempt n for delay n. */
export const retrySchedulerSettings = defineSettings('retry-scheduler', {
  ...httpAppSettings(3003),
  ...kafkaConsumerSettings,
  ...retryScheduleSettings,
  RETRY_SCHEDULER_GROUP: z
    .string()
    .optional()
    .default('retry-scheduler')
    .describe('consumer group of the tier topics: every replica uses the same one and gets its share of the partitions'),
  /**
   * Still head-of-line: a partition is in due order, so when one record is not due none after it is,
   * and the partition is paused at the earliest record that deferred. More than 1 lets the due
   * records of a partition be published in one producer batch instead of one acknowledgement after another.
   */
  RETRY_SCHEDULER_PARTITION_CONCURRENCY: settings.int(32, 1, 1_000).describe('records of one tier partition in flight (still in due order)'),
  RETRY_SCHEDULER_PARTITIONS_CONCURRENTLY: settings.int(32, 1, 1_000).describe('partitions worked on at once (each only ever at its head)'),
  RETRY_SCHEDULER_MAX_WAIT_MS: settings.int(200, 10, 5_000).describe('longest fetch wait; also bounds how late a resumed partition is fetched again'),
});

export type RetrySchedulerConfig = SettingsOf<typeof retrySchedulerSettings>;
/** Nest injection token of the retry-scheduler's settings. */
export const RetrySchedulerConfig = retrySchedulerSettings.token;
/** The same token under its older name. */
export const RETRY_SCHEDULER_CONFIG = RetrySchedulerConfig;
export const loadRetrySchedulerConfig = retrySchedulerSettings.load;

import { defineSettings, eventRetentionSettings, kafkaClientSettings, settings, type SettingsOf } from '@odis/config';
import { z } from 'zod';

/** The settings of the ensure-topics CLI (libs/messaging/src/cli/ensure-topics.ts). */
export const ensureTopicsSettings = defineSettings('ensure-topics', {
  ...kafkaClientSettings,
  ...eventRetentionSettings,
  KAFKA_CLIENT_ID: z.string().optional().default('odis-ensure-topics').describe('Kafka client id of ensure-topics'),
  KAFKA_WAIT_TIMEOUT_MS: settings.int(120_000, 0, 3_600_000).describe('how long ensure-topics waits for the Kafka cluster'),
  KAFKA_PARTITIONS: settings.int(6, 1, 10_000).describe('partitions of the platform topics'),
  KAFKA_REPLICATION_FACTOR: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return -1;
      const n = Number(v);
      if (!Number.isInteger(n) || (n < 1 && n !== -1)) {
        ctx.addIssue({ code: 'custom', message: 'must be a positive integer (or -1: the broker default)' });
        return z.NEVER;
      }
      return n;
    })
    .describe('replication factor of created topics (-1: the broker default)'),
});

export type EnsureTopicsConfig = SettingsOf<typeof ensureTopicsSettings>;

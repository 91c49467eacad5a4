import { z } from 'zod';
import { documented } from './define-settings.js';
import { privateTargetGuardSettings, settings } from './load-config.js';

/**
 * Settings shared by several apps, defined once and spread into each app's `defineSettings` shape
 * (the database ones are `databaseSettings` in @odis/persistence, next to the pool they configure).
 */

/** The kafkajs log levels, as `KafkaConnectionOptions.logLevel` takes them. */
export const KAFKA_LOG_LEVELS = ['nothing', 'error', 'warn', 'info', 'debug'] as const;
export type KafkaLogLevelSetting = (typeof KAFKA_LOG_LEVELS)[number];

/** Every app and CLI that talks to Kafka. */
export const kafkaClientSettings = {
  KAFKA_BROKERS: documented(settings.kafkaBrokers, { description: '`host:port[,host:port]`', setByLocalStack: true }),
  /** Lenient on purpose: an unknown level is `warn`, as it always was. */
  KAFKA_LOG_LEVEL: z
    .string()
    .optional()
    .transform((v): KafkaLogLevelSetting => {
      const level = v?.trim().toLowerCase();
      return (KAFKA_LOG_LEVELS as readonly string[]).includes(level ?? '') ? (level as KafkaLogLevelSetting) : 'warn';
    })
    .describe('verbosity of the Kafka client (`nothing`, `error`, `warn`, `info`, `debug`; anything else is `warn`)'),
};

/** Every app that runs a Kafka consumer group. */
export const kafkaConsumerSettings = {
  ...kafkaClientSettings,
  KAFKA_SESSION_TIMEOUT_MS: settings
    .int(30_000, 6_000, 300_000)
    .describe("consumer session timeout: how soon a crashed member's partitions move to the others"),
};

/** The apps that seal or open webhook secrets. */
export const encryptionKeySettings = {
  SECRET_ENCRYPTION_KEY: documented(settings.encryptionKey, {
    description: 'base64 of 32 random bytes (`openssl rand -base64 32`); AES-256-GCM key of webhook secrets',
    setByLocalStack: true,
  }),
  SECRET_ENCRYPTION_KEY_PREVIOUS: settings.encryptionKeyList.describe(
    'comma-separated keys of earlier rotations (newest first), still used to decrypt; `npm run cli -- secrets reencrypt` seals every secret under the current key, after which they can go',
  ),
};

/** The apps that plan attempts (keep it the same in all of them). */
export const retryScheduleSettings = {
  WEBHOOK_RETRY_SCHEDULE: documented(settings.retrySchedule, {
    description:
      'delay before each attempt (units ms, s, m, h, d); its length is the number of attempts before disabling. Keep it the same in every app that reads it',
    setByLocalStack: true,
  }),
};

/** The SSRF switch and its production guard; pass `refusePrivateTargetsInProduction` as a rule with them. */
export const privateTargetSettings = {
  WEBHOOK_ALLOW_PRIVATE_TARGETS: documented(settings.bool(false), {
    description: 'allow http and private/loopback/link-local targets (local stack and tests only)',
    setByLocalStack: true,
  }),
  NODE_ENV: privateTargetGuardSettings.NODE_ENV.describe(
    'with `production`, `WEBHOOK_ALLOW_PRIVATE_TARGETS=true` is refused at start unless `WEBHOOK_ALLOW_PRIVATE_TARGETS_IN_PRODUCTION=true`',
  ),
  WEBHOOK_ALLOW_PRIVATE_TARGETS_IN_PRODUCTION: privateTargetGuardSettings.WEBHOOK_ALLOW_PRIVATE_TARGETS_IN_PRODUCTION.describe(
    'the second, explicit switch that allows `WEBHOOK_ALLOW_PRIVATE_TARGETS=true` with `NODE_ENV=production`',
  ),
};

/** Every HTTP app: its port (the default differs per app) and log level. */
export const httpAppSettings = (port: number) => ({
  PORT: settings.port(port).describe('HTTP port (`/health`, `/ready`, the API)'),
  LOG_LEVEL: settings.logLevel.describe('log verbosity (`error`, `warn`, `log`, `debug`, `verbose`)'),
});

/** The apps that write subscription events and so run the outbox relay (subscription-api, notifier). */
export const outboxRelaySettings = {
  OUTBOX_POLL_MS: settings.int(30_000, 10, 600_000).describe('safety-net poll of the outbox (NOTIFY wakes it at once)'),
  /**
   * A relay that takes over from one that died mid-publish waits this long before its first
   * publish, so a stale send of the old leader can never land after the new leader's records.
   */
  OUTBOX_FENCING_WINDOW_MS: settings
    .int(60_000, 100, 600_000)
    .describe('longest one relay publish may take; a relay taking over from a dead leader waits out its window'),
};

/** The event log's retention: ensure-topics applies it; what a recovery can replay (issue 11). */
export const eventRetentionSettings = {
  EVENT_RETENTION_DAYS: settings
    .int(30, 1, 3650)
    .describe('how long the per-type event topics (`events.*`) keep events, the event log the platform can replay (applied by ensure-topics, also to existing topics)'),
};

import { loadConfig, settings } from '@odis/config';
import { z } from 'zod';
import { databaseSettingsShape } from '@odis/persistence';

/** Every setting of the notifier, validated once at start (a bad one stops it with exit code 78). */
export const notifierSettings = {
  PORT: settings.port(3004),
  KAFKA_BROKERS: settings.kafkaBrokers,
  DATABASE_URL: settings.databaseUrl,
  /** smtp://[user:pass@]host:port (or smtps://). */
  SMTP_URL: settings.smtpUrl,
  MAIL_FROM: z.string().optional().default('ODIS Webhooks <webhooks@odis.ai>'),
  /** Public API base used in the email's re-enable call. */
  PUBLIC_API_URL: z.string().url().optional().default('https://api.odis.ai'),
  /** Optional link to the dashboard's Settings → Webhooks page, added to the email. */
  DASHBOARD_URL: z
    .string()
    .optional()
    .transform((v) => (v && v.trim() !== '' ? v.trim() : null)),
  /** Consumer group of `webhooks.exhausted`. */
  NOTIFIER_GROUP: z.string().optional().default('notifier'),
  /** First retry delay of an email that could not be handed to SMTP, ms (doubled per attempt). */
  NOTIFIER_RETRY_INITIAL_MS: settings.int(5_000, 10, 3_600_000),
  /** Longest retry delay of an email, ms. */
  NOTIFIER_RETRY_MAX_MS: settings.int(300_000, 10, 86_400_000),
  /** Longest idle wait of the sender between looks at the notification log, ms. */
  NOTIFIER_POLL_MS: settings.int(5_000, 10, 600_000),
  /** SMTP connection, greeting and socket timeouts, ms. */
  SMTP_TIMEOUT_MS: settings.int(10_000, 100, 120_000),
  KAFKA_SESSION_TIMEOUT_MS: settings.int(30_000, 6_000, 300_000),
  LOG_LEVEL: settings.logLevel,
  ...databaseSettingsShape,
};

export type NotifierConfig = ReturnType<typeof loadNotifierConfig>;
export const NOTIFIER_CONFIG = Symbol('NOTIFIER_CONFIG');

export function loadNotifierConfig(env: NodeJS.ProcessEnv = process.env) {
  return loadConfig(notifierSettings, env);
}

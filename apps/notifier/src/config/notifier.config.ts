import { defineSettings, documented, httpAppSettings, kafkaConsumerSettings, outboxRelaySettings, settings, type SettingsOf } from '@odis/config';
import { databaseSettings } from '@odis/persistence';
import { z } from 'zod';

/** Every setting of the notifier, validated once at start (a bad one stops it with exit code 78). */
export const notifierSettings = defineSettings('notifier', {
  ...httpAppSettings(3004),
  ...kafkaConsumerSettings,
  ...databaseSettings,
  ...outboxRelaySettings,
  SMTP_URL: documented(settings.smtpUrl, { description: '`smtp://[user:pass@]host:port` or `smtps://`', setByLocalStack: true }),
  MAIL_FROM: z.string().optional().default('ODIS Webhooks <webhooks@odis.ai>').describe('sender of the emails'),
  PUBLIC_API_URL: z.string().url().optional().default('https://api.odis.ai').describe("API base in the email's re-enable call"),
  DASHBOARD_URL: z
    .string()
    .optional()
    .transform((v) => (v && v.trim() !== '' ? v.trim() : null))
    .describe("link to the dashboard's Settings → Webhooks page, added to the email"),
  NOTIFIER_GROUP: z.string().optional().default('notifier').describe('consumer group of `webhooks.exhausted`'),
  NOTIFIER_RETRY_INITIAL_MS: settings
    .int(5_000, 10, 3_600_000)
    .describe('first retry delay of an email SMTP did not take (doubled per attempt)'),
  NOTIFIER_RETRY_MAX_MS: settings.int(300_000, 10, 86_400_000).describe('longest retry delay of an email'),
  NOTIFIER_POLL_MS: settings.int(30_000, 10, 600_000).describe('safety-net poll of the notification log (a NOTIFY on a new row wakes the sender at once)'),
  SMTP_TIMEOUT_MS: settings.int(10_000, 100, 120_000).describe('SMTP connection, greeting and socket timeouts'),
});

export type NotifierConfig = SettingsOf<typeof notifierSettings>;
/** Nest injection token of the notifier's settings. */
export const NotifierConfig = notifierSettings.token;
/** The same token under its older name. */
export const NOTIFIER_CONFIG = NotifierConfig;
export const loadNotifierConfig = notifierSettings.load;

import { z } from 'zod';
import { defineSettings, documented, encryptionKeySettings, eventRetentionSettings, httpAppSettings, kafkaConsumerSettings, outboxRelaySettings, privateTargetSettings, refusePrivateTargetsInProduction, settings, type SettingsOf } from '@odis/config';
import { databaseSettings } from '@odis/persistence';

/** Every setting of subscription-api, validated once at start (a bad one stops it with exit code 78). */
export const subscriptionApiSettings = defineSettings(
  'subscription-api',
  {
    ...httpAppSettings(3000),
    ...kafkaConsumerSettings,
    ...databaseSettings,
    ...encryptionKeySettings,
    ...privateTargetSettings,
    WEBHOOK_MAX_PER_ACCOUNT: settings
      .int(25, 1, 100_000)
      .describe('most webhooks (not deleted) one account may have; one more is `409 webhook_limit_reached`'),
    WEBHOOK_EGRESS_IPS: z
      .string()
      .optional()
      .default('52.123.45.67,52.123.45.68')
      .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean))
      .describe('what `GET /v1/webhooks/ips` lists'),
    API_RATE_LIMIT_PER_SECOND: settings.int(50, 1, 100_000).describe('per API key token bucket, sustained per second (beyond it 429 + `Retry-After`)'),
    API_RATE_LIMIT_BURST: settings.int(100, 1, 1_000_000).describe('per API key token bucket, burst'),
    API_MAX_BODY_BYTES: settings.int(64 * 1024, 1024, 10 * 1024 * 1024).describe('larger request bodies get 413'),
    API_AUTH_LOOKUPS_PER_SECOND: settings
      .int(2, 1, 100_000)
      .describe('database lookups of API keys this instance has not seen valid, per client address (IPv6: per /64), sustained per second; beyond it 429'),
    API_AUTH_LOOKUPS_BURST: settings.int(20, 1, 1_000_000).describe('the same lookups per client address, burst'),
    API_AUTH_LOOKUPS_GLOBAL_PER_SECOND: documented(settings.int(50, 1, 1_000_000), {
      description: 'the same lookups summed over all clients (bounds an attacker rotating addresses)',
      shownDefault: '`50` (burst ×2)',
    }),
    API_TRUST_PROXY: z
      .string()
      .optional()
      .default('')
      .describe(
        "Express `trust proxy` (e.g. `1` hops, or `loopback, 10.0.0.0/8`); empty = the socket address. Set it behind an ingress, or all clients share its address's lookup budget",
      ),
    WEBHOOK_TEST_TIMEOUT_MS: settings
      .int(15_000, 1_000, 300_000)
      .describe('how long `POST /v1/webhooks/{id}/test` waits for the attempt to be logged before `504`; keep it above the dispatcher\'s `WEBHOOK_TIMEOUT_MS`'),
    ...outboxRelaySettings,
    ...eventRetentionSettings,
    RECOVERY_JOBS_PER_SECOND: settings
      .int(500, 1, 1_000_000)
      .describe('most delivery jobs one replica produces per second for recoveries (`POST /v1/webhooks/{id}/recover`), so replays leave room for live deliveries; one recovery runs at a time per replica'),
  },
  [refusePrivateTargetsInProduction],
);

export type SubscriptionApiConfig = SettingsOf<typeof subscriptionApiSettings>;
/** Nest injection token of subscription-api's settings. */
export const SubscriptionApiConfig = subscriptionApiSettings.token;
/** The same token under its older name. */
export const SUBSCRIPTION_API_CONFIG = SubscriptionApiConfig;
export const loadSubscriptionApiConfig = subscriptionApiSettings.load;

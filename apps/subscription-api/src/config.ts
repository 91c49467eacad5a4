import { z } from 'zod';
import { loadConfig, privateTargetGuardSettings, refusePrivateTargetsInProduction, settings } from '@odis/config';
import { databaseSettingsShape } from '@odis/persistence';

export const subscriptionApiSettings = {
  PORT: settings.port(3000),
  DATABASE_URL: settings.databaseUrl,
  KAFKA_BROKERS: settings.kafkaBrokers,
  SECRET_ENCRYPTION_KEY: settings.encryptionKey,
  /** Keys before rotations, still accepted for decryption: comma-separated base64 keys, newest first. */
  SECRET_ENCRYPTION_KEY_PREVIOUS: settings.encryptionKeyList,
  WEBHOOK_ALLOW_PRIVATE_TARGETS: settings.bool(false),
  /** NODE_ENV and WEBHOOK_ALLOW_PRIVATE_TARGETS_IN_PRODUCTION: private targets are refused in production without the override. */
  ...privateTargetGuardSettings,
  WEBHOOK_EGRESS_IPS: z
    .string()
    .optional()
    .default('52.123.45.67,52.123.45.68')
    .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean)),
  API_RATE_LIMIT_PER_SECOND: settings.int(50, 1, 100_000),
  API_RATE_LIMIT_BURST: settings.int(100, 1, 1_000_000),
  API_MAX_BODY_BYTES: settings.int(64 * 1024, 1024, 10 * 1024 * 1024),
  /** Database lookups of API keys this instance has not seen valid, per client IP (IPv6: per /64): sustained per second, and burst. */
  API_AUTH_LOOKUPS_PER_SECOND: settings.int(2, 1, 100_000),
  API_AUTH_LOOKUPS_BURST: settings.int(20, 1, 1_000_000),
  /** The same, summed over all clients (bounds an attacker rotating addresses). */
  API_AUTH_LOOKUPS_GLOBAL_PER_SECOND: settings.int(50, 1, 1_000_000),
  /** Express `trust proxy`: empty = use the socket address; e.g. `1` (hops) or `loopback, 10.0.0.0/8` behind a proxy. */
  API_TRUST_PROXY: z.string().optional().default(''),
  /** Most webhooks (not deleted) one account may have. */
  WEBHOOK_MAX_PER_ACCOUNT: settings.int(25, 1, 100_000),
  ...databaseSettingsShape,
  OUTBOX_POLL_MS: settings.int(500, 10, 60_000),
  /**
   * Fencing window of the outbox relay (ms): the longest one publish may take. A relay that takes
   * over from one that died mid-publish waits this long before its first publish, so a stale send
   * of the old leader can never land after the new leader's records.
   */
  OUTBOX_FENCING_WINDOW_MS: settings.int(60_000, 100, 600_000),
  LOG_LEVEL: settings.logLevel,
};

export type SubscriptionApiConfig = ReturnType<typeof loadSubscriptionApiConfig>;
export const SUBSCRIPTION_API_CONFIG = Symbol('SUBSCRIPTION_API_CONFIG');

export function loadSubscriptionApiConfig(env: NodeJS.ProcessEnv = process.env) {
  return loadConfig(subscriptionApiSettings, env, [refusePrivateTargetsInProduction]);
}

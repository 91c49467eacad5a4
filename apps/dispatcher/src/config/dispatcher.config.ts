import { loadConfig, privateTargetGuardSettings, refusePrivateTargetsInProduction, settings } from '@odis/config';
import { z } from 'zod';

/** Every setting of the dispatcher, validated once at start (a bad one stops it with exit code 78). */
export const dispatcherSettings = {
  PORT: settings.port(3002),
  KAFKA_BROKERS: settings.kafkaBrokers,
  /** Decrypts the webhook secrets of the subscription snapshots (SecretBox, base64 of 32 bytes). */
  SECRET_ENCRYPTION_KEY: settings.encryptionKey,
  /** Keys before rotations, still accepted for decryption: comma-separated base64 keys, newest first. */
  SECRET_ENCRYPTION_KEY_PREVIOUS: settings.encryptionKeyList,
  /**
   * How long the follower of `webhooks.subscriptions` may stay behind an end offset it has seen
   * before `/ready` turns red (ms); also red when the follower is not running.
   */
  DISPATCH_CHANGELOG_MAX_LAG_MS: settings.int(30_000, 1_000, 3_600_000),
  /** Delays before attempts 1..n, e.g. `0,1m,5m,30m,2h` (the public page's table, the default). */
  WEBHOOK_RETRY_SCHEDULE: settings.retrySchedule,
  /** Total time an attempt may take, connect to last byte (ms). */
  WEBHOOK_TIMEOUT_MS: settings.int(10_000, 100, 120_000),
  /** Allow private, loopback and link-local targets (local stack and tests only). */
  WEBHOOK_ALLOW_PRIVATE_TARGETS: settings.bool(false),
  /** NODE_ENV and WEBHOOK_ALLOW_PRIVATE_TARGETS_IN_PRODUCTION: private targets are refused in production without the override. */
  ...privateTargetGuardSettings,
  /** Local address to bind outgoing connections to (a fixed egress IP). */
  WEBHOOK_LOCAL_ADDRESS: z
    .string()
    .optional()
    .transform((v) => (v && v.trim() !== '' ? v.trim() : undefined))
    .refine((v) => v === undefined || /^[0-9a-fA-F.:]+$/.test(v), 'must be an IP address'),
  /** Most bytes of a response read (the rest is not downloaded). */
  WEBHOOK_MAX_RESPONSE_BYTES: settings.int(64 * 1024, 0, 64 * 1024),
  /** Most bytes of the response body kept in the attempt record. */
  WEBHOOK_RESPONSE_EXCERPT_BYTES: settings.int(4 * 1024, 0, 64 * 1024),
  /** Deliveries in flight per partition of `webhooks.deliveries` (offsets commit over the finished prefix). */
  DISPATCH_CONCURRENCY: settings.int(256, 1, 10_000),
  /** Events in flight per partition of the `events.*` topics (each may fan out to many deliveries). */
  DISPATCH_FANOUT_CONCURRENCY: settings.int(64, 1, 10_000),
  /** Requests in flight per endpoint (URL origin); more wait in that endpoint's own queue. */
  DISPATCH_PER_ENDPOINT_CONCURRENCY: settings.int(8, 1, 1_000),
  /**
   * Fan-out waits at most this long for a busy endpoint's slot before handing the delivery off to
   * `webhooks.deliveries`; an endpoint with every slot held and none freed for this long (stalled)
   * gets its deliveries handed off at once.
   */
  DISPATCH_HANDOFF_AFTER_MS: settings.int(1_000, 0, 60_000),
  /** Kafka consumer group ids (one per consumer). */
  DISPATCH_FANOUT_GROUP: z.string().optional().default('dispatcher-fanout'),
  DISPATCH_DELIVERY_GROUP: z.string().optional().default('dispatcher-deliveries'),
  /**
   * Where a consumer group without committed offsets starts: at the beginning of the retained
   * events (default: nothing produced before the first start is missed) or at their end.
   */
  DISPATCH_FROM_BEGINNING: settings.bool(true),
  /** Kafka consumer session timeout: how soon a crashed member's partitions move to the others. */
  KAFKA_SESSION_TIMEOUT_MS: settings.int(30_000, 6_000, 300_000),
  /** V8 old-generation growing factor in percent (applied in main.ts; 0 = V8's default heuristics). */
  DISPATCH_HEAP_GROWING_PERCENT: settings.int(50, 0, 1_000),
  LOG_LEVEL: settings.logLevel,
};

export type DispatcherConfig = ReturnType<typeof loadDispatcherConfig>;
export const DISPATCHER_CONFIG = Symbol('DISPATCHER_CONFIG');

export function loadDispatcherConfig(env: NodeJS.ProcessEnv = process.env) {
  return loadConfig(dispatcherSettings, env, [refusePrivateTargetsInProduction]);
}

import {
  defineSettings,
  documented,
  encryptionKeySettings,
  httpAppSettings,
  kafkaConsumerSettings,
  privateTargetSettings,
  refusePrivateTargetsInProduction,
  retryScheduleSettings,
  settings,
  type SettingsOf,
} from '@odis/config';
import { z } from 'zod';

/** Every setting of the dispatcher, validated once at start (a bad one stops it with exit code 78). */
export const dispatcherSettings = defineSettings(
  'dispatcher',
  {
    ...httpAppSettings(3002),
    ...kafkaConsumerSettings,
    /** Decrypts the webhook secrets of the subscription snapshots (SecretBox); earlier keys still decrypt. */
    ...encryptionKeySettings,
    ...retryScheduleSettings,
    ...privateTargetSettings,
    DISPATCH_CHANGELOG_MAX_LAG_MS: settings
      .int(30_000, 1_000, 3_600_000)
      .describe('how long the `webhooks.subscriptions` follower may stay behind an end offset it has seen before `/ready` turns red (also red when it is not running)'),
    WEBHOOK_TIMEOUT_MS: settings.int(10_000, 100, 120_000).describe('total time of one attempt, connect to last byte'),
    WEBHOOK_LOCAL_ADDRESS: z
      .string()
      .optional()
      .transform((v) => (v && v.trim() !== '' ? v.trim() : undefined))
      .refine((v) => v === undefined || /^[0-9a-fA-F.:]+$/.test(v), 'must be an IP address')
      .describe('local IP to bind outgoing connections to (fixed egress IP)'),
    WEBHOOK_MAX_RESPONSE_BYTES: settings.int(64 * 1024, 0, 64 * 1024).describe('most bytes of a response read (the rest is not downloaded)'),
    WEBHOOK_RESPONSE_EXCERPT_BYTES: settings.int(4 * 1024, 0, 64 * 1024).describe('response bytes kept in the delivery log'),
    DISPATCH_CONCURRENCY: settings
      .int(256, 1, 10_000)
      .describe('deliveries in flight per partition of `webhooks.deliveries` (offsets commit over the finished prefix)'),
    DISPATCH_FANOUT_CONCURRENCY: settings
      .int(64, 1, 10_000)
      .describe('events in flight per partition of `events.*` (each may fan out to many deliveries)'),
    DISPATCH_PER_ENDPOINT_CONCURRENCY: settings
      .int(8, 1, 1_000)
      .describe("requests in flight per endpoint origin; more wait in that endpoint's own queue"),
    DISPATCH_HANDOFF_AFTER_MS: settings
      .int(1_000, 0, 60_000)
      .describe(
        'how long fan-out waits for a busy endpoint before handing the delivery to `webhooks.deliveries`; an endpoint with every slot held and none freed for this long gets its deliveries handed off at once',
      ),
    DISPATCH_BREAKER_FAILURES: settings
      .int(5, 0, 1_000)
      .describe(
        'consecutive unanswered attempts (timeout, refused, reset, DNS, TLS) that open an endpoint origin\'s circuit breaker: its new deliveries are then parked on the retry path, not attempted (decision 0014); 0 = no breaker',
      ),
    DISPATCH_BREAKER_OPEN_MS: settings
      .int(30_000, 100, 3_600_000)
      .describe('how long an opened breaker parks first attempts before one probe goes (doubled after each failed probe); also how long a delivery of a stalled endpoint with a full queue is parked'),
    DISPATCH_BREAKER_MAX_OPEN_MS: settings
      .int(300_000, 100, 86_400_000)
      .describe('longest opening of a breaker after repeated failed probes (at least `DISPATCH_BREAKER_OPEN_MS`; a parked delivery never waits longer than the last retry tier\'s delay)'),
    DISPATCH_ORDERING_SETTLE_MS: settings
      .int(250, 0, 60_000)
      .describe(
        'webhooks with `ordering: "call"` (decision 0017): how long an idle call\'s first delivery waits before it is attempted, so the same call\'s events fanned out a moment later from the other per-type topics are sorted in front by ingest time',
      ),
    DISPATCH_FANOUT_GROUP: z.string().optional().default('dispatcher-fanout').describe('consumer group of the `events.*` topics'),
    DISPATCH_DELIVERY_GROUP: z.string().optional().default('dispatcher-deliveries').describe('consumer group of `webhooks.deliveries`'),
    DISPATCH_FROM_BEGINNING: settings
      .bool(true)
      .describe('where a new consumer group starts: at the beginning of the retained events (nothing produced before the first start is missed) or at their end'),
    DISPATCH_HEAP_GROWING_PERCENT: documented(settings.int(50, 0, 1_000), {
      description: "V8 old-generation growing factor in percent (keeps the RSS peak near 1.5x the live heap); 0 = V8's own heuristics",
    }),
  },
  [refusePrivateTargetsInProduction],
);

export type DispatcherConfig = SettingsOf<typeof dispatcherSettings>;
/** Nest injection token of the dispatcher's settings. */
export const DispatcherConfig = dispatcherSettings.token;
/** The same token under its older name. */
export const DISPATCHER_CONFIG = DispatcherConfig;
export const loadDispatcherConfig = dispatcherSettings.load;

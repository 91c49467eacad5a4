import { defineSettings, documented, httpAppSettings, kafkaConsumerSettings, settings, type SettingsOf } from '@odis/config';
import { z } from 'zod';

/** Every setting of event-ingest, validated once at start (a bad one stops it with exit code 78). */
export const ingestSettings = defineSettings('event-ingest', {
  ...httpAppSettings(3001),
  ...kafkaConsumerSettings,
  INGEST_SERVICE_TOKEN: documented(
    z.string({ message: 'must be set (at least 16 characters)' }).min(16, 'must be at least 16 characters'),
    { description: 'bearer token of `POST /v1/events` (systems that cannot produce to Kafka)', shownDefault: '— (required, ≥ 16 chars)', setByLocalStack: true },
  ),
  INGEST_MAX_EVENT_BYTES: settings
    .int(256 * 1024, 1024, 16 * 1024 * 1024)
    .describe(
      'larger raw events are dead-lettered (Kafka) or answered 413 (HTTP); the other input limits (nesting 32, `details` depth 8, signed body 256 KiB, …) are fixed in the contracts: docs/decisions/0006',
    ),
  INGEST_MAX_BATCH_BYTES: settings
    .int(4 * 1024 * 1024, 1024, 64 * 1024 * 1024)
    .describe(
      'body limit of the batch form of `POST /v1/events` (an array of at most 100 events, each within INGEST_MAX_EVENT_BYTES); the effective limit is the smaller of this and 100 × INGEST_MAX_EVENT_BYTES (413 over it)',
    ),
  INGEST_CONCURRENCY: settings.int(64, 1, 10_000).describe('raw events validated at once per partition'),
  INGEST_GROUP: z.string().optional().default('event-ingest').describe('consumer group of `telephony.events.raw`'),
  INGEST_PUBLISH_TIMEOUT_MS: settings.int(10_000, 100, 120_000).describe("longest `POST /v1/events` waits for Kafka's acknowledgement before a 503"),
  INGEST_FROM_BEGINNING: settings.bool(true).describe('where a new consumer group starts (default: the beginning)'),
});

export type IngestConfig = SettingsOf<typeof ingestSettings>;
/** Nest injection token of event-ingest's settings. */
export const IngestConfig = ingestSettings.token;
/** The same token under its older name. */
export const INGEST_CONFIG = IngestConfig;
export const loadIngestConfig = ingestSettings.load;

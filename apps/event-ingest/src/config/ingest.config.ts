import { loadConfig, settings } from '@odis/config';
import { z } from 'zod';

/** Every setting of event-ingest, validated once at start (a bad one stops it with exit code 78). */
export const ingestSettings = {
  PORT: settings.port(3001),
  KAFKA_BROKERS: settings.kafkaBrokers,
  /** Bearer token of `POST /v1/events` (systems that cannot produce to Kafka). */
  INGEST_SERVICE_TOKEN: z.string({ message: 'must be set (at least 16 characters)' }).min(16, 'must be at least 16 characters'),
  /** Largest accepted raw event, bytes (default 256 KiB); larger ones are dead-lettered / answered 413. */
  INGEST_MAX_EVENT_BYTES: settings.int(256 * 1024, 1024, 16 * 1024 * 1024),
  /** Raw events of one partition validated at once. */
  INGEST_CONCURRENCY: settings.int(64, 1, 10_000),
  INGEST_GROUP: z.string().optional().default('event-ingest'),
  /** Longest `POST /v1/events` waits for Kafka's acknowledgement before answering 503. */
  INGEST_PUBLISH_TIMEOUT_MS: settings.int(10_000, 100, 120_000),
  /** Where the consumer group starts when it has no committed offsets (default: the beginning). */
  INGEST_FROM_BEGINNING: settings.bool(true),
  /** Kafka consumer session timeout. */
  KAFKA_SESSION_TIMEOUT_MS: settings.int(30_000, 6_000, 300_000),
  LOG_LEVEL: settings.logLevel,
};

export type IngestConfig = ReturnType<typeof loadIngestConfig>;
export const INGEST_CONFIG = Symbol('INGEST_CONFIG');

export function loadIngestConfig(env: NodeJS.ProcessEnv = process.env) {
  return loadConfig(ingestSettings, env);
}

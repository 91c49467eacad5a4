import { Histogram } from 'prom-client';
import { counter, metricsRegistry, sourcedMetric } from './metrics.js';

/**
 * The platform's metrics (issue 14 item 1), defined once so every app exposes the same names, on the
 * app's prom-client registry. Labels are bounded: no webhook, account, event or delivery ids.
 */

/** Attempt numbers above this are counted under `attempt="<cap>+"`. */
export const ATTEMPT_LABEL_CAP = 10;
export const attemptLabel = (attempt: number): string => (attempt >= ATTEMPT_LABEL_CAP ? `${ATTEMPT_LABEL_CAP}+` : String(Math.max(1, Math.floor(attempt))));

const histogram = (name: string, help: string, labelNames: string[], buckets: number[]) => new Histogram({ name, help, labelNames, buckets, registers: [metricsRegistry] });

export const odisMetrics = {
  eventsIngested: counter('odis_events_ingested_total', 'Events received by event-ingest, by event type and outcome (accepted or the rejection code).', ['type', 'outcome']),
  deliveries: counter('odis_deliveries_total', 'Delivery attempts by outcome (succeeded, failed, skipped) and attempt number.', ['outcome', 'attempt']),
  deliveryDuration: histogram(
    'odis_delivery_duration_seconds',
    "From the event's ingest to the receiver's answer of a successful attempt, seconds.",
    [],
    [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 7200, 86400],
  ),
  attemptDuration: histogram('odis_attempt_duration_seconds', 'Duration of one delivery attempt (the POST), seconds, by outcome.', ['outcome'], [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]),
  retriesParked: sourcedMetric('gauge', 'odis_retries_parked', 'Delivery jobs waiting on a retry tier topic (not yet released), by tier (attempt number).', ['tier']),
  webhooksDisabled: counter('odis_webhooks_disabled_total', 'Webhooks disabled automatically after their last attempt failed.'),
  emails: counter('odis_emails_total', 'Notification emails by outcome (sent, failed, retried).', ['outcome']),
  consumerLag: sourcedMetric('gauge', 'odis_consumer_lag', 'Records of a topic not yet processed by a consumer group (from the last fetched high watermarks).', ['group', 'topic']),
  deadLetters: counter('odis_dead_letters_total', 'Records written to a dead-letter topic, by source topic and reason class.', ['topic', 'reason']),
  outboxPending: sourcedMetric('gauge', 'odis_outbox_pending', 'Subscription events in the outbox not yet published to Kafka.'),
};

import type { RunnerCounters } from '@odis/messaging';
import { odisMetrics, type MetricSample } from '@odis/platform';
import { VALIDATION_CODES, type ValidationCode } from '../validation/event-validator.js';

const MAX_DISTINCT_FIELDS = 200;

/** event-ingest's older counters on `GET /metrics`: name → [help, label names]. */
export const INGEST_COUNTERS = {
  odis_ingest_events_accepted_total: ['Events validated and published to their topic.', ['source']],
  odis_ingest_events_rejected_total: ['Events rejected (dead-lettered or answered 4xx), by reason.', ['code']],
  odis_ingest_dropped_fields_total: ['Fields outside the contract dropped from accepted events.', []],
  odis_ingest_dropped_fields_by_field_total: ['Fields outside the contract dropped from accepted events, by field path (at most 200 paths).', ['field']],
  odis_consumer_outage_retries_total: ['Tries of a raw event repeated because a dependency (Kafka) was away.', ['group']],
  odis_consumer_dead_letters_total: ['Raw events written to the dead-letter topic.', ['group']],
} as const satisfies Record<string, readonly [string, readonly string[]]>;

/** Counters of event-ingest, exposed on `GET /stats` and `GET /metrics`. */
export class IngestStats {
  accepted = 0;
  readonly acceptedBySource = { kafka: 0, http: 0 };
  readonly rejected = Object.fromEntries(VALIDATION_CODES.map((code) => [code, 0])) as Record<ValidationCode, number>;
  /** Events that had fields outside the contract, and how many fields were dropped in total. */
  eventsWithDroppedFields = 0;
  droppedFields = 0;
  /** Dropped fields by path (at most 200 distinct paths are tracked; the rest count under `(other)`). */
  readonly droppedByField = new Map<string, number>();
  /** The raw-events consumer's failure-class counters (decision 0006), once it exists. */
  consumerCounters: () => RunnerCounters = () => ({ outageRetries: 0, permanentFailures: 0, deadLettered: 0 });

  recordAccepted(source: 'kafka' | 'http', dropped: readonly string[], type = 'unknown'): void {
    this.accepted++;
    odisMetrics.eventsIngested.inc({ type, outcome: 'accepted' });
    this.acceptedBySource[source]++;
    if (dropped.length === 0) return;
    this.eventsWithDroppedFields++;
    this.droppedFields += dropped.length;
    for (const field of dropped) {
      const key = this.droppedByField.has(field) || this.droppedByField.size < MAX_DISTINCT_FIELDS ? field : '(other)';
      this.droppedByField.set(key, (this.droppedByField.get(key) ?? 0) + 1);
    }
  }

  recordRejected(code: ValidationCode): void {
    this.rejected[code]++;
    // A rejected event's type is not trusted (it may be the very thing that is invalid): bounded label.
    odisMetrics.eventsIngested.inc({ type: 'unknown', outcome: code });
  }

  toJSON() {
    return {
      accepted: this.accepted,
      accepted_by_source: this.acceptedBySource,
      rejected: this.rejected,
      events_with_dropped_fields: this.eventsWithDroppedFields,
      dropped_fields: this.droppedFields,
      dropped_by_field: Object.fromEntries(this.droppedByField),
      consumer: this.consumerCounters(),
    };
  }

  /** The older event-ingest counters as samples per metric name (HELP texts in INGEST_COUNTERS), computed on scrape. */
  prometheusSamples(): Record<keyof typeof INGEST_COUNTERS, MetricSample[]> {
    const consumer = this.consumerCounters();
    return {
      odis_ingest_events_accepted_total: Object.entries(this.acceptedBySource).map(([source, value]) => ({ labels: { source }, value })),
      odis_ingest_events_rejected_total: Object.entries(this.rejected).map(([code, value]) => ({ labels: { code }, value })),
      odis_ingest_dropped_fields_total: [{ value: this.droppedFields }],
      odis_ingest_dropped_fields_by_field_total: [...this.droppedByField].map(([field, value]) => ({ labels: { field }, value })),
      odis_consumer_outage_retries_total: [{ labels: { group: 'raw-events' }, value: consumer.outageRetries }],
      odis_consumer_dead_letters_total: [{ labels: { group: 'raw-events' }, value: consumer.deadLettered }],
    };
  }
}

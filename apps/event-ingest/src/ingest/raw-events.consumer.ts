import type { DynamicModule, Provider } from '@nestjs/common';
import { TOPICS } from '@odis/contracts';
import { ConsumerModule, consumerToken, type ConsumerRunner } from '@odis/messaging';
import type { IngestConfig } from '../config/event-ingest.config.js';
import { EventValidator } from '../validation/event-validator.js';
import { IngestStats } from './ingest-stats.js';
import { RawEventHandler } from './raw-event.handler.js';
import { ValidatedEventPublisher } from './validated-event.publisher.js';

const NAME = 'raw-events-consumer';

/** The consumer of `telephony.events.raw` (explicit outcomes, ordered commits, DLQ `telephony.events.dlq`). */
export function rawEventsConsumer(config: IngestConfig): DynamicModule {
  return ConsumerModule.register({
    name: NAME,
    groupId: config.INGEST_GROUP,
    topics: [TOPICS.telephonyRaw],
    handler: RawEventHandler,
    partitionConcurrency: config.INGEST_CONCURRENCY,
    deadLetterTopic: TOPICS.telephonyDlq,
    fromBeginning: config.INGEST_FROM_BEGINNING,
    sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS,
    // Validation never throws; publishing fails only while Kafka is away, which the runner
    // classifies as an outage: retried until Kafka is back, never dead-lettered (decision 0006).
  });
}

/** The handler of that consumer; its failure counters feed /stats and /metrics. */
export const rawEventHandlerProvider: Provider = {
  provide: RawEventHandler,
  inject: [EventValidator, ValidatedEventPublisher, IngestStats, consumerToken(NAME)],
  useFactory: (validator: EventValidator, publisher: ValidatedEventPublisher, stats: IngestStats, runner: ConsumerRunner) => {
    stats.consumerCounters = () => runner.stats();
    return new RawEventHandler(validator, (event) => publisher.publish(event), stats);
  },
};

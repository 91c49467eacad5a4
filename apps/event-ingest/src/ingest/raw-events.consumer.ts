import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { TOPICS } from '@odis/contracts';
import { ConsumerRunner, KafkaConnection, MessageProducer, runnerReadiness } from '@odis/messaging';
import { ReadinessRegistry } from '@odis/platform';
import { INGEST_CONFIG, type IngestConfig } from '../config/ingest.config.js';
import { EventValidator } from '../validation/event-validator.js';
import { IngestStats } from './ingest-stats.js';
import { RawEventHandler } from './raw-event.handler.js';
import { ValidatedEventPublisher } from './validated-event.publisher.js';

/** The consumer of `telephony.events.raw` (our ConsumerRunner: explicit outcomes, ordered commits, DLQ). */
@Injectable()
export class RawEventsConsumer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  readonly runner: ConsumerRunner;

  constructor(
    @Inject(INGEST_CONFIG) config: IngestConfig,
    connection: KafkaConnection,
    producer: MessageProducer,
    validator: EventValidator,
    publisher: ValidatedEventPublisher,
    stats: IngestStats,
    readiness: ReadinessRegistry,
  ) {
    const handler = new RawEventHandler(validator, (event) => publisher.publish(event), stats);
    this.runner = new ConsumerRunner(
      connection,
      {
        groupId: config.INGEST_GROUP,
        topics: [TOPICS.telephonyRaw],
        handler: (m) => handler.handle(m),
        partitionConcurrency: config.INGEST_CONCURRENCY,
        deadLetterTopic: TOPICS.telephonyDlq,
        fromBeginning: config.INGEST_FROM_BEGINNING,
        sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS,
        // Validation never throws; publishing fails only while Kafka is away, which the runner
        // classifies as an outage: retried until Kafka is back, never dead-lettered (decision 0006).
      },
      { producer },
    );
    readiness.register('kafka-producer', () => {
      const h = producer.health();
      return { ok: h.connected, detail: h.lastError };
    });
    readiness.register('raw-events-consumer', () => runnerReadiness(this.runner));
    stats.consumerCounters = () => this.runner.stats();
  }

  onApplicationBootstrap(): void {
    this.runner.start().catch(() => undefined);
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.runner.stop();
  }
}

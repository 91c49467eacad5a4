import { kafkaSecurityOf } from '@odis/config';
import { Global, Module, type DynamicModule } from '@nestjs/common';
import { MessagingModule } from '@odis/messaging';
import { APP_FILTER } from '@nestjs/core';
import { ApiExceptionFilter, HealthModule } from '@odis/platform';
import { INGEST_CONFIG, type IngestConfig } from './config/event-ingest.config.js';
import { IngestRequestMiddleware } from './http/ingest-request.middleware.js';
import { StatsController } from './http/stats.controller.js';
import { HttpIngest } from './ingest/http-ingest.js';
import { IngestStats } from './ingest/ingest-stats.js';
import { rawEventHandlerProvider, rawEventsConsumer } from './ingest/raw-events.consumer.js';
import { ValidatedEventPublisher } from './ingest/validated-event.publisher.js';
import { EventValidator } from './validation/event-validator.js';

@Global()
@Module({})
class IngestCoreModule {
  static forRoot(config: IngestConfig): DynamicModule {
    return {
      module: IngestCoreModule,
      providers: [
        { provide: INGEST_CONFIG, useValue: config },
        { provide: EventValidator, useFactory: () => new EventValidator(config.INGEST_MAX_EVENT_BYTES) },
        { provide: IngestStats, useFactory: () => new IngestStats() },
        ValidatedEventPublisher,
      ],
      exports: [INGEST_CONFIG, EventValidator, IngestStats, ValidatedEventPublisher],
    };
  }
}

/** `telephony.events.raw` consumer. */
@Module({ providers: [rawEventHandlerProvider] })
class RawEventsModule {}

/** `POST /v1/events` (IngestRequestMiddleware, mounted first on express by startEventIngest), `/stats`, `/metrics`. */
@Module({
  controllers: [StatsController],
  providers: [
    {
      provide: HttpIngest,
      inject: [EventValidator, ValidatedEventPublisher, IngestStats, INGEST_CONFIG],
      useFactory: (validator: EventValidator, publisher: ValidatedEventPublisher, stats: IngestStats, config: IngestConfig) =>
        new HttpIngest(validator, (event) => publisher.publish(event), stats, config.INGEST_PUBLISH_TIMEOUT_MS),
    },
    IngestRequestMiddleware,
    { provide: APP_FILTER, useClass: ApiExceptionFilter },
  ],
})
class IngestHttpModule {}

/** event-ingest: validation of telephony events against the contracts. */
@Module({})
export class EventIngestModule {
  static forRoot(config: IngestConfig): DynamicModule {
    return {
      module: EventIngestModule,
      imports: [
        IngestCoreModule.forRoot(config),
        HealthModule.forRoot('event-ingest'),
        MessagingModule.forRoot({ clientId: 'event-ingest', brokers: config.KAFKA_BROKERS, logLevel: config.KAFKA_LOG_LEVEL, security: kafkaSecurityOf(config) }),
        rawEventsConsumer(config),
        RawEventsModule,
        IngestHttpModule,
      ],
    };
  }
}

import { kafkaSecurityOf } from '@odis/config';
import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { SecretBox } from '@odis/contracts';
import { MessageProducer, MessagingModule } from '@odis/messaging';
import { DatabaseModule, databaseSettingsFrom } from '@odis/persistence';
import { ApiErrorMapper, ApiExceptionFilter, HealthModule, systemResolver } from '@odis/platform';
import { OutboxModule, SubscriptionsModule } from '@odis/subscriptions';
import { ApiKeyGuard } from './auth/api-key.guard.js';
import { AuthThrottle } from './auth/auth-throttle.js';
import { SUBSCRIPTION_API_CONFIG, type SubscriptionApiConfig } from './config/subscription-api.config.js';
import { DashboardController } from './dashboard/dashboard.controller.js';
import { attemptLogConsumer, AttemptLogHandler } from './deliveries/attempt-log.handler.js';
import { AttemptLogProjector } from './deliveries/attempt-log.projector.js';
import { DeliveriesController } from './deliveries/deliveries.controller.js';
import { DeliveryLogRepository } from './deliveries/delivery-log.repository.js';
import { DeliveryJobQueue, DeliveryJobSink } from './deliveries/delivery-job.queue.js';
import { RedeliveryService } from './deliveries/redelivery.service.js';
import { SubscriptionApiErrorMapper } from './errors/subscription-api-error.mapper.js';
import { EventTypesController } from './event-types/event-types.controller.js';
import { RecoveriesController } from './recoveries/recoveries.controller.js';
import { RecoveriesRepository } from './recoveries/recoveries.repository.js';
import { RecoveriesService } from './recoveries/recoveries.service.js';
import { RecoveryRunner } from './recoveries/recovery-runner.js';
import { DnsResolver, WebhooksService } from './webhooks/webhooks.service.js';
import { WebhooksController } from './webhooks/webhooks.controller.js';
import { TestEventController } from './webhooks/test-event.controller.js';
import { TestEventService } from './webhooks/test-event.service.js';

@Module({})
export class SubscriptionApiModule {
  /** `options.attemptLogConsumer` (default true): run the delivery-log consumer (tests may leave it out). */
  static forRoot(config: SubscriptionApiConfig, options: { attemptLogConsumer?: boolean } = {}): DynamicModule {
    const configProvider = { provide: SUBSCRIPTION_API_CONFIG, useValue: config };
    return {
      module: SubscriptionApiModule,
      imports: [
        HealthModule.forRoot('subscription-api'),
        DatabaseModule.forRoot(config.DATABASE_URL, databaseSettingsFrom(config)),
        MessagingModule.forRoot({ clientId: 'subscription-api', brokers: config.KAFKA_BROKERS, logLevel: config.KAFKA_LOG_LEVEL, security: kafkaSecurityOf(config) }),
        SubscriptionsModule,
        OutboxModule.forRoot({ databaseUrl: config.DATABASE_URL, pollIntervalMs: config.OUTBOX_POLL_MS, fencingWindowMs: config.OUTBOX_FENCING_WINDOW_MS }),
        ...(options.attemptLogConsumer === false ? [] : [attemptLogConsumer(config.KAFKA_SESSION_TIMEOUT_MS)]),
      ],
      controllers: [WebhooksController, EventTypesController, DeliveriesController, DashboardController, TestEventController, RecoveriesController],
      providers: [
        configProvider,
        { provide: SecretBox, useValue: SecretBox.fromBase64(config.SECRET_ENCRYPTION_KEY, config.SECRET_ENCRYPTION_KEY_PREVIOUS) },
        { provide: AuthThrottle, useValue: AuthThrottle.fromConfig(config) },
        { provide: DnsResolver, useValue: { resolve: systemResolver } },
        { provide: ApiErrorMapper, useClass: SubscriptionApiErrorMapper },
        { provide: APP_FILTER, useClass: ApiExceptionFilter },
        ApiKeyGuard,
        WebhooksService,
        AttemptLogProjector,
        AttemptLogHandler,
        DeliveryLogRepository,
        TestEventService,
        { provide: DeliveryJobSink, useExisting: MessageProducer },
        DeliveryJobQueue,
        RedeliveryService,
        RecoveriesRepository,
        RecoveriesService,
        RecoveryRunner,
      ],
    };
  }
}

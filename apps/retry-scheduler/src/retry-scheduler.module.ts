import { kafkaSecurityOf } from '@odis/config';
import { Module, type DynamicModule } from '@nestjs/common';
import { MessagingModule } from '@odis/messaging';
import { HealthModule } from '@odis/platform';
import { RETRY_SCHEDULER_CONFIG, type RetrySchedulerConfig } from './config/retry-scheduler.config.js';
import { retryHandlerProvider, RetrySchedulerService, tierConsumer } from './retry-scheduler.service.js';

/** The retry-scheduler: Kafka only (no database), scales by the partitions of the tier topics. */
@Module({})
export class RetrySchedulerModule {
  static forRoot(config: RetrySchedulerConfig): DynamicModule {
    return {
      module: RetrySchedulerModule,
      imports: [
        HealthModule.forRoot('retry-scheduler'),
        MessagingModule.forRoot({ clientId: 'retry-scheduler', brokers: config.KAFKA_BROKERS, logLevel: config.KAFKA_LOG_LEVEL, security: kafkaSecurityOf(config) }),
        tierConsumer(config),
      ],
      providers: [{ provide: RETRY_SCHEDULER_CONFIG, useValue: config }, retryHandlerProvider, RetrySchedulerService],
    };
  }
}

import { Inject, Injectable, Logger, type DynamicModule, type OnApplicationBootstrap, type OnModuleDestroy, type Provider } from '@nestjs/common';
import { odisMetrics } from '@odis/platform';
import { ConsumerModule, consumerToken, MessageProducer, type ConsumerRunner } from '@odis/messaging';
import { KafkaDeliveryPublisher } from './tiers/kafka-delivery.publisher.js';
import { RETRY_SCHEDULER_CONFIG, type RetrySchedulerConfig } from './config/retry-scheduler.config.js';
import { RetryHandler } from './tiers/retry.handler.js';

const NAME = 'tier-consumer';

/**
 * The tier consumer: one group over `webhooks.retry.2..n`, one message per partition at a time
 * (head-of-line by design: a partition is in due-time order, so when its head is not due nothing
 * behind it is). A head that is not due pauses its partition until it is; the rest keep flowing.
 */
export function tierConsumer(config: RetrySchedulerConfig): DynamicModule {
  return ConsumerModule.register({
    name: NAME,
    groupId: config.RETRY_SCHEDULER_GROUP,
    topics: config.WEBHOOK_RETRY_SCHEDULE.topics,
    handler: RetryHandler,
    partitionConcurrency: config.RETRY_SCHEDULER_PARTITION_CONCURRENCY,
    partitionsConsumedConcurrently: config.RETRY_SCHEDULER_PARTITIONS_CONCURRENTLY,
    maxWaitTimeMs: config.RETRY_SCHEDULER_MAX_WAIT_MS,
    sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS,
    heartbeatIntervalMs: Math.max(1_000, Math.floor(config.KAFKA_SESSION_TIMEOUT_MS / 10)),
    loggerName: 'TierConsumer',
  });
}

export const retryHandlerProvider: Provider = {
  provide: RetryHandler,
  inject: [RETRY_SCHEDULER_CONFIG, MessageProducer],
  useFactory: (config: RetrySchedulerConfig, producer: MessageProducer) =>
    new RetryHandler(config.WEBHOOK_RETRY_SCHEDULE, new KafkaDeliveryPublisher(producer)),
};

/** The schedule in force (logged at start) and the tier consumer's runner (for tests). */
@Injectable()
export class RetrySchedulerService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('RetryScheduler');
  private removeParkedGauge: (() => void) | undefined;

  constructor(
    @Inject(RETRY_SCHEDULER_CONFIG) private readonly config: RetrySchedulerConfig,
    @Inject(consumerToken(NAME)) readonly runner: ConsumerRunner,
  ) {}

  onApplicationBootstrap(): void {
    const schedule = this.config.WEBHOOK_RETRY_SCHEDULE;
    const tiers = schedule.tiers.map((t) => `${t.topic}=${t.delayMs}ms`).join(', ');
    this.logger.log(`schedule ${schedule.toString()}: ${tiers}`);
    // Parked retries = what the tier consumer has not released yet, per tier topic (computed on scrape).
    this.removeParkedGauge = odisMetrics.retriesParked.addSource(() =>
      [...this.runner.lagByTopic()].map(([topic, value]) => ({ labels: { tier: topic.slice(topic.lastIndexOf('.') + 1) }, value })),
    );
  }

  onModuleDestroy(): void {
    this.removeParkedGauge?.();
  }
}

import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { ConsumerRunner, KafkaConnection, MessageProducer, runnerReadiness } from '@odis/messaging';
import { ReadinessRegistry } from '@odis/platform';
import { KafkaDeliveryPublisher } from './kafka-delivery.publisher.js';
import { RETRY_SCHEDULER_CONFIG, type RetrySchedulerConfig } from './retry-scheduler.config.js';
import { RetryHandler } from './retry.handler.js';

/**
 * Runs the tier consumer: one group over `webhooks.retry.2..n`, one message per partition at a time
 * (head-of-line by design: a partition is in due-time order, so when its head is not due nothing
 * behind it is). A head that is not due pauses its partition until it is; the rest keep flowing.
 */
@Injectable()
export class RetrySchedulerService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('RetryScheduler');
  readonly runner: ConsumerRunner;
  private stopping = false;

  constructor(
    @Inject(RETRY_SCHEDULER_CONFIG) private readonly config: RetrySchedulerConfig,
    connection: KafkaConnection,
    producer: MessageProducer,
    readiness: ReadinessRegistry,
  ) {
    const handler = new RetryHandler(config.WEBHOOK_RETRY_SCHEDULE, new KafkaDeliveryPublisher(producer), { logger: new Logger('RetryHandler') });
    this.runner = new ConsumerRunner(
      connection,
      {
        groupId: config.RETRY_SCHEDULER_GROUP,
        topics: config.WEBHOOK_RETRY_SCHEDULE.topics,
        handler: (m) => handler.handle(m),
        partitionConcurrency: config.RETRY_SCHEDULER_PARTITION_CONCURRENCY,
        partitionsConsumedConcurrently: config.RETRY_SCHEDULER_PARTITIONS_CONCURRENTLY,
        maxWaitTimeMs: config.RETRY_SCHEDULER_MAX_WAIT_MS,
        sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS,
        heartbeatIntervalMs: Math.max(1_000, Math.floor(config.KAFKA_SESSION_TIMEOUT_MS / 10)),
        logger: new Logger('TierConsumer'),
      },
      { producer },
    );
    readiness.register('kafka-producer', () => {
      const h = producer.health();
      return { ok: h.connected, detail: h.lastError };
    });
    readiness.register('tier-consumer', () => {
      const r = runnerReadiness(this.runner);
      return {
        ok: r.ok,
        detail: r.ok ? `${this.runner.assignedPartitions().length} partitions, ${this.runner.deferredPartitions().length} waiting` : (r.detail ?? 'joining'),
      };
    });
  }

  onApplicationBootstrap(): void {
    const schedule = this.config.WEBHOOK_RETRY_SCHEDULE;
    const tiers = schedule.tiers.map((t) => `${t.topic}=${t.delayMs}ms`).join(', ');
    this.logger.log(`schedule ${schedule.toString()}: ${tiers}`);
    this.runner.start().catch((err: Error) => {
      if (!this.stopping) this.logger.error(`tier consumer failed to start: ${err.message}`);
    });
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    await this.runner.stop();
  }
}

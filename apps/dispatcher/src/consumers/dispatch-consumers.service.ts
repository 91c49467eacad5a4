import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { EVENT_TOPICS, TOPICS } from '@odis/contracts';
import { KafkaConnection, MessageProducer } from '@odis/messaging';
import { ReadinessRegistry } from '@odis/platform';
import { DISPATCHER_CONFIG, type DispatcherConfig } from '../config/dispatcher.config.js';
import { DeliveryExecutor } from '../delivery/delivery-executor.js';
import { DurableSender } from '../delivery/durable-sender.js';
import { WEBHOOK_HTTP_CLIENT } from '../delivery/tokens.js';
import type { WebhookHttpClient } from '../delivery/webhook-http-client.js';
import { FanOutProcessor } from '../fanout/fan-out.processor.js';
import { PipelinedConsumer } from '../kafka/pipelined-consumer.js';
import { SubscriptionChangelogService } from '../routing/subscription-changelog.service.js';
import { DeliveryJobHandler } from './delivery-job.handler.js';

/**
 * The dispatcher's two consumers: fan-out of the `events.*` topics and attempts of
 * `webhooks.deliveries`. They start only once the routing table has caught up with the subscription
 * changelog (no event is fanned out against a half-read table); on shutdown they drain their
 * in-flight deliveries and commit before the producer closes.
 */
@Injectable()
export class DispatchConsumersService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('DispatchConsumers');
  readonly fanOut: PipelinedConsumer;
  readonly deliveries: PipelinedConsumer;
  private started = false;
  private stopping = false;

  constructor(
    @Inject(DISPATCHER_CONFIG) config: DispatcherConfig,
    connection: KafkaConnection,
    producer: MessageProducer,
    private readonly changelog: SubscriptionChangelogService,
    processor: FanOutProcessor,
    executor: DeliveryExecutor,
    private readonly sender: DurableSender,
    @Inject(WEBHOOK_HTTP_CLIENT) private readonly client: WebhookHttpClient,
    readiness: ReadinessRegistry,
  ) {
    this.fanOut = new PipelinedConsumer(
      connection,
      {
        groupId: config.DISPATCH_FANOUT_GROUP,
        topics: Object.values(EVENT_TOPICS),
        handler: (m) => processor.process(m),
        maxInFlightPerPartition: config.DISPATCH_FANOUT_CONCURRENCY,
        fromBeginning: config.DISPATCH_FROM_BEGINNING,
        sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS,
        logger: new Logger('FanOutConsumer'),
      },
      producer,
    );
    const jobs = new DeliveryJobHandler(executor);
    this.deliveries = new PipelinedConsumer(
      connection,
      {
        groupId: config.DISPATCH_DELIVERY_GROUP,
        topics: [TOPICS.deliveries],
        handler: (m) => jobs.handle(m),
        maxInFlightPerPartition: config.DISPATCH_CONCURRENCY,
        fromBeginning: config.DISPATCH_FROM_BEGINNING,
        sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS,
        logger: new Logger('DeliveryConsumer'),
      },
      producer,
    );
    readiness.register('kafka-producer', () => {
      const h = producer.health();
      return { ok: h.connected, detail: h.lastError };
    });
    readiness.register('consumers', () => {
      if (!this.started) return { ok: false, detail: 'waiting for the routing table to catch up' };
      const f = this.fanOut.health();
      const d = this.deliveries.health();
      return { ok: f.connected && d.connected, detail: `fan-out ${f.connected ? 'joined' : (f.lastError ?? 'joining')}, deliveries ${d.connected ? 'joined' : (d.lastError ?? 'joining')}` };
    });
  }

  onApplicationBootstrap(): void {
    void this.run();
  }

  private async run(): Promise<void> {
    await this.changelog.caughtUp;
    if (this.stopping) return;
    this.started = true;
    await Promise.all([this.fanOut.start(), this.deliveries.start()]).catch((err: Error) => {
      if (!this.stopping) this.logger.error(`consumers failed to start: ${err.message}`);
    });
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    await Promise.allSettled([this.fanOut.stop(), this.deliveries.stop()]);
    this.sender.close();
    this.client.close();
  }
}

import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { EVENT_TOPICS, TOPICS } from '@odis/contracts';
import { ConsumerRunner, KafkaConnection, MessageProducer, runnerReadiness } from '@odis/messaging';
import { ReadinessRegistry } from '@odis/platform';
import { DISPATCHER_CONFIG, type DispatcherConfig } from '../config/dispatcher.config.js';
import { DeliveryExecutor } from '../delivery/delivery-executor.js';
import { DurableSender } from '../delivery/durable-sender.js';
import { WEBHOOK_HTTP_CLIENT } from '../delivery/tokens.js';
import type { WebhookHttpClient } from '../delivery/webhook-http-client.js';
import { FanOutProcessor } from '../fanout/fan-out.processor.js';
import { SubscriptionChangelogService } from '../routing/subscription-changelog.service.js';
import { DeliveryJobHandler } from './delivery-job.handler.js';

/**
 * The dispatcher's two consumers: fan-out of the `events.*` topics and attempts of
 * `webhooks.deliveries`, both `ConsumerRunner`s in pipelined mode (a fetched batch returns once its
 * messages are started, so one slow delivery never stops the consumer's other partitions; up to
 * `partitionConcurrency` messages of a partition in flight; commits over the finished prefix only).
 * They start only once the routing table has caught up with the subscription changelog (no event
 * is fanned out against a half-read table); on shutdown they drain their in-flight deliveries and
 * commit before the producer closes.
 */
@Injectable()
export class DispatchConsumersService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('DispatchConsumers');
  readonly fanOut: ConsumerRunner;
  readonly deliveries: ConsumerRunner;
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
    this.fanOut = new ConsumerRunner(
      connection,
      {
        groupId: config.DISPATCH_FANOUT_GROUP,
        topics: Object.values(EVENT_TOPICS),
        handler: (m) => processor.process(m),
        pipelined: true,
        partitionConcurrency: config.DISPATCH_FANOUT_CONCURRENCY,
        maxWaitTimeMs: 50,
        // Commit the finished prefix often: after a crash, what was delivered but not committed is
        // delivered again (same delivery ids), so a short interval means few repeats.
        commitIntervalMs: 100,
        fromBeginning: config.DISPATCH_FROM_BEGINNING,
        sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS,
        logger: new Logger('FanOutConsumer'),
      },
      { producer },
    );
    const jobs = new DeliveryJobHandler(executor);
    this.deliveries = new ConsumerRunner(
      connection,
      {
        groupId: config.DISPATCH_DELIVERY_GROUP,
        topics: [TOPICS.deliveries],
        handler: (m) => jobs.handle(m),
        pipelined: true,
        partitionConcurrency: config.DISPATCH_CONCURRENCY,
        maxWaitTimeMs: 50,
        commitIntervalMs: 100,
        fromBeginning: config.DISPATCH_FROM_BEGINNING,
        sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS,
        logger: new Logger('DeliveryConsumer'),
      },
      { producer },
    );
    readiness.register('kafka-producer', () => {
      const h = producer.health();
      return { ok: h.connected, detail: h.lastError };
    });
    readiness.register('consumers', () => {
      if (!this.started) return { ok: false, detail: 'waiting for the routing table to catch up' };
      const f = runnerReadiness(this.fanOut);
      const d = runnerReadiness(this.deliveries);
      return { ok: f.ok && d.ok, detail: `fan-out ${f.ok ? 'joined' : (f.detail ?? 'joining')}, deliveries ${d.ok ? 'joined' : (d.detail ?? 'joining')}` };
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

import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type DynamicModule, type Provider } from '@nestjs/common';
import { EVENT_TOPICS, TOPICS, type DeliveryJob } from '@odis/contracts';
import { ConsumerModule, consumerToken, KafkaConnection, startAfter, type ConsumerHandler, type ConsumerRunner, type InboundMessage, type MessageOutcome, type OutboundMessage } from '@odis/messaging';
import { DISPATCHER_CONFIG, type DispatcherConfig } from '../config/dispatcher.config.js';
import { CallOrderingCoordinator } from '../delivery/call-ordering.coordinator.js';
import { AttemptFollowUp } from '../delivery/attempt-follow-up.js';
import { DeliveryExecutor } from '../delivery/delivery-executor.js';
import { KafkaCallHoldStore } from '../delivery/call-holds.js';
import { DurableSender } from '../delivery/durable-sender.js';
import { WebhookRateLimiter } from '../delivery/webhook-rate-limiter.js';
import { RoutingTable } from '../routing/routing-table.js';
import { WebhookHttpClient } from '../delivery/webhook-http-client.js';
import { FanOutProcessor } from '../fanout/fan-out.processor.js';
import { SubscriptionChangelogService } from '../routing/subscription-changelog.service.js';
import { DeliveryJobHandler } from './delivery-job.handler.js';

const FAN_OUT = 'fan-out-consumer';
const DELIVERIES = 'delivery-consumer';

/** Fan-out of one `events.*` message (the consumer's handler). */
@Injectable()
export class FanOutHandler implements ConsumerHandler {
  constructor(private readonly processor: FanOutProcessor) {}

  handle(message: InboundMessage): Promise<MessageOutcome> {
    return this.processor.process(message);
  }
}

/** Per-call ordering of `ordering: "call"` webhooks (decision 0017), in the delivery consumer. */
export const callOrderingProvider: Provider = {
  provide: CallOrderingCoordinator,
  inject: [DISPATCHER_CONFIG, DurableSender, KafkaConnection],
  useFactory: (config: DispatcherConfig, sink: DurableSender, connection: KafkaConnection) => {
    const logger = new Logger('CallOrdering');
    const sendDurably = (topic: string, messages: OutboundMessage[]) => sink.send(topic, messages);
    // Holds on `webhooks.call-holds`, read back after a restart or a rebalance (decision 0017).
    const holds = new KafkaCallHoldStore(connection, sendDurably, (m) => logger.warn(m));
    return new CallOrderingCoordinator({ settleMs: config.DISPATCH_ORDERING_SETTLE_MS, sendDurably, log: (m) => logger.log(m), warn: (m) => logger.warn(m), holds });
  },
};

export const deliveryJobHandlerProvider: Provider = {
  provide: DeliveryJobHandler,
  inject: [DeliveryExecutor, AttemptFollowUp, DurableSender, RoutingTable, CallOrderingCoordinator],
  useFactory: (executor: DeliveryExecutor, followUp: AttemptFollowUp, sink: DurableSender, table: RoutingTable, ordering: CallOrderingCoordinator) => {
    // A rate-limited webhook's backlog beyond its waiting room is parked on the retry path (decision 0013).
    const maxParkMs = executor.parkMaxWaitMs;
    const park = maxParkMs === null ? undefined : (job: DeliveryJob, untilMs: number) => executor.park(job, untilMs, 'rate_limited');
    return new DeliveryJobHandler(executor, { followUp, sink }, { limiter: new WebhookRateLimiter(), table, park, maxParkMs: maxParkMs ?? undefined }, ordering);
  },
};

/**
 * The dispatcher's two consumers: fan-out of the `events.*` topics and attempts of
 * `webhooks.deliveries`, both in pipelined mode (a fetched batch returns once its messages are
 * started, so one slow delivery never stops the consumer's other partitions; up to
 * `partitionConcurrency` messages of a partition in flight; commits over the finished prefix only).
 * They start only once the routing table has caught up with the subscription changelog (no event
 * is fanned out against a half-read table).
 */
export function dispatchConsumers(config: DispatcherConfig): DynamicModule[] {
  const caughtUp = startAfter(SubscriptionChangelogService, (c) => c.caughtUp, 'the routing table to catch up');
  const common = {
    pipelined: true,
    maxWaitTimeMs: 50,
    // Commit the finished prefix often: after a crash, what was delivered but not committed is
    // delivered again (same delivery ids), so a short interval means few repeats.
    commitIntervalMs: 100,
    fromBeginning: config.DISPATCH_FROM_BEGINNING,
    sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS,
    startAfter: caughtUp,
  };
  return [
    ConsumerModule.register({
      ...common,
      name: FAN_OUT,
      groupId: config.DISPATCH_FANOUT_GROUP,
      topics: Object.values(EVENT_TOPICS),
      handler: FanOutHandler,
      partitionConcurrency: config.DISPATCH_FANOUT_CONCURRENCY,
      loggerName: 'FanOutConsumer',
    }),
    ConsumerModule.register({
      ...common,
      name: DELIVERIES,
      groupId: config.DISPATCH_DELIVERY_GROUP,
      topics: [TOPICS.deliveries],
      handler: DeliveryJobHandler,
      partitionConcurrency: config.DISPATCH_CONCURRENCY,
      loggerName: 'DeliveryConsumer',
    }),
  ];
}

/**
 * The runners of both consumers (for /stats), and the shutdown order: the consumers drain their
 * in-flight deliveries and commit, then the sender and the HTTP client close (the producer closes
 * after that, in MessagingModule).
 */
@Injectable()
export class DispatchConsumersService implements BeforeApplicationShutdown {
  private readonly logger = new Logger('DispatchConsumers');

  constructor(
    @Inject(consumerToken(FAN_OUT)) readonly fanOut: ConsumerRunner,
    @Inject(consumerToken(DELIVERIES)) readonly deliveries: ConsumerRunner,
    private readonly sender: DurableSender,
    private readonly client: WebhookHttpClient,
    private readonly ordering: CallOrderingCoordinator,
  ) {
    // Held calls are read back for a deliveries partition once per assignment (decision 0017).
    ordering.attachAssignmentEpoch(() => deliveries.assignmentEpoch);
  }

  async beforeApplicationShutdown(): Promise<void> {
    // Stopping is idempotent: this waits for the consumers' own stop (ConsumerModule).
    await Promise.allSettled([this.fanOut.stop(), this.deliveries.stop()]).then((results) => {
      for (const r of results) if (r.status === 'rejected') this.logger.warn(`consumer stop: ${String(r.reason)}`);
    });
    this.ordering.close();
    this.sender.close();
    this.client.close();
  }
}

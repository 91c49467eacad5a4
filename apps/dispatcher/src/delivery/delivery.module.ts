import { Module } from '@nestjs/common';
import { SecretBox } from '@odis/contracts';
import { DISPATCHER_CONFIG, type DispatcherConfig } from '../config/dispatcher.config.js';
import { RoutingModule } from '../routing/routing.module.js';
import { RoutingTable } from '../routing/routing-table.js';
import { AttemptOutcomeClassifier } from './attempt-outcome-classifier.js';
import { DeliveryAttempter } from './delivery-attempter.js';
import { DeliveryExecutor } from './delivery-executor.js';
import { DurableSender } from './durable-sender.js';
import { EndpointConcurrencyLimiter } from './endpoint-concurrency-limiter.js';
import { GotWebhookClient } from './got-webhook-client.js';
import { AttemptFollowUp } from './attempt-follow-up.js';
import { DeliveryParker } from './delivery-parker.js';
import { EndpointCircuitBreaker } from './endpoint-circuit-breaker.js';
import { WebhookHttpClient } from './webhook-http-client.js';

@Module({
  imports: [RoutingModule],
  providers: [
    {
      provide: WebhookHttpClient,
      inject: [DISPATCHER_CONFIG],
      useFactory: (config: DispatcherConfig): WebhookHttpClient =>
        new GotWebhookClient({
          timeoutMs: config.WEBHOOK_TIMEOUT_MS,
          allowPrivateTargets: config.WEBHOOK_ALLOW_PRIVATE_TARGETS,
          localAddress: config.WEBHOOK_LOCAL_ADDRESS,
          maxResponseBytes: config.WEBHOOK_MAX_RESPONSE_BYTES,
          maxSocketsPerHost: config.DISPATCH_PER_ENDPOINT_CONCURRENCY,
        }),
    },
    {
      provide: DeliveryAttempter,
      inject: [WebhookHttpClient, DISPATCHER_CONFIG],
      useFactory: (client: WebhookHttpClient, config: DispatcherConfig) =>
        new DeliveryAttempter(client, new AttemptOutcomeClassifier(config.WEBHOOK_RESPONSE_EXCERPT_BYTES)),
    },
    {
      provide: EndpointConcurrencyLimiter,
      inject: [DISPATCHER_CONFIG],
      useFactory: (config: DispatcherConfig) => new EndpointConcurrencyLimiter(config.DISPATCH_PER_ENDPOINT_CONCURRENCY),
    },
    {
      provide: AttemptFollowUp,
      inject: [DISPATCHER_CONFIG],
      useFactory: (config: DispatcherConfig) => new AttemptFollowUp(config.WEBHOOK_RETRY_SCHEDULE),
    },
    DurableSender,
    {
      provide: EndpointCircuitBreaker,
      inject: [DISPATCHER_CONFIG],
      useFactory: (config: DispatcherConfig) =>
        new EndpointCircuitBreaker({
          failureThreshold: config.DISPATCH_BREAKER_FAILURES,
          openMs: config.DISPATCH_BREAKER_OPEN_MS,
          maxOpenMs: Math.max(config.DISPATCH_BREAKER_OPEN_MS, config.DISPATCH_BREAKER_MAX_OPEN_MS),
          // A probe holds its lease for as long as its attempt may take, plus a margin.
          probeLeaseMs: config.WEBHOOK_TIMEOUT_MS + 1_000,
        }),
    },
    {
      provide: DeliveryExecutor,
      inject: [DeliveryAttempter, EndpointConcurrencyLimiter, AttemptFollowUp, DurableSender, RoutingTable, SecretBox, EndpointCircuitBreaker, DISPATCHER_CONFIG],
      useFactory: (
        attempter: DeliveryAttempter,
        limiter: EndpointConcurrencyLimiter,
        followUp: AttemptFollowUp,
        sender: DurableSender,
        table: RoutingTable,
        box: SecretBox,
        breaker: EndpointCircuitBreaker,
        config: DispatcherConfig,
      ) =>
        new DeliveryExecutor({
          breaker,
          parker: new DeliveryParker(config.WEBHOOK_RETRY_SCHEDULE),
          stallAfterMs: config.DISPATCH_HANDOFF_AFTER_MS,
          attempter,
          limiter,
          followUp,
          table,
          sink: sender,
          sendDurably: (topic, messages) => sender.send(topic, messages),
          decrypt: (sealed, context) => box.decrypt(sealed, context),
        }),
    },
  ],
  exports: [DeliveryExecutor, EndpointConcurrencyLimiter, EndpointCircuitBreaker, DurableSender, WebhookHttpClient, AttemptFollowUp],
})
export class DeliveryModule {}

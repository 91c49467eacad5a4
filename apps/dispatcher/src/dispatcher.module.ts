import { kafkaSecurityOf } from '@odis/config';
import { Global, Module, type DynamicModule } from '@nestjs/common';
import { MessagingModule } from '@odis/messaging';
import { HealthModule } from '@odis/platform';
import { DISPATCHER_CONFIG, type DispatcherConfig } from './config/dispatcher.config.js';
import { callOrderingProvider, deliveryJobHandlerProvider, dispatchConsumers, DispatchConsumersService, FanOutHandler } from './consumers/dispatch-consumers.service.js';
import { DeliveryModule } from './delivery/delivery.module.js';
import { FanOutModule } from './fanout/fanout.module.js';
import { RoutingController } from './http/routing.controller.js';
import { StatsController } from './http/stats.controller.js';
import { RoutingModule } from './routing/routing.module.js';

@Global()
@Module({})
class DispatcherConfigModule {
  static forRoot(config: DispatcherConfig): DynamicModule {
    return { module: DispatcherConfigModule, providers: [{ provide: DISPATCHER_CONFIG, useValue: config }], exports: [DISPATCHER_CONFIG] };
  }
}

/**
 * The dispatcher: routing table from the subscription changelog, fan-out of validated events,
 * signed HTTP attempts with got, outcomes and retries to Kafka. No database.
 */
@Module({})
export class DispatcherModule {
  static forRoot(config: DispatcherConfig): DynamicModule {
    return {
      module: DispatcherModule,
      imports: [
        DispatcherConfigModule.forRoot(config),
        HealthModule.forRoot('dispatcher'),
        MessagingModule.forRoot({ clientId: 'dispatcher', brokers: config.KAFKA_BROKERS, logLevel: config.KAFKA_LOG_LEVEL, security: kafkaSecurityOf(config) }),
        RoutingModule,
        DeliveryModule,
        FanOutModule,
        ...dispatchConsumers(config),
      ],
      controllers: [StatsController, RoutingController],
      providers: [DispatchConsumersService, FanOutHandler, callOrderingProvider, deliveryJobHandlerProvider],
    };
  }
}

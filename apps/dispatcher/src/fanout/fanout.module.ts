import { Module } from '@nestjs/common';
import { DISPATCHER_CONFIG, type DispatcherConfig } from '../config/dispatcher.config.js';
import { DeliveryExecutor } from '../delivery/delivery-executor.js';
import { DeliveryModule } from '../delivery/delivery.module.js';
import { DurableSender } from '../delivery/durable-sender.js';
import { EndpointConcurrencyLimiter } from '../delivery/endpoint-concurrency-limiter.js';
import { RoutingModule } from '../routing/routing.module.js';
import { RoutingTable } from '../routing/routing-table.js';
import { FanOutPlanner } from './fan-out-planner.js';
import { FanOutProcessor } from './fan-out.processor.js';

@Module({
  imports: [RoutingModule, DeliveryModule],
  providers: [
    FanOutPlanner,
    {
      provide: FanOutProcessor,
      inject: [RoutingTable, FanOutPlanner, DeliveryExecutor, EndpointConcurrencyLimiter, DurableSender, DISPATCHER_CONFIG],
      useFactory: (
        table: RoutingTable,
        planner: FanOutPlanner,
        executor: DeliveryExecutor,
        limiter: EndpointConcurrencyLimiter,
        sender: DurableSender,
        config: DispatcherConfig,
      ) =>
        new FanOutProcessor({
          table,
          planner,
          executor,
          limiter,
          sendDurably: (topic, messages) => sender.send(topic, messages),
          handoffAfterMs: config.DISPATCH_HANDOFF_AFTER_MS,
        }),
    },
  ],
  exports: [FanOutProcessor],
})
export class FanOutModule {}

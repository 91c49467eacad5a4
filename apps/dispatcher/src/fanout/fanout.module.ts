import { Module } from '@nestjs/common';
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
      inject: [RoutingTable, FanOutPlanner, DeliveryExecutor, EndpointConcurrencyLimiter, DurableSender],
      useFactory: (table: RoutingTable, planner: FanOutPlanner, executor: DeliveryExecutor, limiter: EndpointConcurrencyLimiter, sender: DurableSender) =>
        new FanOutProcessor({ table, planner, executor, limiter, sendDurably: (topic, messages) => sender.send(topic, messages) }),
    },
  ],
  exports: [FanOutProcessor],
})
export class FanOutModule {}

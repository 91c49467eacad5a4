import { Controller, Get } from '@nestjs/common';
import { DispatchConsumersService } from '../consumers/dispatch-consumers.service.js';
import { DeliveryExecutor } from '../delivery/delivery-executor.js';
import { CallOrderingCoordinator } from '../delivery/call-ordering.coordinator.js';
import { EndpointConcurrencyLimiter } from '../delivery/endpoint-concurrency-limiter.js';
import { EndpointCircuitBreaker } from '../delivery/endpoint-circuit-breaker.js';
import { FanOutProcessor } from '../fanout/fan-out.processor.js';
import { SubscriptionChangelogService } from '../routing/subscription-changelog.service.js';

/** `GET /stats`: counters of the routing table, fan-out, deliveries and concurrency (for operators and tests). */
@Controller()
export class StatsController {
  constructor(
    private readonly changelog: SubscriptionChangelogService,
    private readonly processor: FanOutProcessor,
    private readonly executor: DeliveryExecutor,
    private readonly limiter: EndpointConcurrencyLimiter,
    private readonly consumers: DispatchConsumersService,
    private readonly breaker: EndpointCircuitBreaker,
    private readonly ordering: CallOrderingCoordinator,
  ) {}

  @Get('stats')
  stats() {
    const mem = process.memoryUsage();
    return {
      routing: this.changelog.stats(),
      fan_out: this.processor.counters,
      deliveries: this.executor.counters,
      endpoints: this.limiter.stats(),
      breakers: this.breaker.stats(),
      /** Per-call ordering (decision 0017): open and held lanes, parked-behind and released-after-exhaustion counts. */
      ordering: this.ordering.counters(),
      consumers: {
        fan_out: { ...this.consumers.fanOut.health(), ...this.consumers.fanOut.stats(), partitions: this.consumers.fanOut.assignedPartitions().length },
        deliveries: { ...this.consumers.deliveries.health(), ...this.consumers.deliveries.stats(), partitions: this.consumers.deliveries.assignedPartitions().length },
      },
      memory: { rss_bytes: mem.rss, heap_used_bytes: mem.heapUsed, heap_total_bytes: mem.heapTotal, external_bytes: mem.external, array_buffers_bytes: mem.arrayBuffers },
    };
  }
}

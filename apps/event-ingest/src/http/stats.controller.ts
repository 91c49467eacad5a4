import { Controller, Get, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { metricsRegistry } from '@odis/platform';
import { IngestStats } from '../ingest/ingest-stats.js';

/**
 * `GET /stats` (JSON): accepted, rejected by reason, dropped fields. The same counters are added to
 * `GET /metrics` (HealthModule's, the process registry) as Prometheus text.
 */
@Controller()
export class StatsController implements OnModuleInit, OnModuleDestroy {
  private removeText: (() => void) | undefined;

  constructor(private readonly stats: IngestStats) {}

  onModuleInit(): void {
    this.removeText = metricsRegistry.addText(() => this.stats.toPrometheus());
  }

  onModuleDestroy(): void {
    this.removeText?.();
  }

  @Get('stats')
  json() {
    return this.stats.toJSON();
  }
}

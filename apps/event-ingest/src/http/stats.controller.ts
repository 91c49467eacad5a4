import { Controller, Get, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { sourcedMetric } from '@odis/platform';
import { INGEST_COUNTERS, IngestStats } from '../ingest/ingest-stats.js';

/**
 * `GET /stats` (JSON): accepted, rejected by reason, dropped fields. The same counters are on
 * `GET /metrics` (HealthModule's, the app's prom-client registry), computed on scrape.
 */
@Controller()
export class StatsController implements OnModuleInit, OnModuleDestroy {
  private removeSources: Array<() => void> = [];

  constructor(private readonly stats: IngestStats) {}

  onModuleInit(): void {
    this.removeSources = Object.entries(INGEST_COUNTERS).map(([name, [help, labels]]) =>
      sourcedMetric('counter', name, help, [...labels]).addSource(() => this.stats.prometheusSamples()[name as keyof typeof INGEST_COUNTERS]),
    );
  }

  onModuleDestroy(): void {
    for (const remove of this.removeSources) remove();
  }

  @Get('stats')
  json() {
    return this.stats.toJSON();
  }
}

import { Controller, Get, Header } from '@nestjs/common';
import { IngestStats } from '../ingest/ingest-stats.js';

/** `GET /stats` (JSON) and `GET /metrics` (Prometheus text): accepted, rejected by reason, dropped fields. */
@Controller()
export class StatsController {
  constructor(private readonly stats: IngestStats) {}

  @Get('stats')
  json() {
    return this.stats.toJSON();
  }

  @Get('metrics')
  @Header('content-type', 'text/plain; version=0.0.4')
  prometheus() {
    return this.stats.toPrometheus();
  }
}

import { Controller, Get, Header } from '@nestjs/common';
import { metricsRegistry } from './metrics-registry.js';

/** `GET /metrics`: Prometheus text of the process registry (every app, through HealthModule). */
@Controller()
export class MetricsController {
  @Get('metrics')
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  metrics(): Promise<string> {
    return metricsRegistry.render();
  }
}

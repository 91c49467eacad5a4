import { Controller, Get, Res } from '@nestjs/common';
import type { Response } from 'express';
import { metricsRegistry } from './metrics.js';

/** `GET /metrics`: Prometheus text of the app's prom-client registry (every app, through HealthModule). */
@Controller()
export class MetricsController {
  @Get('metrics')
  async metrics(@Res() res: Response): Promise<void> {
    const text = await metricsRegistry.metrics();
    res.setHeader('content-type', metricsRegistry.contentType);
    res.send(text);
  }
}

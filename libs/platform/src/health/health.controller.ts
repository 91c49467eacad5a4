import { Controller, Get, HttpCode, Inject, Res } from '@nestjs/common';
import type { Response } from 'express';
import { ReadinessRegistry } from './readiness.registry.js';
import { SERVICE_NAME } from './service-name.js';

@Controller()
export class HealthController {
  private readonly startedAt = Date.now();

  constructor(
    private readonly readiness: ReadinessRegistry,
    @Inject(SERVICE_NAME) private readonly service: string,
  ) {}

  /** Liveness: the process answers. */
  @Get('health')
  @HttpCode(200)
  health() {
    return { status: 'ok', service: this.service, uptime_s: Math.round((Date.now() - this.startedAt) / 1000) };
  }

  /** Readiness: every outside dependency this app needs is connected. 503 until then. */
  @Get('ready')
  async ready(@Res({ passthrough: true }) res: Response) {
    const { ready, checks } = await this.readiness.evaluate();
    res.status(ready ? 200 : 503);
    return { status: ready ? 'ready' : 'not_ready', service: this.service, checks };
  }
}

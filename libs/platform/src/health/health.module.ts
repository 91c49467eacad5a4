import { DynamicModule, Global, Module } from '@nestjs/common';
import { HealthController } from './health.controller.js';
import { MetricsController } from '../observability/metrics.controller.js';
import { ReadinessRegistry } from './readiness.registry.js';
import { SERVICE_NAME } from './service-name.js';

/** `GET /health` (liveness), `GET /ready` (readiness checks registered by the app's components) and `GET /metrics` (Prometheus). */
@Global()
@Module({})
export class HealthModule {
  static forRoot(serviceName: string): DynamicModule {
    return {
      module: HealthModule,
      controllers: [HealthController, MetricsController],
      providers: [ReadinessRegistry, { provide: SERVICE_NAME, useValue: serviceName }],
      exports: [ReadinessRegistry, SERVICE_NAME],
    };
  }
}

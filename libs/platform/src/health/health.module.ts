import { DynamicModule, Global, Module } from '@nestjs/common';
import { HealthController } from './health.controller.js';
import { ReadinessRegistry } from './readiness.registry.js';
import { SERVICE_NAME } from './service-name.js';

/** `GET /health` (liveness) and `GET /ready` (readiness checks registered by the app's components). */
@Global()
@Module({})
export class HealthModule {
  static forRoot(serviceName: string): DynamicModule {
    return {
      module: HealthModule,
      controllers: [HealthController],
      providers: [ReadinessRegistry, { provide: SERVICE_NAME, useValue: serviceName }],
      exports: [ReadinessRegistry, SERVICE_NAME],
    };
  }
}

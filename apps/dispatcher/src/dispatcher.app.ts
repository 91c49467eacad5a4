import type { INestApplication } from '@nestjs/common';
import { startKafkaConsumers } from '@odis/messaging';
import { bootstrapService } from '@odis/platform';
import { DispatcherModule } from './dispatcher.module.js';
import { loadDispatcherConfig, type DispatcherConfig } from './config/dispatcher.config.js';

/** Creates and starts the dispatcher (main.ts, and tests that run it in-process with port 0). */
export function startDispatcher(config: DispatcherConfig = loadDispatcherConfig()): Promise<INestApplication> {
  return bootstrapService(DispatcherModule.forRoot(config), {
    service: 'dispatcher',
    port: config.PORT,
    logLevel: config.LOG_LEVEL,
    observability: config,
    configure: startKafkaConsumers,
  });
}

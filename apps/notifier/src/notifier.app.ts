import type { INestApplication } from '@nestjs/common';
import { startKafkaConsumers } from '@odis/messaging';
import { bootstrapService } from '@odis/platform';
import { loadNotifierConfig, type NotifierConfig } from './config/notifier.config.js';
import { NotifierModule } from './notifier.module.js';

/** Creates and starts the notifier (main.ts, and tests that run it in-process with port 0). */
export function startNotifier(config: NotifierConfig = loadNotifierConfig()): Promise<INestApplication> {
  return bootstrapService(NotifierModule.forRoot(config), {
    service: 'notifier',
    port: config.PORT,
    logLevel: config.LOG_LEVEL,
    observability: config,
    configure: startKafkaConsumers,
  });
}

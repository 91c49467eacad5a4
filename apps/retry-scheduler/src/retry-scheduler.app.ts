import type { INestApplication } from '@nestjs/common';
import { startKafkaConsumers } from '@odis/messaging';
import { bootstrapService } from '@odis/platform';
import { loadRetrySchedulerConfig, type RetrySchedulerConfig } from './config/retry-scheduler.config.js';
import { RetrySchedulerModule } from './retry-scheduler.module.js';

/** Creates and starts the retry-scheduler (main.ts, and tests that run it in-process with port 0). */
export function startRetryScheduler(config: RetrySchedulerConfig = loadRetrySchedulerConfig()): Promise<INestApplication> {
  return bootstrapService(RetrySchedulerModule.forRoot(config), {
    service: 'retry-scheduler',
    port: config.PORT,
    logLevel: config.LOG_LEVEL,
    observability: config,
    configure: startKafkaConsumers,
  });
}

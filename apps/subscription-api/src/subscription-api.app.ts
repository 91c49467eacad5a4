import type { INestApplication } from '@nestjs/common';
import { startKafkaConsumers } from '@odis/messaging';
import { bootstrapService } from '@odis/platform';
import { loadSubscriptionApiConfig, type SubscriptionApiConfig } from './config/subscription-api.config.js';
import { configureHttp } from './http-setup.js';
import { SubscriptionApiModule } from './subscription-api.module.js';

/** Creates and starts the subscription-api (main.ts; tests use the harness, which overrides providers). */
export function startSubscriptionApiApp(config: SubscriptionApiConfig = loadSubscriptionApiConfig()): Promise<INestApplication> {
  return bootstrapService(SubscriptionApiModule.forRoot(config), {
    service: 'subscription-api',
    port: config.PORT,
    logLevel: config.LOG_LEVEL,
    observability: config,
    // The body parser is ours (size and depth limits, JSON errors): http-setup.ts.
    nestOptions: { bodyParser: false },
    configure: async (nest) => {
      configureHttp(nest, config);
      await startKafkaConsumers(nest);
    },
  });
}

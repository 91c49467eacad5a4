import 'reflect-metadata';
import { startKafkaConsumers } from '@odis/messaging';
import { bootstrapService, runMain } from '@odis/platform';
import { SubscriptionApiModule } from './app.module.js';
import { loadSubscriptionApiConfig } from './config.js';
import { configureHttp } from './http-setup.js';

runMain('subscription-api', async () => {
  const config = loadSubscriptionApiConfig();
  const app = await bootstrapService(SubscriptionApiModule.forRoot(config), {
    service: 'subscription-api',
    port: config.PORT,
    logLevel: config.LOG_LEVEL,
    nestOptions: { bodyParser: false },
    configure: async (nest) => {
      configureHttp(nest, config);
      await startKafkaConsumers(nest);
    },
  });
  return app;
});

import 'reflect-metadata';
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
    configure: (nest) => configureHttp(nest, config),
  });
  return app;
});

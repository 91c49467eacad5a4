import 'reflect-metadata';
import { KafkaRunnerTransport } from '@odis/messaging';
import { bootstrapService, ReadinessRegistry, runMain } from '@odis/platform';
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
    configure: (nest) => {
      configureHttp(nest, config);
      const transport = new KafkaRunnerTransport({ clientId: 'subscription-api', brokers: config.KAFKA_BROKERS, logLevel: config.KAFKA_LOG_LEVEL });
      nest.connectMicroservice({ strategy: transport }, { inheritAppConfig: true });
      // The delivery-log consumer counts for /ready like every other app's consumers.
      nest.get(ReadinessRegistry).register('attempt-log-consumer', () => transport.readiness());
      void nest.startAllMicroservices();
    },
  });
  return app;
});
